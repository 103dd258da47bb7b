#include "flowscore/flow_table.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/format.h>

namespace flowscore {

namespace {
constexpr uint8_t kProtoTcp = 6;
constexpr uint16_t kNoSlot = UINT16_MAX;

enum EntryFlag : uint8_t {
  kInitiatorIsLo = 1 << 0,  // the initiator is the key's addr_lo side
  kSeenLo = 1 << 1,         // a packet came from the lo side
  kSeenHi = 1 << 2,
  kFinLo = 1 << 3,          // FIN sent by the lo side
  kFinHi = 1 << 4,
  kClosed = 1 << 5,         // FIN from both sides, or RST: lingering
  kEmpty = 1 << 6,          // checkpointed by the active timeout; no packet since
};

std::atomic<uint32_t> g_table_serial{0};  // rte_hash names must be unique per process
}  // namespace

// One tracked flow. The key lives in rte_hash's key store (same position), so
// it is not stored twice.
struct FlowTable::Entry {
  FlowFeatures stats;
  uint32_t wheel_prev;
  uint32_t wheel_next;
  uint32_t input_index;
  uint16_t wheel_slot;
  uint8_t flags;
  uint8_t icmp_type;  // initiator's first ICMP type/code (EVE icmp_type/icmp_code)
  uint8_t icmp_code;
};

FlowTable::FlowTable(const FlowTableConfig& cfg, const FeatureConfig& features)
    : cfg_(cfg), feature_cfg_(features), wheel_(cfg.wheel_slots, kNil) {}

FlowTable::~FlowTable() {
  rte_hash_free(index_);
  rte_free(entries_);
  rte_free(first_);
}

std::unique_ptr<FlowTable> FlowTable::create(const FlowTableConfig& cfg, const FeatureConfig& features,
                                             std::string& error) {
  if (cfg.capacity < 8) {
    error = "flow table capacity must be at least 8";
    return nullptr;
  }
  if (cfg.wheel_slots == 0 || (cfg.wheel_slots & (cfg.wheel_slots - 1)) != 0 || cfg.wheel_slots >= kNoSlot) {
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
  t->index_ = rte_hash_create(&params);
  if (t->index_ == nullptr) {
    error = fmt::format("cannot create flow index for {} flows: {}", cfg.capacity, rte_strerror(rte_errno));
    return nullptr;
  }
  t->entries_ = static_cast<Entry*>(
      rte_zmalloc_socket("flow_entries", sizeof(Entry) * size_t{cfg.capacity}, RTE_CACHE_LINE_SIZE, cfg.socket_id));
  const size_t first_bytes = sizeof(FirstPacketSlot) * size_t{cfg.capacity} * std::max(1u, features.first_packets);
  t->first_ = static_cast<FirstPacketSlot*>(rte_zmalloc_socket("flow_first", first_bytes, RTE_CACHE_LINE_SIZE, cfg.socket_id));
  if (t->entries_ == nullptr || t->first_ == nullptr) {
    error = fmt::format("cannot allocate {} MiB for {} flows (raise DPDK memory with -m, or lower flow.table_size)",
                        (sizeof(Entry) * size_t{cfg.capacity} + first_bytes) >> 20, cfg.capacity);
    return nullptr;
  }
  return t;
}

size_t FlowTable::bytes_per_flow() const {
  // rte_hash: one key-store slot (key + data pointer) per entry, plus its share
  // of buckets (8 signatures + 8 key indexes per bucket, about one bucket per
  // 8 keys after rounding up, doubled for the extendable buckets).
  const size_t hash_share = sizeof(FlowKey) + sizeof(void*) + 2 * (8 * 2 + 8 * 4 + 8) / 8;
  return sizeof(Entry) + sizeof(FirstPacketSlot) * feature_cfg_.first_packets + hash_share;
}

std::span<FirstPacketSlot> FlowTable::first_slots(uint32_t idx) {
  return {first_ + size_t{idx} * feature_cfg_.first_packets, feature_cfg_.first_packets};
}

// ---- timer wheel ----------------------------------------------------------
// A flow sits in the slot of its deadline's tick. Packets do not move it:
// the deadline only grows with new packets, so a slot visit re-files flows
// whose deadline moved on. Only closing (which brings the deadline nearer)
// re-files a flow eagerly.

uint64_t FlowTable::due(const Entry& e) const {
  const uint64_t last = e.stats.last_ts_ns;
  if (e.flags & kClosed) return last + cfg_.tcp_linger_ns;
  if (e.flags & kEmpty) return last + cfg_.idle_timeout_ns;
  return std::min(last + cfg_.idle_timeout_ns, e.stats.first_ts_ns + cfg_.active_timeout_ns);
}

uint32_t FlowTable::slot_for(uint64_t due_ns) const {
  const uint64_t tick = std::max(due_ns / cfg_.wheel_tick_ns, wheel_tick_ + 1);
  return static_cast<uint32_t>(tick & (cfg_.wheel_slots - 1));
}

void FlowTable::wheel_link(uint32_t idx, uint64_t due_ns) {
  Entry& e = entries_[idx];
  const uint32_t slot = slot_for(due_ns);
  e.wheel_slot = static_cast<uint16_t>(slot);
  e.wheel_prev = kNil;
  e.wheel_next = wheel_[slot];
  if (e.wheel_next != kNil) entries_[e.wheel_next].wheel_prev = idx;
  wheel_[slot] = idx;
}

void FlowTable::wheel_unlink(uint32_t idx) {
  Entry& e = entries_[idx];
  if (e.wheel_slot == kNoSlot) return;
  if (e.wheel_prev != kNil) {
    entries_[e.wheel_prev].wheel_next = e.wheel_next;
  } else {
    wheel_[e.wheel_slot] = e.wheel_next;
  }
  if (e.wheel_next != kNil) entries_[e.wheel_next].wheel_prev = e.wheel_prev;
  e.wheel_slot = kNoSlot;
  e.wheel_prev = e.wheel_next = kNil;
}

// ---- records --------------------------------------------------------------

void FlowTable::emit(uint32_t idx, EndReason reason, RecordSink& sink) {
  const Entry& e = entries_[idx];
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
  r->flow_id = (uint64_t{cfg_.worker_id} << 40) | (next_flow_seq_++ & ((uint64_t{1} << 40) - 1));
  r->proto = r->key.proto;
  r->ip_version = r->key.ip_version;
  r->icmp_type = e.icmp_type;
  r->icmp_code = e.icmp_code;
  const bool both_sides = (e.flags & (kSeenLo | kSeenHi)) == (kSeenLo | kSeenHi);
  r->state = (e.flags & kClosed) ? FlowState::kClosed : both_sides ? FlowState::kEstablished : FlowState::kNew;
  r->reason = reason;
  r->worker = cfg_.worker_id;
  r->input_index = e.input_index;
  r->stats = e.stats;
  const uint64_t first_n = std::min<uint64_t>(e.stats.packets(), feature_cfg_.first_packets);
  r->first_count = static_cast<uint8_t>(first_n);
  std::memcpy(r->first, first_ + size_t{idx} * feature_cfg_.first_packets, first_n * sizeof(FirstPacketSlot));
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
}

bool FlowTable::evict_one(RecordSink& sink) {
  // The first non-empty slot after the current tick holds the flows due
  // soonest (give or take a wheel rotation): the idlest, by the wheel's clock.
  for (uint32_t i = 1; i <= cfg_.wheel_slots; ++i) {
    const uint32_t slot = static_cast<uint32_t>((wheel_tick_ + i) & (cfg_.wheel_slots - 1));
    const uint32_t idx = wheel_[slot];
    if (idx == kNil) continue;
    if (!(entries_[idx].flags & kEmpty)) emit(idx, EndReason::kPressure, sink);
    remove(idx);
    ++counters_.evicted_pressure;
    return true;
  }
  return false;
}

int32_t FlowTable::insert(const FlowKey& key, RecordSink& sink) {
  if (live_ >= cfg_.capacity) evict_one(sink);
  int32_t pos = rte_hash_add_key(index_, &key);
  if (pos == -ENOSPC && evict_one(sink)) pos = rte_hash_add_key(index_, &key);
  if (pos < 0) {
    ++counters_.insert_failed;
    return -1;
  }
  ++live_;
  ++counters_.flows_created;
  return pos;
}

void FlowTable::start_flow(uint32_t idx, const ParsedPacket& p, bool src_is_lo, uint32_t input_index,
                           uint64_t ts_ns) {
  Entry& e = entries_[idx];
  // The initiator is the side of the first packet, unless that packet is a
  // SYN-ACK: then the SYN sender (the other side) opened the connection.
  const bool syn_ack = p.proto == kProtoTcp && (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) ==
                                                   (tcp_flag::kSyn | tcp_flag::kAck);
  const bool initiator_is_src = !syn_ack;
  e.flags = (initiator_is_src == src_is_lo) ? kInitiatorIsLo : 0;
  e.icmp_type = initiator_is_src ? p.icmp_type : 0;
  e.icmp_code = initiator_is_src ? p.icmp_code : 0;
  e.input_index = input_index;
  e.wheel_slot = kNoSlot;
  e.wheel_prev = e.wheel_next = kNil;
  e.stats.reset(ts_ns);
  wheel_link(idx, due(e));
}

// ---- per packet -------------------------------------------------------------

void FlowTable::account(const ParsedPacket& p, uint32_t wire_len, uint64_t ts_ns, uint32_t input_index,
                        RecordSink& sink) {
  bool src_is_lo = false;
  const FlowKey key = make_flow_key(p, src_is_lo);
  if (!wheel_started_) {
    wheel_tick_ = ts_ns / cfg_.wheel_tick_ns - 1;
    wheel_started_ = true;
  }
  int32_t pos = rte_hash_lookup(index_, &key);
  if (pos < 0) {
    pos = insert(key, sink);
    if (pos < 0) return;
    start_flow(static_cast<uint32_t>(pos), p, src_is_lo, input_index, ts_ns);
  }
  const uint32_t idx = static_cast<uint32_t>(pos);
  Entry* e = &entries_[idx];
  const bool is_tcp = p.proto == kProtoTcp && p.has_l4;
  const uint8_t flags = is_tcp ? p.tcp_flags : 0;

  if ((e->flags & kClosed) && (flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn) {
    // A new connection on a 5-tuple still lingering after close (port
    // reuse): finish the old flow now rather than merge the two.
    emit(idx, EndReason::kTcpClose, sink);
    ++counters_.expired_tcp_close;
    ++counters_.tcp_port_reuse;
    wheel_unlink(idx);
    start_flow(idx, p, src_is_lo, input_index, ts_ns);
  } else if (e->flags & kEmpty) {
    e->flags &= static_cast<uint8_t>(~kEmpty);
    e->stats.reset(ts_ns);
  }

  const bool from_lo = src_is_lo;
  PacketObservation obs;
  obs.ts_ns = ts_ns;
  obs.wire_len = wire_len;
  obs.ip_len = p.ip_len;
  obs.payload_len = p.payload_len;
  obs.tcp_window = p.tcp_window;
  obs.tcp_flags = flags;
  obs.is_tcp = is_tcp;
  obs.forward = from_lo == static_cast<bool>(e->flags & kInitiatorIsLo);
  e->stats.add(obs, first_slots(idx), feature_cfg_);
  e->flags |= from_lo ? kSeenLo : kSeenHi;

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

// ---- expiry -----------------------------------------------------------------

void FlowTable::expire(uint64_t now_ns, RecordSink& sink) {
  if (!wheel_started_) return;
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
      e.wheel_slot = kNoSlot;
      e.wheel_prev = e.wheel_next = kNil;
      // Expire by tick, not by nanosecond: a flow filed in an earlier slot
      // whose deadline moved into the current, unfinished tick waits for
      // that tick like every other flow due in it.
      const uint64_t d = due(e);
      if (d / cfg_.wheel_tick_ns > target) {
        wheel_link(idx, d);
      } else if (e.flags & kClosed) {
        emit(idx, EndReason::kTcpClose, sink);
        ++counters_.expired_tcp_close;
        remove(idx);
      } else if (e.flags & kEmpty) {
        remove(idx);  // checkpointed flow that never spoke again: nothing to report
      } else if (now_ns >= e.stats.last_ts_ns + cfg_.idle_timeout_ns) {
        emit(idx, EndReason::kIdleTimeout, sink);
        ++counters_.expired_idle;
        remove(idx);
      } else {
        // Active timeout: report what the flow did so far, keep tracking it.
        emit(idx, EndReason::kActiveTimeout, sink);
        ++counters_.expired_active;
        const uint64_t last = e.stats.last_ts_ns;
        std::memset(&e.stats, 0, sizeof e.stats);
        e.stats.first_ts_ns = e.stats.last_ts_ns = last;
        e.flags |= kEmpty;
        wheel_link(idx, due(e));
      }
      idx = next;
    }
  }
}

void FlowTable::flush(EndReason reason, RecordSink& sink) {
  for (uint32_t slot = 0; slot < cfg_.wheel_slots; ++slot) {
    while (wheel_[slot] != kNil) {
      const uint32_t idx = wheel_[slot];
      if (!(entries_[idx].flags & kEmpty)) {
        emit(idx, reason, sink);
        ++counters_.flushed;
      }
      remove(idx);
    }
  }
  wheel_started_ = false;  // the next input may run on another clock (another capture file)
}

}  // namespace flowscore
