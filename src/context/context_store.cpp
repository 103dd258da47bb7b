// ContextStore: sensor-wide counts per host, service and pair over a sliding
// window (docs/FEATURES.md §12). Runs once per flow record on the main lcore.
#include "flowscore/context.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <new>
#include <type_traits>

#include "flowscore/key_tag.hpp"

namespace flowscore {

namespace {

// TCP flag counters in FlowFeatures::rare_flags (FEATURES.md §7).
constexpr int kFin = 0, kSyn = 1, kRst = 2;
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17;

// UDP services that answer a small request with a large reply, the usual
// reflectors (US-CERT TA14-017A): chargen, DNS, NTP, NetBIOS, SNMP, LDAP
// (CLDAP), SSDP, WS-Discovery, memcached, and the mDNS and RIP variants.
bool reflector_port(uint16_t port) {
  switch (port) {
    case 19: case 53: case 123: case 137: case 161: case 389: case 520: case 1900:
    case 3702: case 5353: case 11211:
      return true;
    default:
      return false;
  }
}

struct HostKey {
  uint32_t scope;
  uint8_t ip_version;
  uint8_t pad[3];
  IpAddress addr;
};
struct ServiceKey {
  uint32_t scope;
  uint8_t ip_version;
  uint8_t proto;
  uint16_t port;
  IpAddress addr;
};
struct PairKey {
  ServiceKey service;
  IpAddress src;
};

// Tags (key_tag): the low bits pick a bucket, the top six a bitmap position.
uint64_t host_tag(uint32_t scope, uint8_t ip_version, const IpAddress& a) {
  return key_tag(HostKey{scope, ip_version, {}, a});
}

// The bitmap bit of a member. CRC is linear, so the tags of neighbouring
// addresses differ in a fixed pattern of bits and would fall on a few bit
// positions; linear counting needs positions that look random, so the tag
// goes through MurmurHash3's 64-bit finaliser first.
uint64_t member_bit(uint64_t tag) {
  tag ^= tag >> 33;
  tag *= 0xff51afd7ed558ccdull;
  tag ^= tag >> 33;
  tag *= 0xc4ceb9fe1a85ec53ull;
  tag ^= tag >> 33;
  return uint64_t{1} << (tag >> 58);
}

void bump(uint16_t& c) { c += c < UINT16_MAX; }

// Count-min's conservative update, one epoch at a time: of the rows'
// counters for the record's epoch, only the smallest rise, so each stays at
// least the count of every pair that shares it and collisions inflate the
// estimate as little as they can. (Comparing the rows' window sums instead
// can undercount: a row skipped for its excess in an epoch that has since
// expired is then too small.)
void bump_smallest(const std::array<uint16_t*, 2>& counters) {
  uint16_t least = UINT16_MAX;
  for (const uint16_t* c : counters)
    if (c) least = std::min(least, *c);
  for (uint16_t* c : counters)
    if (c && *c == least) bump(*c);
}

}  // namespace

bool context_value_from_name(std::string_view name, ContextValue& out) {
  const auto it = std::find(kContextValueNames.begin(), kContextValueNames.end(), name);
  if (it == kContextValueNames.end()) return false;
  out = static_cast<ContextValue>(it - kContextValueNames.begin());
  return true;
}

uint32_t distinct_estimate(uint64_t bits) {
  // -64 ln(z / 64) for z zero bits, rounded; z = 0 saturates.
  static const std::array<uint32_t, 65> table = [] {
    std::array<uint32_t, 65> e{};
    e[0] = ContextStore::kDistinctSaturated;
    for (int z = 1; z <= 64; ++z) e[z] = static_cast<uint32_t>(std::lround(-64.0 * std::log(z / 64.0)));
    return e;
  }();
  return table[64 - std::popcount(bits)];
}

FlowTraits flow_traits(const FlowRecord& r) {
  const FlowFeatures& f = r.stats;
  FlowTraits t;
  const bool tcp = r.proto == kProtoTcp;
  const bool no_payload = f.payload_bytes[0] == 0 && f.payload_bytes[1] == 0;
  const bool only_rst_back = f.pkts_bwd > 0 && f.rare_flags[1][kRst] >= f.pkts_bwd;
  t.one_sided = f.pkts_bwd == 0 || only_rst_back || (tcp && no_payload);
  t.syn_unanswered = tcp && f.rare_flags[0][kSyn] > 0 && f.rare_flags[1][kSyn] == 0;
  // A SYN-ACK that answers no SYN the capture saw: a reflector answering a
  // spoofed request (or a capture begun mid-handshake). The flow table then
  // made the SYN-ACK's receiver the initiator (ARCHITECTURE.md).
  const bool reflected_synack = tcp && f.rare_flags[1][kSyn] > 0 && f.rare_flags[0][kSyn] == 0 && no_payload;
  // The same seen from the sender's side, when the table kept it as initiator.
  const bool synack_opens = tcp && f.rare_flags[0][kSyn] > 0 && f.ack[0] >= f.rare_flags[0][kSyn] &&
                            f.rare_flags[0][kFin] == 0 && f.pkts_bwd == 0;
  const bool udp_reply = r.proto == kProtoUdp && reflector_port(r.src.port) && !reflector_port(r.dst.port) &&
                         f.pkts_bwd == 0;
  t.reflection_like = reflected_synack || synack_opens || udp_reply;
  t.sender = reflected_synack ? &r.dst : &r.src;
  t.receiver = reflected_synack ? &r.src : &r.dst;
  return t;
}

void ContextStore::Unmap::operator()(void* p) const { munmap(p, bytes); }

// Every slot type is valid all-zero (tag 0: empty; epoch 0, counts 0).
template <typename T>
ContextStore::Mapped<T> ContextStore::map_zeroed(size_t count) {
  static_assert(std::is_trivially_copyable_v<T>);
  const size_t bytes = count * sizeof(T);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);
  return Mapped<T>(static_cast<T*>(p), Unmap{bytes});
}

