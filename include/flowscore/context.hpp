// Cross-flow context: what other flows say about a flow's hosts and service
// (docs/FEATURES.md §12). A lone SYN cannot tell whether it belongs to a
// flood, a scan or a reflection; the flows around it can.
//
// The store is sensor-wide: it lives on the main lcore, beside the writer,
// and sees every flow record of every worker as the writer drains it. So
// RSS spreading one host's flows over all workers costs nothing here, the
// packet path never touches it, and it needs no locks or atomics. It is
// updated once per record (a flow's end, or an active-timeout checkpoint),
// never per packet.
//
// Windows: counts are kept for the current epoch (time / window) and the one
// before, like pair_flows; a value covers the last one to two windows. A
// record counts in the epoch of its last packet.
//
// Memory is fixed at construction and never grows. Three tables of one
// 32-byte slot shape (a tally: distinct members, flows, one-sided flows, for
// the current epoch and the one before), each 4-way set-associative:
// - receivers: per address, what it received (distinct sources, flows,
//   one-sided flows);
// - senders: per address, what it sent (distinct destination host:port,
//   flows, one-sided flows);
// - services: per (destination address, protocol, port), what it received;
// - pairs: a count-min sketch (two rows, conservative update) of flows and
//   unanswered SYNs per (source, destination address, protocol, port).
// A record touches one bucket in each table, and each bucket is two cache
// lines: the receive and send sides of one address live apart because no
// record needs both.
// Distinct counts are linear-counting bitmaps of 64 bits per epoch (Whang et
// al. 1990): the window's value is the estimate of the union of two epochs'
// bitmaps, so a source seen in both counts once. Its standard error is
// about 9% at 20 members, 10% at 50 and 12% at 100; it saturates at
// kDistinctSaturated ("at least").
// A full bucket forgets its stalest, lightest entry and counts it
// (forgotten()); a spoofed-source flood therefore evicts only entries staler
// or lighter than the victim's, which it refreshes with every flow.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "flowscore/flow_record.hpp"

namespace flowscore {

struct ContextConfig {
  uint64_t window_ns = 60'000'000'000;  // epoch length; values cover 1-2 epochs
  uint32_t host_slots = 1u << 19;       // per side (receivers, senders), 32 B each
  uint32_t service_slots = 1u << 18;    // 32 B each
  uint32_t pair_cells = 1u << 19;       // per row (two rows) of 12 B cells
};

// The context values a record is judged with. Names are a contract
// (config keys, EVE flowscore.evidence): context_value_name().
enum class ContextValue : uint8_t {
  kDstSources,       // distinct source addresses that sent flows to the destination host
  kDstFlows,         // flows to the destination host
  kDstOneSided,      // of those, one-sided (no reply, only RST, or no payload either way)
  kServiceSources,   // distinct sources to the destination host:port (per protocol)
  kServiceFlows,
  kServiceOneSided,
  kSrcTargets,       // distinct destination host:port the source sent flows to
  kSrcFlows,
  kSrcOneSided,
  kRepeat,           // flows from the source to the destination host:port
  kSynUnanswered,    // of those, TCP SYNs that got no SYN-ACK
  kPairFlows,        // the record's own pair_flows feature (per worker, FEATURES.md §7a)
  kCount,
};
inline constexpr size_t kContextValues = static_cast<size_t>(ContextValue::kCount);
static_assert(kContextValues == Judgement::kMaxEvidence, "FlowRecord's Judgement holds every context value");
inline constexpr std::array<std::string_view, kContextValues> kContextValueNames = {
    "dst_sources", "dst_flows",  "dst_one_sided", "service_sources", "service_flows",   "service_one_sided",
    "src_targets", "src_flows", "src_one_sided",  "repeat",          "syn_unanswered", "pair_flows",
};
inline std::string_view context_value_name(ContextValue v) { return kContextValueNames[static_cast<size_t>(v)]; }
// Parses a name; false when unknown.
bool context_value_from_name(std::string_view name, ContextValue& out);

struct ContextValues {
  std::array<uint32_t, kContextValues> v{};
  uint32_t operator[](ContextValue c) const { return v[static_cast<size_t>(c)]; }
  uint32_t& operator[](ContextValue c) { return v[static_cast<size_t>(c)]; }
};

// What the store needs to know about a record, derived once.
struct FlowTraits {
  bool one_sided = false;       // no packet back, only RST back, or TCP without payload either way
  bool syn_unanswered = false;  // the initiator sent a SYN, the responder none
  bool reflection_like = false; // the flow opens with replies (SYN-ACK, UDP from a reflector port)
  // The flow table names the SYN sender as initiator when a SYN-ACK opens a
  // flow; when no SYN was ever seen that SYN-ACK came from a reflector, and
  // the "initiator" is its victim. The context counts such a flow in the
  // direction its packets went: from `sender` to `receiver`.
  const Endpoint* sender = nullptr;
  const Endpoint* receiver = nullptr;
};
FlowTraits flow_traits(const FlowRecord& r);
// Packets the flow's sender sent (a reflected SYN-ACK's: the reflector's).
inline uint64_t sender_packets(const FlowRecord& r, const FlowTraits& t) {
  return t.sender == &r.dst ? r.stats.pkts_bwd : r.stats.pkts_fwd;
}

class ContextStore {
 public:
  static constexpr uint32_t kDistinctSaturated = 266;  // 64 ln 64: every bit of a bitmap set

