#include "flowscore/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/format.h>

#include "flowscore/key_tag.hpp"

namespace flowscore {

namespace {
constexpr uint8_t kProtoTcp = 6;

// Protocols whose L4 header flowscore parses; for any other, FEATURES.md §2
// defines payload bytes as 0.
bool carries_l4_payload(uint8_t proto) {
  return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}
constexpr uint32_t kMaxWheelSlots = UINT16_MAX;
// wheel_prev of the first entry of a wheel slot: the slot's number with this
// bit set. Entry indexes stay below it (capacity < 2^31), and kNil, which
// also has it, is checked first.
constexpr uint32_t kWheelHead = 1u << 31;

enum EntryFlag : uint8_t {
  kInitiatorIsLo = 1 << 0,  // the initiator is the key's addr_lo side
  kSeenLo = 1 << 1,         // a packet came from the lo side
  kSeenHi = 1 << 2,
  kFinLo = 1 << 3,          // FIN sent by the lo side
  kFinHi = 1 << 4,
  kClosed = 1 << 5,         // FIN from both sides, or RST: lingering
  kEmpty = 1 << 6,          // checkpointed by the active timeout; no packet since
  kHasVlan = 1 << 7,        // vlans_[entry] holds the first packet's VLAN IDs
};

std::atomic<uint32_t> g_table_serial{0};  // rte_hash names must be unique per process

// Maps one flow array; pages are faulted in on first touch. From the
// hugetlb pool when asked and it has room: pool pages stay backed by the
// host between runs and are zeroed at memory speed (6 GB/s here), while
// fresh anonymous memory in this VM faults at 0.3-5 GB/s depending on the
// host (docs/BENCHMARKS.md). A private hugetlb mapping reserves its pages at
// mmap, so a short pool fails here, not with SIGBUS later; then, or when not
// asked, anonymous memory with transparent huge pages. Sets `mapped` to the
// mapping's length (hugetlb rounds up to whole 2 MiB pages).
void* map_flow_array(size_t bytes, bool hugetlb, size_t& mapped) {
  constexpr size_t kHugePage = size_t{2} << 20;
  if (hugetlb) {
    mapped = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p != MAP_FAILED) return p;
  }
  mapped = bytes;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

// MurmurHash3's 64-bit finaliser: every input bit moves every output bit.
uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

// Suricata-like flow_id (its FlowGetId mixes the flow hash with 16+16 bits
// of the start time): from the flow's key and 16 bits of its first packet's
// time (the entry's id_salt; an entry has no room for more), so every record
// of one flow, checkpoints too, has the same id, a run over the same capture
// gives the same ids, and no id depends on which worker tracked the flow. A
// 5-tuple reused for a new flow gets a new id but for 1 in 65,536. 51 bits,
// as Suricata's, so a JSON reader that holds numbers as doubles keeps it exact.
uint64_t flow_id_of(const FlowKey& key, uint16_t id_salt) {
  return mix64(key_tag(key) ^ (uint64_t{id_salt} * 0x9e3779b97f4a7c15ULL)) & ((uint64_t{1} << 51) - 1);
}

void unmap(void* p, size_t bytes) {
  if (p != nullptr) munmap(p, bytes);
}

size_t page_rounded(size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

// Bytes allocated from DPDK's heaps on every socket, allocator headers
// included (heap_allocsz_bytes counts whole elements). Memzones such as
// rte_ring's come from the same heaps, so they are in it too.
size_t dpdk_heap_allocated() {
  size_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &stats) == 0) total += stats.heap_allocsz_bytes;
  }
  return total;
}
}  // namespace

// One tracked flow: exactly four cache lines (create() checks), so an entry
// never straddles a fifth. The key lives in rte_hash's key store (same
// position), so it is not stored twice.
struct FlowTable::Entry {
  FlowFeatures stats;
  uint32_t wheel_prev;   // previous entry in its wheel slot; kWheelHead | slot for the first; kNil: not filed
  uint32_t wheel_next;
  uint16_t input_index;  // < RTE_MAX_ETHPORTS: one port per capture file or NIC port
  uint16_t id_salt;      // from the flow's first packet time: its flow_id, kept across checkpoints
  uint8_t flags;
  uint8_t icmp_type;  // initiator's first ICMP type/code (EVE icmp_type/icmp_code)
  uint8_t icmp_code;
};

