// Per-worker flow table: canonical 5-tuple -> flow state, with lifecycle.
//
// One table per worker lcore; nothing in it is shared, so nothing is locked.
// Memory is fixed at creation (capacity from config): the hash index is DPDK's
// rte_hash (cuckoo, extendable buckets so it holds exactly `capacity` keys),
// and its key positions index a flat array of FlowEntry. Expiry is a timer
// wheel checked once per burst; packets only touch their own entry.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowscore/app_proto.hpp"
#include "flowscore/features.hpp"
#include "flowscore/flow_key.hpp"
#include "flowscore/flow_record.hpp"
#include "flowscore/packet.hpp"
#include "flowscore/pair_activity.hpp"
#include "flowscore/prefault.hpp"

struct rte_hash;

namespace flowscore {

struct FlowTableConfig {
  // Max concurrent flows per worker, held exactly. 2^k - 1 rather than 2^k:
  // rte_hash keeps capacity + 1 key slots and a free-slot ring of the next
  // power of two, so 2^k costs a ring twice as big (4 B more per flow).
  uint32_t capacity = (1 << 20) - 1;
  // Slots of the pair_flows store (pair_activity.hpp); 0 = capacity / 2.
  // A table fitted to a small capture keeps the configured store, so the
  // pair_flows feature is the same as with the configured table.
  uint32_t pair_slots = 0;
  uint64_t idle_timeout_ns = 60'000'000'000;
  uint64_t active_timeout_ns = 1800'000'000'000;
  uint64_t tcp_linger_ns = 2'000'000'000;    // after FIN+FIN or RST, keep the flow this long
  uint64_t wheel_tick_ns = 100'000'000;      // expiry resolution
  uint32_t wheel_slots = 4096;               // power of two
  uint16_t worker_id = 0;
  int socket_id = -1;                        // NUMA socket for the memory (SOCKET_ID_ANY = -1)
  // Map the flow arrays from the hugetlb pool when it has room (else
  // anonymous memory with transparent huge pages). Set when DPDK itself
  // runs on hugepages; see map_flow_array() in flow_table.cpp for why.
  bool hugetlb_arrays = false;
  // flow.vlan_tracking (Suricata's vlan.use-for-tracking): a flow's VLAN IDs
  // are part of its key, so the same 5-tuple on two VLANs is two flows.
  bool vlan_in_key = false;
};

// Where finished flows go. reserve() may return nullptr when the consumer is
// full; the table then counts the record as dropped (it is never silently lost).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual FlowRecord* reserve() = 0;
  virtual void commit(FlowRecord* r) = 0;
};

// Memory one table holds, measured when it is created (not a formula):
// DPDK heap bytes rte_hash_create took (key store, buckets, extendable
// buckets, free-slot rings, with the allocator's own headers), and the
// page-rounded size of the two arrays the table maps itself.
struct FlowTableMemory {
  size_t index_bytes = 0;         // rte_hash, from the DPDK heap
  size_t entry_bytes = 0;         // flow entries (mmap)
  size_t first_packet_bytes = 0;  // first-N packet slots (mmap)
  size_t pair_bytes = 0;          // recent flows per address pair (pair_flows)
  size_t vlan_bytes = 0;          // VLAN IDs of flows that have them (mmap, touched only by those)
  size_t app_proto_bytes = 0;     // flow.app_proto: detection state per entry (mmap) and nDPI's pool
  size_t total() const {
    return index_bytes + entry_bytes + first_packet_bytes + pair_bytes + vlan_bytes + app_proto_bytes;
  }
};

struct FlowTableCounters {
  uint64_t flows_created = 0;
  uint64_t records_emitted = 0;
  uint64_t records_dropped = 0;   // sink had no room (live mode only)
  uint64_t expired_idle = 0;
  uint64_t expired_active = 0;
  uint64_t expired_tcp_close = 0;
  uint64_t evicted_pressure = 0;
  uint64_t flushed = 0;
  uint64_t tcp_port_reuse = 0;    // SYN on a closed flow: old record emitted, new flow started
  uint64_t insert_failed = 0;     // rte_hash refused a key even after eviction (should stay 0)
};

class FlowTable {
 public:
  // Returns nullptr and sets `error` when memory cannot be had. With an
  // `app_proto` detector (flow.app_proto), packets that come with their
  // bytes (PacketRef::frame) are shown to it until it has named their flow's
  // protocol, and records carry the name's code (FlowRecord::app_proto).
  static std::unique_ptr<FlowTable> create(const FlowTableConfig& cfg, const FeatureConfig& features,
                                           std::string& error,
                                           std::unique_ptr<AppProtoDetector> app_proto = nullptr);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // One packet of a burst, parsed.
  struct PacketRef {
    const ParsedPacket* packet;
    uint32_t wire_len;
    uint64_t ts_ns;
    const uint8_t* frame = nullptr;  // the frame's bytes, for app_proto detection; null: not shown
    uint32_t captured = 0;           // bytes present at `frame`
  };
  static constexpr unsigned kMaxBurst = 64;  // RTE_HASH_LOOKUP_BULK_MAX