ContextStore::ContextStore(const ContextConfig& cfg) : window_ns_(cfg.window_ns) {
  const auto buckets = [](uint32_t slots) { return std::bit_ceil(std::max<uint32_t>(slots / kWays, 1)); };
  host_mask_ = buckets(cfg.host_slots) - 1;
  service_mask_ = buckets(cfg.service_slots) - 1;
  cell_mask_ = std::bit_ceil(std::max<uint32_t>(cfg.pair_cells, 64)) - 1;
  hosts_ = map_zeroed<HostSlot>(size_t{host_mask_ + 1} * kWays);
  services_ = map_zeroed<ServiceSlot>(size_t{service_mask_ + 1} * kWays);
  cells_ = map_zeroed<PairCell>(size_t{cell_mask_ + 1} * 2);
}

size_t ContextStore::bytes() const {
  return size_t{host_mask_ + 1} * kWays * sizeof(HostSlot) + size_t{service_mask_ + 1} * kWays * sizeof(ServiceSlot) +
         size_t{cell_mask_ + 1} * 2 * sizeof(PairCell);
}

// Moves an entry's counts forward to `epoch` and says which of its two
// counters (0 current, 1 previous) a record of that epoch falls in; -1 when
// the record is older than the entry's window (a late record of a reordered
// capture, or of a worker far behind the others).
template <typename Slot>
int ContextStore::advance(Slot& s, uint32_t epoch) {
  if (epoch + 1 < s.epoch) return -1;
  if (epoch + 1 == s.epoch) return 1;
  if (epoch == s.epoch) return 0;
  const bool next = epoch == s.epoch + 1;
  auto shift = [next](auto& pair) {
    pair[1] = next ? pair[0] : 0;
    pair[0] = 0;
  };
  if constexpr (std::is_same_v<Slot, HostSlot>) {
    shift(s.in_bits), shift(s.out_bits), shift(s.flows_in), shift(s.one_sided_in), shift(s.flows_out),
        shift(s.one_sided_out);
  } else {
    shift(s.src_bits), shift(s.flows), shift(s.one_sided);
  }
  s.epoch = epoch;
  return 0;
}

int ContextStore::advance_cell(PairCell& c, uint32_t epoch) {
  if (epoch + 1 < c.epoch) return -1;
  if (epoch + 1 == c.epoch) return 1;
  if (epoch > c.epoch) {
    const bool next = epoch == c.epoch + 1;
    c.flows[1] = next ? c.flows[0] : 0;
    c.syn[1] = next ? c.syn[0] : 0;
    c.flows[0] = c.syn[0] = 0;
    c.epoch = epoch;
  }
  return 0;
}

// The entry for `tag` in its bucket, claimed when new. A full bucket gives
// up the entry seen longest ago; among those of one epoch, the one whose
// window holds the fewest flows. An entry two epochs stale holds nothing a
// window still needs, so reusing it forgets nothing.
template <typename Slot>
Slot* ContextStore::claim(Slot* table, uint32_t mask, uint64_t tag, uint32_t epoch) {
  Slot* bucket = table + size_t{static_cast<uint32_t>(tag) & mask} * kWays;
  Slot* victim = bucket;
  const auto weight = [](const Slot& s) {
    if constexpr (std::is_same_v<Slot, HostSlot>)
      return uint32_t{s.flows_in[0]} + s.flows_in[1] + s.flows_out[0] + s.flows_out[1];
    else
      return uint32_t{s.flows[0]} + s.flows[1];
  };
  for (Slot* s = bucket; s != bucket + kWays; ++s) {
    if (s->tag == tag) return s;
    if (s->tag == 0) {
      victim = s;
      break;  // entries are never removed alone, so none lies behind an empty slot
    }
    if (s->epoch < victim->epoch || (s->epoch == victim->epoch && weight(*s) < weight(*victim))) victim = s;
  }
  if (victim->tag != 0 && victim->epoch + 1 >= epoch) ++forgotten_;
  *victim = Slot{};
  victim->tag = tag;
  victim->epoch = epoch;
  return victim;
}