FlowTable::FlowTable(const FlowTableConfig& cfg, const FeatureConfig& features)
    : cfg_(cfg),
      feature_cfg_(features),
      // Half a slot per flow: pairs are fewer than flows, and a flood's
      // one-flow pairs are the first to make room (pair_activity.hpp).
      pairs_(cfg.pair_slots ? cfg.pair_slots : cfg.capacity / 2, features.pair_window_ns),
      wheel_(cfg.wheel_slots, kNil) {}

FlowTable::~FlowTable() {
  rte_hash_free(index_);
  unmap(entries_, entries_mapped_);
  unmap(first_, first_mapped_);
  unmap(vlans_, vlans_mapped_);
  unmap(app_flows_, app_mapped_);
}

std::unique_ptr<FlowTable> FlowTable::create(const FlowTableConfig& cfg, const FeatureConfig& features,
                                             std::string& error, std::unique_ptr<AppProtoDetector> app_proto) {
  static_assert(sizeof(Entry) == 4 * 64, "a flow entry is four cache lines (issue 2 §8: <= 256 B per flow)");
  static_assert(RTE_MAX_ETHPORTS <= 65536, "Entry::input_index is 16 bits");
  if (cfg.capacity < 8 || cfg.capacity >= kWheelHead) {
    error = "flow table capacity must be at least 8 and below 2^31";
    return nullptr;
  }
  if (cfg.wheel_slots == 0 || (cfg.wheel_slots & (cfg.wheel_slots - 1)) != 0 || cfg.wheel_slots >= kMaxWheelSlots) {
    error = "timer wheel slots must be a power of two below 65535";
    return nullptr;
  }
  if (cfg.wheel_tick_ns == 0) {
    error = "timer wheel tick must be positive";
    return nullptr;
  }
  std::unique_ptr<FlowTable> t(new FlowTable(cfg, features));
  const std::string name = fmt::format("flows_{}", g_table_serial.fetch_add(1));
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = cfg.capacity;
  params.key_len = sizeof(FlowKey);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = 0;
  params.socket_id = cfg.socket_id;
  // Extendable buckets: the table holds exactly `capacity` keys, so "full"
  // means full and never "this key's buckets collided".
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  // Tables are created one at a time from the main lcore at start-up, so
  // the heap's growth across this call is rte_hash's alone.
  const size_t heap_before = dpdk_heap_allocated();
  t->index_ = rte_hash_create(&params);
  if (t->index_ == nullptr) {
    // rte_hash does not always set rte_errno; its usual failure is memory.
    error = fmt::format("cannot create the flow index for {} flows ({} MiB of DPDK memory): "
                        "lower flow.table_size or raise dpdk.memory_mb", cfg.capacity,
                        (size_t{cfg.capacity} * 128) >> 20);
    return nullptr;
  }
  t->memory_.index_bytes = dpdk_heap_allocated() - heap_before;
  // The two big arrays come from the kernel, not DPDK's heap: pages are
  // faulted in on first touch (so they land on the NUMA node of the thread
  // that touches them: the worker, or offline a Prefaulter ahead of it) and
  // untouched capacity costs no start-up time. Huge pages (hugetlb when
  // asked, else transparent) keep TLB misses down; see map_flow_array().
  const size_t first_bytes = sizeof(FirstPacketSlot) * size_t{cfg.capacity} * features.first_packets;
  t->entries_ = static_cast<Entry*>(map_flow_array(sizeof(Entry) * size_t{cfg.capacity}, cfg.hugetlb_arrays, t->entries_mapped_));
  t->first_ = first_bytes ? static_cast<FirstPacketSlot*>(map_flow_array(first_bytes, cfg.hugetlb_arrays, t->first_mapped_))
                          : nullptr;  // N = 0: none
  t->vlans_ = static_cast<VlanIds*>(map_flow_array(sizeof(VlanIds) * size_t{cfg.capacity}, false, t->vlans_mapped_));
  if (t->entries_ == nullptr || (first_bytes && t->first_ == nullptr) || t->vlans_ == nullptr) {
    error = fmt::format("cannot map {} MiB for {} flows (lower flow.table_size)",
                        (sizeof(Entry) * size_t{cfg.capacity} + first_bytes) >> 20, cfg.capacity);
    return nullptr;
  }
  t->memory_.entry_bytes = page_rounded(t->entries_mapped_);
  t->memory_.first_packet_bytes = page_rounded(t->first_mapped_);
  t->memory_.pair_bytes = t->pairs_.bytes();
  t->memory_.vlan_bytes = page_rounded(t->vlans_mapped_);
  if (app_proto) {
    t->app_flows_ = static_cast<AppDetection*>(map_flow_array(sizeof(AppDetection) * size_t{cfg.capacity}, false, t->app_mapped_));
    if (t->app_flows_ == nullptr) {
      error = fmt::format("cannot map {} MiB of app_proto state for {} flows (lower flow.table_size)",
                          (sizeof(AppDetection) * size_t{cfg.capacity}) >> 20, cfg.capacity);
      return nullptr;
    }
    t->memory_.app_proto_bytes = page_rounded(t->app_mapped_) + app_proto->memory_bytes();
    t->app_proto_ = std::move(app_proto);
  }
  return t;
}