  // Accounts a burst of packets to their flows (creating new ones), looking
  // the whole burst up at once so rte_hash can prefetch. `input_index` names
  // the capture file or port the burst came from.
  void account_burst(std::span<const PacketRef> burst, uint32_t input_index, RecordSink& sink);
  // Same, for one packet.
  void account(const ParsedPacket& p, uint32_t wire_len, uint64_t ts_ns, uint32_t input_index,
               RecordSink& sink);
  // Emits every flow whose deadline has passed by `now_ns`. Call once per burst.
  void expire(uint64_t now_ns, RecordSink& sink);
  // Emits every flow (end of input, shutdown).
  void flush(EndReason reason, RecordSink& sink);

  size_t size() const { return live_; }
  size_t capacity() const { return cfg_.capacity; }
  int socket_id() const { return cfg_.socket_id; }
  const FlowTableCounters& counters() const { return counters_; }
  // Address pairs forgotten for room: their pair_flows restarted.
  uint64_t pair_evictions() const { return pairs_.evictions(); }
  const FlowTableMemory& memory() const { return memory_; }
  // flow.app_proto's counters; null when it is off.
  const AppProtoCounters* app_proto_counters() const { return app_proto_ ? &app_proto_->counters() : nullptr; }
  // memory().total() / capacity, rounded up: what each flow the table can
  // hold costs, whether or not it is in use.
  size_t bytes_per_flow() const;
  // The arrays whose pages are faulted in on first touch (flow entries and
  // first-N slots, `capacity()` elements each), for a Prefaulter, and how
  // many positions from the front flows have used so far (updated by the
  // owning worker, read by the prefaulting thread).
  std::vector<MemoryRange> lazily_mapped() const;
  const std::atomic<uint32_t>& positions_used() const { return positions_used_; }

  static constexpr uint32_t kNil = UINT32_MAX;

 private:
  struct Entry;
  enum class Ending : uint8_t { kNotYet, kTcpClose, kIdleTimeout, kActiveTimeout, kForget };
  FlowTable(const FlowTableConfig& cfg, const FeatureConfig& features);

  uint64_t quiet_limit(const Entry& e) const;
  uint64_t due(const Entry& e) const;
  Ending ending_at(const Entry& e, uint64_t now_ns) const;
  static bool saturated(const FlowFeatures& f);
  static EndReason reason_for(Ending ending);
  void checkpoint(uint32_t idx, RecordSink& sink);
  uint32_t slot_for(uint64_t due_ns) const;
  void wheel_link(uint32_t idx, uint64_t due_ns);
  void wheel_unlink(uint32_t idx);
  void emit(uint32_t idx, EndReason reason, RecordSink& sink);  // also counts the ending
  void remove(uint32_t idx);
  bool evict_one(RecordSink& sink);
  // Flows a full table looks at before it forces one out (evict_one): one
  // cache miss each, on the path of the packet that needs the room.
  static constexpr uint32_t kEvictCandidates = 8;
  int32_t insert(const FlowKey& key, RecordSink& sink);
  void account_one(const PacketRef& ref, const FlowKey& key, bool src_is_lo, int32_t pos, uint32_t input_index,
                   RecordSink& sink);
  void start_flow(uint32_t idx, const ParsedPacket& p, const FlowKey& key, bool src_is_lo, uint32_t input_index,
                  uint64_t ts_ns);
  std::span<FirstPacketSlot> first_slots(uint32_t idx);
  void inspect_app_proto(uint32_t idx, const PacketRef& ref);

  FlowTableConfig cfg_;
  FeatureConfig feature_cfg_;
  rte_hash* index_ = nullptr;
  Entry* entries_ = nullptr;           // capacity entries, indexed by rte_hash position
  FirstPacketSlot* first_ = nullptr;   // capacity * first_packets
  // The first packet's VLAN IDs per entry, read only when the entry's flags
  // say it has some: the entry's four cache lines are full, and most
  // traffic is untagged, so its pages are never touched.
  VlanIds* vlans_ = nullptr;
  PairActivity pairs_;
  // flow.app_proto: the detector (null when off: the packet path then only
  // tests this pointer) and each entry's detection state, like vlans_ an
  // array of its own, so the entry's cache lines stay as they are.
  std::unique_ptr<AppProtoDetector> app_proto_;
  AppDetection* app_flows_ = nullptr;
  size_t entries_mapped_ = 0, first_mapped_ = 0, vlans_mapped_ = 0, app_mapped_ = 0;  // mapping lengths (hugetlb rounds up)
  std::vector<uint32_t> wheel_;        // slot -> head entry index
  uint64_t wheel_tick_ = 0;            // last fully processed tick
  bool wheel_started_ = false;
  uint64_t now_ns_ = 0;                // latest time seen: the table's clock never runs back
  size_t live_ = 0;
  uint64_t removals_ = 0;              // positions freed: invalidates a burst's bulk lookup
  bool keys_since_reset_ = false;      // a key went into the index since it was last emptied
  std::atomic<uint32_t> positions_used_{0};  // highest position handed out + 1
  FlowTableCounters counters_;
  FlowTableMemory memory_;
};

}  // namespace flowscore