ContextStore::Key ContextStore::key_of(const FlowRecord& r, const FlowTraits& t, uint32_t scope) {
  const Endpoint& from = t.sender ? *t.sender : r.src;
  const Endpoint& to = t.receiver ? *t.receiver : r.dst;
  const PairKey pk{{scope, r.ip_version, r.proto, to.port, to.addr}, from.addr};
  return {host_tag(scope, r.ip_version, from.addr), host_tag(scope, r.ip_version, to.addr), key_tag(pk.service),
          key_tag(pk)};
}

void ContextStore::prefetch(const Key& k) const {
  // A host bucket is four slots, four lines; the tag match is usually in
  // the first two (slots fill in order), so those are what is fetched.
  for (const uint64_t host : {k.src, k.dst}) {
    const HostSlot* b = &hosts_[size_t{static_cast<uint32_t>(host) & host_mask_} * kWays];
    __builtin_prefetch(b, 1);
    __builtin_prefetch(b + 1, 1);
  }
  __builtin_prefetch(&services_[size_t{static_cast<uint32_t>(k.service) & service_mask_} * kWays], 1);
  __builtin_prefetch(&cells_[static_cast<uint32_t>(k.pair) & cell_mask_], 1);
  __builtin_prefetch(&cells_[size_t{cell_mask_ + 1} + (static_cast<uint32_t>(k.pair >> 32) & cell_mask_)], 1);
}

ContextValues ContextStore::observe(const FlowRecord& r, const FlowTraits& t, const Key& k) {
  const uint32_t epoch = static_cast<uint32_t>(r.stats.last_ts_ns / window_ns_);
  const uint64_t src_tag = k.src, dst_tag = k.dst, service_tag = k.service, pair_tag = k.pair;

  ContextValues out;
  out[ContextValue::kPairFlows] = r.stats.pair_flows;

  HostSlot& dst = *claim(hosts_.get(), host_mask_, dst_tag, epoch);
  if (const int i = advance(dst, epoch); i >= 0) {
    dst.in_bits[i] |= member_bit(src_tag);
    bump(dst.flows_in[i]);
    if (t.one_sided) bump(dst.one_sided_in[i]);
  } else {
    ++late_;
  }
  out[ContextValue::kDstSources] = distinct_estimate(dst.in_bits[0] | dst.in_bits[1]);
  out[ContextValue::kDstFlows] = uint32_t{dst.flows_in[0]} + dst.flows_in[1];
  out[ContextValue::kDstOneSided] = uint32_t{dst.one_sided_in[0]} + dst.one_sided_in[1];

  // Claimed after dst: a flow from a host to itself must not hold two
  // pointers to one slot that a claim could move.
  HostSlot& src = *claim(hosts_.get(), host_mask_, src_tag, epoch);
  if (const int i = advance(src, epoch); i >= 0) {
    src.out_bits[i] |= member_bit(service_tag);
    bump(src.flows_out[i]);
    if (t.one_sided) bump(src.one_sided_out[i]);
  }
  out[ContextValue::kSrcTargets] = distinct_estimate(src.out_bits[0] | src.out_bits[1]);
  out[ContextValue::kSrcFlows] = uint32_t{src.flows_out[0]} + src.flows_out[1];
  out[ContextValue::kSrcOneSided] = uint32_t{src.one_sided_out[0]} + src.one_sided_out[1];

  ServiceSlot& svc = *claim(services_.get(), service_mask_, service_tag, epoch);
  if (const int i = advance(svc, epoch); i >= 0) {
    svc.src_bits[i] |= member_bit(src_tag);
    bump(svc.flows[i]);
    if (t.one_sided) bump(svc.one_sided[i]);
  }
  out[ContextValue::kServiceSources] = distinct_estimate(svc.src_bits[0] | svc.src_bits[1]);
  out[ContextValue::kServiceFlows] = uint32_t{svc.flows[0]} + svc.flows[1];
  out[ContextValue::kServiceOneSided] = uint32_t{svc.one_sided[0]} + svc.one_sided[1];

  PairCell* cell[2] = {&cells_[static_cast<uint32_t>(pair_tag) & cell_mask_],
                       &cells_[size_t{cell_mask_ + 1} + (static_cast<uint32_t>(pair_tag >> 32) & cell_mask_)]};
  std::array<uint16_t*, 2> flows{}, syn{};  // the rows' counters of the record's epoch; null: too old there
  for (int row = 0; row < 2; ++row)
    if (const int i = advance_cell(*cell[row], epoch); i >= 0) flows[row] = &cell[row]->flows[i], syn[row] = &cell[row]->syn[i];
  bump_smallest(flows);
  if (t.syn_unanswered) bump_smallest(syn);
  const auto total = [](const uint16_t (&c)[2]) { return uint32_t{c[0]} + c[1]; };
  out[ContextValue::kRepeat] = std::min(total(cell[0]->flows), total(cell[1]->flows));
  out[ContextValue::kSynUnanswered] = std::min(total(cell[0]->syn), total(cell[1]->syn));
  return out;
}

}  // namespace flowscore