size_t FlowTable::bytes_per_flow() const {
  return (memory_.total() + cfg_.capacity - 1) / cfg_.capacity;
}

std::vector<MemoryRange> FlowTable::lazily_mapped() const {
  std::vector<MemoryRange> ranges{{entries_, sizeof(Entry) * size_t{cfg_.capacity}}};
  if (first_ != nullptr) ranges.push_back({first_, sizeof(FirstPacketSlot) * size_t{cfg_.capacity} * feature_cfg_.first_packets});
  return ranges;
}

std::span<FirstPacketSlot> FlowTable::first_slots(uint32_t idx) {
  return {first_ + size_t{idx} * feature_cfg_.first_packets, feature_cfg_.first_packets};
}

// ---- timer wheel ----------------------------------------------------------
// A flow sits in the slot of its deadline's tick. Packets do not move it:
// the deadline only grows with new packets, so a slot visit re-files flows
// whose deadline moved on. Only what brings a deadline nearer re-files a
// flow eagerly: closing (linger), and the first packet of a record that
// continues a checkpointed flow (its own active timeout).

// A closed connection lingers, else it idles; either way the active timeout
// still bounds a record, so packets after a RST or FIN+FIN cannot keep one
// record (and its verdict) open for ever. A checkpointed flow with no packet
// since is forgotten when it would have ended.
uint64_t FlowTable::quiet_limit(const Entry& e) const {
  return (e.flags & kClosed) ? cfg_.tcp_linger_ns : cfg_.idle_timeout_ns;
}

uint64_t FlowTable::due(const Entry& e) const {
  const uint64_t quiet_end = e.stats.last_ts_ns + quiet_limit(e);
  if (e.flags & kEmpty) return quiet_end;
  return std::min(quiet_end, e.stats.first_ts_ns + cfg_.active_timeout_ns);
}

uint32_t FlowTable::slot_for(uint64_t due_ns) const {
  const uint64_t tick = std::max(due_ns / cfg_.wheel_tick_ns, wheel_tick_ + 1);
  return static_cast<uint32_t>(tick & (cfg_.wheel_slots - 1));
}

void FlowTable::wheel_link(uint32_t idx, uint64_t due_ns) {
  Entry& e = entries_[idx];
  const uint32_t slot = slot_for(due_ns);
  e.wheel_prev = kWheelHead | slot;
  e.wheel_next = wheel_[slot];
  if (e.wheel_next != kNil) entries_[e.wheel_next].wheel_prev = idx;
  wheel_[slot] = idx;
}

void FlowTable::wheel_unlink(uint32_t idx) {
  Entry& e = entries_[idx];
  if (e.wheel_prev == kNil) return;  // not filed
  if (e.wheel_prev & kWheelHead) {
    wheel_[e.wheel_prev & ~kWheelHead] = e.wheel_next;
  } else {
    entries_[e.wheel_prev].wheel_next = e.wheel_next;
  }
  if (e.wheel_next != kNil) entries_[e.wheel_next].wheel_prev = e.wheel_prev;
  e.wheel_prev = e.wheel_next = kNil;
}