  explicit ContextStore(const ContextConfig& cfg);

  // Counts one record and returns the window's values for it (the record
  // included). `scope` separates worlds that must not share counts: offline,
  // each capture file (its own clock and hosts); live, 0.
  ContextValues observe(const FlowRecord& r, const FlowTraits& t, uint32_t scope) {
    return observe(r, t, key_of(r, t, scope));
  }

  // Where a record's counts live: the 64-bit tags of its sender, receiver,
  // service and pair (scope included). Computed once, for prefetch() and
  // observe() alike.
  struct Key {
    uint64_t src, dst, service, pair;
  };
  static Key key_of(const FlowRecord& r, const FlowTraits& t, uint32_t scope);
  ContextValues observe(const FlowRecord& r, const FlowTraits& t, const Key& k);
  // Starts loading what observe() will touch (the three tables' buckets,
  // the pair's cells).
  void prefetch(const Key& k) const;

  // One record of a batch: what observe() needs, and what it found.
  struct Observation {
    const FlowRecord* record = nullptr;
    FlowTraits traits;
    Key key;
    ContextValues values;
  };
  // Counts a batch in order, as observe() would one by one (same values),
  // with each record's buckets requested kBatchAhead records before it is
  // counted: at a million hosts every bucket is a cache miss, and this keeps
  // several records' misses in flight at once.
  void observe(std::span<Observation> batch);
  static constexpr size_t kBatchAhead = 8;

  uint64_t forgotten() const { return forgotten_; }
  uint64_t late() const { return late_; }  // records older than their entry's window, not counted
  size_t bytes() const;

 private:
  // A member's and its flows' counts over the window, for one receiver,
  // sender or service. 32 B: two per cache line.
  struct Tally {
    uint32_t check;          // the tag's high half (never 0); 0: empty
    uint32_t epoch;
    uint64_t bits[2];        // [0] current epoch, [1] previous: distinct members
    uint16_t flows[2], one_sided[2];
  };
  static_assert(sizeof(Tally) == 32);
  struct PairCell {
    uint32_t epoch;
    uint16_t flows[2], syn[2];
  };
  static_assert(sizeof(PairCell) == 12);
  static constexpr uint32_t kWays = 4;  // a bucket: two cache lines

  // Zeroed anonymous memory with transparent huge pages: the kernel hands
  // out zero pages as they are first touched (no up-front memset of tens of
  // MiB), and 2 MiB pages keep the random lookups off the TLB's misses.
  struct Unmap {
    size_t bytes;
    void operator()(void* p) const;
  };
  template <typename T>
  using Mapped = std::unique_ptr<T[], Unmap>;
  template <typename T>
  static Mapped<T> map_zeroed(size_t count);

  // A set-associative table of tallies; every slot is valid all-zero.
  class TallyTable {
   public:
    explicit TallyTable(uint32_t slots);
    void prefetch(uint64_t tag) const;
    // The entry for `tag`, claimed when new (counted in `forgotten` when
    // that gives up an entry still in its window).
    Tally& claim(uint64_t tag, uint32_t epoch, uint64_t& forgotten);
    size_t bytes() const { return size_t{mask_ + 1} * kWays * sizeof(Tally); }

   private:
    Tally* bucket(uint64_t tag) const { return &slots_[size_t{static_cast<uint32_t>(tag) & mask_} * kWays]; }
    uint32_t mask_;  // buckets - 1
    Mapped<Tally> slots_;
  };

  // The window's counts of one tally after counting one record in it.
  struct Window {
    uint32_t distinct, flows, one_sided;
    bool counted;  // false: the record was older than the entry's window
  };
  Window count(TallyTable& table, uint64_t tag, uint64_t member, uint32_t epoch, bool one_sided);
  static int advance(Tally& s, uint32_t epoch);  // the counter index the epoch counts in, or -1 (too old)
  static int advance_cell(PairCell& c, uint32_t epoch);
  std::array<PairCell*, 2> cells_of(uint64_t pair) const;

  uint64_t window_ns_;
  TallyTable receivers_, senders_, services_;
  uint32_t cell_mask_;      // cells per row - 1
  Mapped<PairCell> cells_;  // two rows
  uint64_t forgotten_ = 0;
  uint64_t late_ = 0;
};

// Linear counting: the distinct members behind a 64-bit bitmap.
uint32_t distinct_estimate(uint64_t bits);

}  // namespace flowscore
