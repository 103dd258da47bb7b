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

// MurmurHash3's 64-bit finaliser: every output bit depends on every input
// bit. CRC (key_tag) is linear, so the tags of neighbouring addresses differ
// in a fixed pattern of bits; what needs bits that look random (bitmap
// positions, tags derived from tags) goes through this first.
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint64_t host_tag(uint32_t scope, uint8_t ip_version, const IpAddress& a) {
  return key_tag(HostKey{scope, ip_version, {}, a});
}

// A service's and a pair's tags come from the host tags (which hold the
// scope, IP version and address) without hashing the addresses again: two
// keys collide only if their 64-bit tags do.
uint64_t service_tag(uint64_t receiver, uint8_t proto, uint16_t port) {
  return mix(receiver ^ ((uint64_t{proto} << 16 | port) * 0x9e3779b97f4a7c15ull));
}
uint64_t pair_tag(uint64_t service, uint64_t sender) { return mix(service ^ std::rotl(sender, 29)); }

// Linear counting's bitmap bit for a member (top six bits of its mixed tag).
uint64_t member_bit(uint64_t tag) { return uint64_t{1} << (mix(tag) >> 58); }

// The 32 bits a slot keeps to tell tags of one bucket apart (the low bits
// picked the bucket); 0 marks an empty slot.
uint32_t check_of(uint64_t tag) {
  const uint32_t c = static_cast<uint32_t>(tag >> 32);
  return c != 0 ? c : 1;
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

namespace {
// -64 ln(z / 64) for z zero bits, rounded; z = 0 saturates. Built before
// main(), so a lookup costs no guard check.
const std::array<uint32_t, 65> kLinearCounting = [] {
  std::array<uint32_t, 65> e{};
  e[0] = ContextStore::kDistinctSaturated;
  for (int z = 1; z <= 64; ++z) e[z] = static_cast<uint32_t>(std::lround(-64.0 * std::log(z / 64.0)));
  return e;
}();
}  // namespace

uint32_t distinct_estimate(uint64_t bits) { return kLinearCounting[64 - std::popcount(bits)]; }

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

ContextStore::TallyTable::TallyTable(uint32_t slots)
    : mask_(std::bit_ceil(std::max<uint32_t>(slots / kWays, 1)) - 1), slots_(map_zeroed<Tally>(size_t{mask_ + 1} * kWays)) {}

void ContextStore::TallyTable::prefetch(uint64_t tag) const {
  const Tally* b = bucket(tag);
  __builtin_prefetch(b, 1);
  __builtin_prefetch(b + 2, 1);  // the bucket's second cache line
}

// A full bucket gives up the entry seen longest ago; among those of one
// epoch, the one whose window holds the fewest flows. An entry two epochs
// stale holds nothing a window still needs, so reusing it forgets nothing.
ContextStore::Tally& ContextStore::TallyTable::claim(uint64_t tag, uint32_t epoch, uint64_t& forgotten) {
  const uint32_t check = check_of(tag);
  Tally* const b = bucket(tag);
  Tally* victim = b;
  const auto weight = [](const Tally& s) { return uint32_t{s.flows[0]} + s.flows[1]; };
  for (Tally* s = b; s != b + kWays; ++s) {
    if (s->check == check) return *s;
    if (s->check == 0) {
      victim = s;
      break;  // entries are never removed alone, so none lies behind an empty slot
    }
    if (s->epoch < victim->epoch || (s->epoch == victim->epoch && weight(*s) < weight(*victim))) victim = s;
  }
  if (victim->check != 0 && victim->epoch + 1 >= epoch) ++forgotten;
  *victim = Tally{};
  victim->check = check;
  victim->epoch = epoch;
  return *victim;
}

ContextStore::ContextStore(const ContextConfig& cfg)
    : window_ns_(cfg.window_ns),
      receivers_(cfg.host_slots),
      senders_(cfg.host_slots),
      services_(cfg.service_slots),
      cell_mask_(std::bit_ceil(std::max<uint32_t>(cfg.pair_cells, 64)) - 1),
      cells_(map_zeroed<PairCell>(size_t{cell_mask_ + 1} * 2)) {}

size_t ContextStore::bytes() const {
  return receivers_.bytes() + senders_.bytes() + services_.bytes() + size_t{cell_mask_ + 1} * 2 * sizeof(PairCell);
}

// Moves an entry's counts forward to `epoch` and says which of its two
// counters (0 current, 1 previous) a record of that epoch falls in; -1 when
// the record is older than the entry's window (a late record of a reordered
// capture, or of a worker far behind the others).
int ContextStore::advance(Tally& s, uint32_t epoch) {
  if (epoch + 1 < s.epoch) return -1;
  if (epoch + 1 == s.epoch) return 1;
  if (epoch == s.epoch) return 0;
  const bool next = epoch == s.epoch + 1;
  auto shift = [next](auto& pair) {
    pair[1] = next ? pair[0] : 0;
    pair[0] = 0;
  };
  shift(s.bits), shift(s.flows), shift(s.one_sided);
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

ContextStore::Key ContextStore::key_of(const FlowRecord& r, const FlowTraits& t, uint32_t scope) {
  const Endpoint& from = t.sender ? *t.sender : r.src;
  const Endpoint& to = t.receiver ? *t.receiver : r.dst;
  const uint64_t src = host_tag(scope, r.ip_version, from.addr), dst = host_tag(scope, r.ip_version, to.addr);
  const uint64_t service = service_tag(dst, r.proto, to.port);
  return {src, dst, service, pair_tag(service, src)};
}

std::array<ContextStore::PairCell*, 2> ContextStore::cells_of(uint64_t pair) const {
  return {&cells_[static_cast<uint32_t>(pair) & cell_mask_],
          &cells_[size_t{cell_mask_ + 1} + (static_cast<uint32_t>(pair >> 32) & cell_mask_)]};
}

void ContextStore::prefetch(const Key& k) const {
  receivers_.prefetch(k.dst);
  senders_.prefetch(k.src);
  services_.prefetch(k.service);
  for (const PairCell* c : cells_of(k.pair)) __builtin_prefetch(c, 1);
}

ContextStore::Window ContextStore::count(TallyTable& table, uint64_t tag, uint64_t member, uint32_t epoch,
                                         bool one_sided) {
  Tally& s = table.claim(tag, epoch, forgotten_);
  const int i = advance(s, epoch);
  if (i >= 0) {
    s.bits[i] |= member;
    bump(s.flows[i]);
    if (one_sided) bump(s.one_sided[i]);
  }
  return {distinct_estimate(s.bits[0] | s.bits[1]), uint32_t{s.flows[0]} + s.flows[1],
          uint32_t{s.one_sided[0]} + s.one_sided[1], i >= 0};
}

ContextValues ContextStore::observe(const FlowRecord& r, const FlowTraits& t, const Key& k) {
  const uint32_t epoch = static_cast<uint32_t>(r.stats.last_ts_ns / window_ns_);
  ContextValues out;
  out[ContextValue::kPairFlows] = r.stats.pair_flows;

  const Window to_dst = count(receivers_, k.dst, member_bit(k.src), epoch, t.one_sided);
  late_ += !to_dst.counted;
  out[ContextValue::kDstSources] = to_dst.distinct;
  out[ContextValue::kDstFlows] = to_dst.flows;
  out[ContextValue::kDstOneSided] = to_dst.one_sided;

  const Window from_src = count(senders_, k.src, member_bit(k.service), epoch, t.one_sided);
  out[ContextValue::kSrcTargets] = from_src.distinct;
  out[ContextValue::kSrcFlows] = from_src.flows;
  out[ContextValue::kSrcOneSided] = from_src.one_sided;

  const Window to_service = count(services_, k.service, member_bit(k.src), epoch, t.one_sided);
  out[ContextValue::kServiceSources] = to_service.distinct;
  out[ContextValue::kServiceFlows] = to_service.flows;
  out[ContextValue::kServiceOneSided] = to_service.one_sided;

  std::array<uint16_t*, 2> flows{}, syn{};  // the rows' counters of the record's epoch; null: too old there
  const std::array<PairCell*, 2> cell = cells_of(k.pair);
  for (int row = 0; row < 2; ++row)
    if (const int i = advance_cell(*cell[row], epoch); i >= 0) flows[row] = &cell[row]->flows[i], syn[row] = &cell[row]->syn[i];
  bump_smallest(flows);
  if (t.syn_unanswered) bump_smallest(syn);
  const auto total = [](const uint16_t (&c)[2]) { return uint32_t{c[0]} + c[1]; };
  out[ContextValue::kRepeat] = std::min(total(cell[0]->flows), total(cell[1]->flows));
  out[ContextValue::kSynUnanswered] = std::min(total(cell[0]->syn), total(cell[1]->syn));
  return out;
}

void ContextStore::observe(std::span<Observation> batch) {
  const size_t n = batch.size();
  for (size_t i = 0; i < std::min(n, kBatchAhead); ++i) prefetch(batch[i].key);
  for (size_t i = 0; i < n; ++i) {
    if (i + kBatchAhead < n) prefetch(batch[i + kBatchAhead].key);
    Observation& o = batch[i];
    o.values = observe(*o.record, o.traits, o.key);
  }
}

}  // namespace flowscore