// ---- records --------------------------------------------------------------

void FlowTable::emit(uint32_t idx, EndReason reason, RecordSink& sink) {
  const Entry& e = entries_[idx];
  switch (reason) {
    case EndReason::kIdleTimeout: ++counters_.expired_idle; break;
    case EndReason::kActiveTimeout: ++counters_.expired_active; break;
    case EndReason::kTcpClose: ++counters_.expired_tcp_close; break;
    case EndReason::kPressure: ++counters_.evicted_pressure; break;
    case EndReason::kShutdown: ++counters_.flushed; break;
  }
  // Detection ends with the record (a checkpoint's too: later records of
  // the flow keep the name), so its nDPI state is free even if the record
  // is dropped.
  if (app_proto_) app_proto_->finish(app_flows_[idx]);
  FlowRecord* r = sink.reserve();
  if (r == nullptr) {
    ++counters_.records_dropped;
    return;
  }
  const void* stored_key = nullptr;
  rte_hash_get_key_with_position(index_, static_cast<int32_t>(idx), const_cast<void**>(&stored_key));
  std::memcpy(&r->key, stored_key, sizeof(FlowKey));
  const bool init_lo = e.flags & kInitiatorIsLo;
  r->src = init_lo ? Endpoint{r->key.addr_lo, r->key.port_lo} : Endpoint{r->key.addr_hi, r->key.port_hi};
  r->dst = init_lo ? Endpoint{r->key.addr_hi, r->key.port_hi} : Endpoint{r->key.addr_lo, r->key.port_lo};
  r->flow_id = flow_id_of(r->key, e.id_salt);
  r->proto = r->key.proto;
  r->ip_version = r->key.ip_version;
  r->icmp_type = e.icmp_type;
  r->icmp_code = e.icmp_code;
  r->vlan = (e.flags & kHasVlan) ? vlans_[idx] : VlanIds{};
  const bool both_sides = (e.flags & (kSeenLo | kSeenHi)) == (kSeenLo | kSeenHi);
  r->state = (e.flags & kClosed) ? FlowState::kClosed : both_sides ? FlowState::kEstablished : FlowState::kNew;
  r->reason = reason;
  r->worker = cfg_.worker_id;
  r->app_proto = app_proto_ ? app_flows_[idx].code : kAppProtoNone;
  r->input_index = e.input_index;
  r->stats = e.stats;
  const uint64_t first_n = std::min<uint64_t>(e.stats.packets(), feature_cfg_.first_packets);
  r->first_count = static_cast<uint8_t>(first_n);
  if (first_n != 0) {
    std::memcpy(r->first, first_ + size_t{idx} * feature_cfg_.first_packets, first_n * sizeof(FirstPacketSlot));
  }
  r->verdict = Verdict{};
  sink.commit(r);
  ++counters_.records_emitted;
}

void FlowTable::remove(uint32_t idx) {
  wheel_unlink(idx);
  const void* stored_key = nullptr;
  rte_hash_get_key_with_position(index_, static_cast<int32_t>(idx), const_cast<void**>(&stored_key));
  FlowKey key;
  std::memcpy(&key, stored_key, sizeof key);
  rte_hash_del_key(index_, &key);
  --live_;
  ++removals_;
}

// Which flow a full table gives up, as Suricata's emergency mode does: the
// ones a flood brings first. The soonest wheel slots hold the flows filed
// soonest, but a flow is filed at its first packet and not moved by later
// ones, so a connection that keeps talking sits among a flood's lone SYNs.
// Of the first kEvictCandidates flows from the soonest slots, the victim is
// (in this order) a checkpointed flow with nothing to report, then a flow
// nobody answered (one side silent), then any; within a kind the one due
// soonest by its real deadline, the idlest. A talking connection is then
// forced out only when the candidates are all answered: a flood of
// unanswered flows, however large, ends its own flows.
bool FlowTable::evict_one(RecordSink& sink) {
  uint32_t victim = kNil, seen = 0;
  uint64_t victim_rank = UINT64_MAX, victim_due = UINT64_MAX;
  for (uint32_t i = 1; i <= cfg_.wheel_slots && seen < kEvictCandidates; ++i) {
    const uint32_t slot = static_cast<uint32_t>((wheel_tick_ + i) & (cfg_.wheel_slots - 1));
    for (uint32_t idx = wheel_[slot]; idx != kNil && seen < kEvictCandidates; idx = entries_[idx].wheel_next, ++seen) {
      const Entry& e = entries_[idx];
      const uint64_t rank = (e.flags & kEmpty) ? 0 : (e.stats.pkts_fwd == 0 || e.stats.pkts_bwd == 0) ? 1 : 2;
      const uint64_t d = due(e);
      if (rank < victim_rank || (rank == victim_rank && d < victim_due)) {
        victim = idx, victim_rank = rank, victim_due = d;
      }
    }
  }
  if (victim == kNil) return false;
  if (entries_[victim].flags & kEmpty) {
    ++counters_.evicted_pressure;  // a checkpointed flow with nothing to report
  } else {
    emit(victim, EndReason::kPressure, sink);
  }
  remove(victim);
  return true;
}

int32_t FlowTable::insert(const FlowKey& key, RecordSink& sink) {
  // Flows past their deadline end for their own reason before any is forced
  // out: expiry runs once per burst, and one burst can span minutes offline.
  if (live_ >= cfg_.capacity) expire(now_ns_, sink);
  if (live_ >= cfg_.capacity) evict_one(sink);
  int32_t pos = rte_hash_add_key(index_, &key);
  if (pos == -ENOSPC && evict_one(sink)) pos = rte_hash_add_key(index_, &key);
  if (pos < 0) {
    ++counters_.insert_failed;
    return -1;
  }
  ++live_;
  ++counters_.flows_created;
  keys_since_reset_ = true;
  if (uint32_t(pos) >= positions_used_.load(std::memory_order_relaxed))
    positions_used_.store(uint32_t(pos) + 1, std::memory_order_relaxed);
  return pos;
}

void FlowTable::start_flow(uint32_t idx, const ParsedPacket& p, const FlowKey& key, bool src_is_lo,
                           uint32_t input_index, uint64_t ts_ns) {
  Entry& e = entries_[idx];
  // The initiator is the side of the first packet, unless that packet is a
  // SYN-ACK: then the SYN sender (the other side) opened the connection.
  const bool syn_ack = p.proto == kProtoTcp && (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) ==
                                                   (tcp_flag::kSyn | tcp_flag::kAck);
  const bool initiator_is_src = !syn_ack;
  e.flags = (initiator_is_src == src_is_lo) ? kInitiatorIsLo : 0;
  e.icmp_type = initiator_is_src ? p.icmp_type : 0;
  e.icmp_code = initiator_is_src ? p.icmp_code : 0;
  e.input_index = static_cast<uint16_t>(input_index);
  e.id_salt = static_cast<uint16_t>(mix64(ts_ns));
  if (p.vlan.count() != 0) {
    e.flags |= kHasVlan;
    vlans_[idx] = p.vlan;
  }
  e.wheel_prev = e.wheel_next = kNil;
  if (app_proto_) {
    app_proto_->finish(app_flows_[idx]);  // the entry's last flow ended with a record, which finished it
    app_flows_[idx] = AppDetection{};
  }
  e.stats.reset(ts_ns);
  e.stats.pair_flows = pairs_.begin_flow(key, ts_ns);
  wheel_link(idx, due(e));
}

// ---- ending flows --------------------------------------------------------------
// The one place that decides whether, and why, a flow ends at `now`. The
// wheel and the per-packet check both ask it, so they cannot disagree.

FlowTable::Ending FlowTable::ending_at(const Entry& e, uint64_t now_ns) const {
  // A flow ends at the first tick boundary after its deadline (the expiry
  // resolution), never earlier.
  if (due(e) / cfg_.wheel_tick_ns >= now_ns / cfg_.wheel_tick_ns) return Ending::kNotYet;
  if (e.flags & kEmpty) return Ending::kForget;
  // Whichever deadline came first decides, not when the check ran.
  const bool quiet_first = e.stats.last_ts_ns + quiet_limit(e) <= e.stats.first_ts_ns + cfg_.active_timeout_ns;
  if (!quiet_first) return Ending::kActiveTimeout;
  return (e.flags & kClosed) ? Ending::kTcpClose : Ending::kIdleTimeout;
}

// 32-bit packet counters (FlowFeatures) end a record before they wrap: a
// single-tuple flood at line rate would otherwise get there within the
// active timeout.
bool FlowTable::saturated(const FlowFeatures& f) {
  constexpr uint32_t kLimit = UINT32_MAX - 1;
  return f.pkts_fwd >= kLimit || f.pkts_bwd >= kLimit;
}

EndReason FlowTable::reason_for(Ending ending) {
  switch (ending) {
    case Ending::kIdleTimeout: return EndReason::kIdleTimeout;
    case Ending::kActiveTimeout: return EndReason::kActiveTimeout;
    default: return EndReason::kTcpClose;  // kTcpClose, and kNotYet for port reuse
  }
}

// Active timeout: report what the flow did so far and keep tracking it; its
// next packet starts the next record with the same orientation.
void FlowTable::checkpoint(uint32_t idx, RecordSink& sink) {
  Entry& e = entries_[idx];
  emit(idx, EndReason::kActiveTimeout, sink);
  const uint64_t last = e.stats.last_ts_ns;
  std::memset(&e.stats, 0, sizeof e.stats);
  e.stats.first_ts_ns = e.stats.last_ts_ns = last;
  e.flags |= kEmpty;
  wheel_unlink(idx);
  wheel_link(idx, due(e));
}

// ---- per packet -------------------------------------------------------------

void FlowTable::account_burst(std::span<const PacketRef> burst, uint32_t input_index, RecordSink& sink) {
  FlowKey keys[kMaxBurst];
  const void* key_ptrs[kMaxBurst];
  bool src_is_lo[kMaxBurst];
  int32_t positions[kMaxBurst];
  for (size_t done = 0; done < burst.size(); done += kMaxBurst) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(kMaxBurst, burst.size() - done));
    for (unsigned i = 0; i < n; ++i) {
      keys[i] = make_flow_key(*burst[done + i].packet, src_is_lo[i]);
      if (cfg_.vlan_in_key) keys[i].vlan = burst[done + i].packet->vlan;
      key_ptrs[i] = &keys[i];
    }
    rte_hash_lookup_bulk(index_, key_ptrs, n, positions);
    // Fetch every found entry (four lines, all touched per packet) while the
    // loop below works: an entry is usually a cache miss. So is the flow's
    // first-N block, written by every packet of a short flow (most flows).
    const size_t first_block = sizeof(FirstPacketSlot) * feature_cfg_.first_packets;
    for (unsigned i = 0; i < n; ++i) {
      if (positions[i] < 0) continue;
      const char* e = reinterpret_cast<const char*>(&entries_[positions[i]]);
      for (size_t line = 0; line < sizeof(Entry); line += RTE_CACHE_LINE_SIZE) rte_prefetch0(e + line);
      if (first_block != 0) {
        const char* slots = reinterpret_cast<const char*>(first_ + size_t(positions[i]) * feature_cfg_.first_packets);
        rte_prefetch0(slots);
        rte_prefetch0(slots + first_block - 1);
      }
    }
    const uint64_t removals_before = removals_, created_before = counters_.flows_created;
    for (unsigned i = 0; i < n; ++i) {
      // Once this burst has added or removed a flow, the bulk answers may be
      // stale (a miss now present, a position freed and reused): look up again.
      const bool bulk_valid = removals_ == removals_before && counters_.flows_created == created_before;
      const int32_t pos = bulk_valid ? positions[i] : rte_hash_lookup(index_, &keys[i]);
      account_one(burst[done + i], keys[i], src_is_lo[i], pos, input_index, sink);
    }
  }
}

void FlowTable::account(const ParsedPacket& p, uint32_t wire_len, uint64_t ts_ns, uint32_t input_index,
                        RecordSink& sink) {
  const PacketRef ref{&p, wire_len, ts_ns};
  account_burst({&ref, 1}, input_index, sink);
}

void FlowTable::account_one(const PacketRef& ref, const FlowKey& key, bool src_is_lo, int32_t pos,
                            uint32_t input_index, RecordSink& sink) {
  const ParsedPacket& p = *ref.packet;
  const uint64_t ts_ns = ref.ts_ns;
  if (!wheel_started_) {
    // The tick before the first packet's counts as processed (0 for captures
    // stamped at the epoch, where there is no tick before).
    const uint64_t first_tick = ts_ns / cfg_.wheel_tick_ns;
    wheel_tick_ = first_tick ? first_tick - 1 : 0;
    wheel_started_ = true;
  }
  // A later fragment borrows its first fragment's ports, not a TCP header.
  const bool is_tcp = p.proto == kProtoTcp && p.has_l4 && p.fragment != Fragment::kLater;
  const uint8_t flags = is_tcp ? p.tcp_flags : 0;
  // Time only moves forward: a packet stamped earlier than the latest one
  // seen is judged at the latest time (captures merged or reordered).
  now_ns_ = std::max(now_ns_, ts_ns);
  if (pos < 0) {
    pos = insert(key, sink);
    if (pos < 0) return;
    start_flow(static_cast<uint32_t>(pos), p, key, src_is_lo, input_index, ts_ns);
  } else {
    // The wheel runs once per burst, so this flow may be past its deadline
    // already: end it here, so a packet never joins a flow that timed out
    // (offline, one burst can span minutes of capture time). Only a flow
    // that existed before this packet can end: a new one, stamped behind
    // the clock, must not be reported empty and started again.
    const uint32_t idx = static_cast<uint32_t>(pos);
    const Entry& old = entries_[idx];
    Ending ending = ending_at(old, now_ns_);
    bool port_reuse = (old.flags & kClosed) && (flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn;
    if (ending == Ending::kActiveTimeout || saturated(old.stats)) {
      checkpoint(idx, sink);  // the flow continues below, in a new record...
      // ...unless it then stayed silent past the idle timeout too: one burst
      // can span both deadlines, and the wheel would have forgotten it by
      // now, so this packet starts a new flow (found by tests/fuzz). So does
      // a SYN reusing the 5-tuple of a closed connection: the checkpoint
      // has reported the old one.
      ending = ending_at(entries_[idx], now_ns_) == Ending::kForget || port_reuse ? Ending::kForget
                                                                                 : Ending::kNotYet;
      counters_.tcp_port_reuse += port_reuse;
      port_reuse = false;
    }
    if (ending != Ending::kNotYet || port_reuse) {
      // Timed out, or closed and lingering when a new connection reuses the
      // 5-tuple: report the old flow, start a new one in the same entry. A
      // checkpointed flow has reported everything already (found by
      // tests/fuzz once closed flows could be checkpointed).
      if (ending != Ending::kForget && !(entries_[idx].flags & kEmpty)) emit(idx, reason_for(ending), sink);
      counters_.tcp_port_reuse += ending == Ending::kNotYet;
      ++counters_.flows_created;
      wheel_unlink(idx);
      start_flow(idx, p, key, src_is_lo, input_index, ts_ns);
    }
  }
  const uint32_t idx = static_cast<uint32_t>(pos);
  Entry* e = &entries_[idx];
  if (e->flags & kEmpty) {  // the first packet of a record that continues its flow
    e->flags &= static_cast<uint8_t>(~kEmpty);
    e->stats.reset(ts_ns);
    e->stats.pair_flows = pairs_.recent_flows(key, ts_ns);
    // The record's active timeout can fall before the slot the checkpoint
    // filed it in (last + idle): file it again at its own deadline.
    wheel_unlink(idx);
    wheel_link(idx, due(*e));
  }

  const bool from_lo = src_is_lo;
  PacketObservation obs;
  obs.ts_ns = ts_ns;
  obs.wire_len = ref.wire_len;
  obs.ip_len = p.ip_len;
  obs.payload_len = carries_l4_payload(p.proto) ? p.payload_len : 0;  // FEATURES.md §2
  obs.tcp_window = p.tcp_window;
  obs.tcp_flags = flags;
  obs.is_tcp = is_tcp;
  obs.forward = from_lo == static_cast<bool>(e->flags & kInitiatorIsLo);
  e->stats.add(obs, first_slots(idx), feature_cfg_);
  e->flags |= from_lo ? kSeenLo : kSeenHi;
  if (app_proto_ != nullptr && ref.frame != nullptr) inspect_app_proto(idx, ref);

  if (is_tcp && (flags & (tcp_flag::kFin | tcp_flag::kRst))) {
    if (flags & tcp_flag::kFin) e->flags |= from_lo ? kFinLo : kFinHi;
    const bool closed_now = (flags & tcp_flag::kRst) || (e->flags & (kFinLo | kFinHi)) == (kFinLo | kFinHi);
    if (closed_now && !(e->flags & kClosed)) {
      // The deadline moves nearer: re-file the flow so the linger is honoured.
      e->flags |= kClosed;
      wheel_unlink(idx);
      wheel_link(idx, due(*e));
    }
  }
}

// nDPI reads the packet from its IP header on, as far as the IP length says
// and the capture holds. Fragments are not shown: nDPI 4.2 does not
// reassemble, and a later fragment has no L4 header to dissect.
void FlowTable::inspect_app_proto(uint32_t idx, const PacketRef& ref) {
  const ParsedPacket& p = *ref.packet;
  AppDetection& flow = app_flows_[idx];
  if (flow.state == AppDetection::kDone || p.fragment != Fragment::kNone || ref.captured <= p.l3_offset) return;
  const uint32_t length = std::min(ref.captured - p.l3_offset, p.ip_len);
  const bool has_payload = p.has_l4 && carries_l4_payload(p.proto) && p.payload_len != 0;
  app_proto_->inspect(flow, ref.frame + p.l3_offset, length, has_payload, ref.ts_ns);
}

// ---- expiry -----------------------------------------------------------------

void FlowTable::expire(uint64_t now_ns, RecordSink& sink) {
  if (!wheel_started_) return;
  now_ns = now_ns_ = std::max(now_ns_, now_ns);
  const uint64_t now_tick = now_ns / cfg_.wheel_tick_ns;
  if (now_tick == 0 || now_tick - 1 <= wheel_tick_) return;
  const uint64_t target = now_tick - 1;  // last tick that has fully passed
  // After a long silence, one rotation visits every slot.
  const uint64_t start = std::max(wheel_tick_, target - std::min<uint64_t>(target, cfg_.wheel_slots));
  for (uint64_t tick = start + 1; tick <= target; ++tick) {
    wheel_tick_ = tick;
    const uint32_t slot = static_cast<uint32_t>(tick & (cfg_.wheel_slots - 1));
    uint32_t idx = wheel_[slot];
    wheel_[slot] = kNil;  // detach the list: re-filed flows may land in this slot again
    while (idx != kNil) {
      Entry& e = entries_[idx];
      const uint32_t next = e.wheel_next;
      e.wheel_prev = e.wheel_next = kNil;
      const Ending ending = ending_at(e, now_ns);
      if (ending == Ending::kNotYet) {
        wheel_link(idx, due(e));
      } else if (ending == Ending::kActiveTimeout) {
        checkpoint(idx, sink);
      } else {
        if (ending != Ending::kForget) emit(idx, reason_for(ending), sink);  // a checkpointed flow that never spoke again has nothing to report
        remove(idx);
      }
      idx = next;
    }
  }
}

void FlowTable::flush(EndReason reason, RecordSink& sink) {
  // Every live flow is filed in the wheel. All of them go. A few keys are
  // deleted one by one; more, and the index is emptied in one rte_hash_reset
  // (which also hands positions out from the front again): at the end of a
  // large capture that is most of the table, but the reset clears all of
  // rte_hash's memory (about 13 ms at 1M flows), which a small capture, or a
  // table already empty, need not pay.
  const bool reset = keys_since_reset_ && live_ > cfg_.capacity / 64;
  for (uint32_t slot = 0; slot < cfg_.wheel_slots; ++slot) {
    for (uint32_t idx = wheel_[slot], next; idx != kNil; idx = next) {
      next = entries_[idx].wheel_next;
      if (!(entries_[idx].flags & kEmpty)) emit(idx, reason, sink);
      if (!reset) remove(idx);
    }
    wheel_[slot] = kNil;
  }
  if (reset) {
    rte_hash_reset(index_);
    removals_ += live_;
    keys_since_reset_ = false;
  }
  live_ = 0;
  wheel_started_ = false;  // the next input may run on another clock (another capture file)
  now_ns_ = 0;
  pairs_.clear();
}

}  // namespace flowscore
