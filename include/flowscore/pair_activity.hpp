// Recent flows per address pair: the `pair_flows` feature (docs/FEATURES.md §7a).
//
// A lone SYN from a spoofed flood source and a lone SYN from a scanner are
// the same flow; what differs is how many other flows the same two hosts
// began lately (a scanner: hundreds; a spoofed source: one). This counts, per
// unordered address pair, the flows begun in the current epoch (time / window)
// and the one before.
//
// One per worker, beside its flow table: no locks. Under symmetric RSS that
// hashes addresses only, a pair's flows all reach one worker and the count is
// exact; with 5-tuple RSS each worker sees its share.
//
// Fixed memory: a set-associative array of 16-byte slots, four to a cache
// line. A pair is found by a 64-bit hash of its addresses. When a bucket is
// full, the slot with the oldest epoch (then the fewest flows) makes room and
// is counted in evictions(); that pair's count starts again. So a spoofed
// flood can only evict pairs staler or lighter than the ones it brings.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "flowscore/flow_key.hpp"

namespace flowscore {

class PairActivity {
 public:
  // The count a record reports saturates here (it is stored in one byte).
  static constexpr uint32_t kMaxCount = 255;

  // `slots` is rounded up to a power of two (at least one bucket);
  // `window_ns` > 0 is the epoch length.
  PairActivity(uint32_t slots, uint64_t window_ns);

  // A new flow between key's two addresses began at ts_ns: counts it, and
  // returns the flows the pair began in this epoch and the previous one.
  uint8_t begin_flow(const FlowKey& key, uint64_t ts_ns);
  // The same count for a record that continues an older flow (after an
  // active timeout): nothing is counted, and an unknown pair has 0.
  uint8_t recent_flows(const FlowKey& key, uint64_t ts_ns);
  // Forgets every pair (a new capture file runs on another clock). Costs
  // what was used since the last clear: the buckets filled since then, up to
  // kTrackedBuckets of them; past that, the whole store (8 MB at 1M flows).
  void clear();
  static constexpr uint32_t kTrackedBuckets = 4096;

  uint64_t evictions() const { return evictions_; }
  size_t bytes() const { return (size_t{bucket_mask_} + 1) * sizeof(Bucket); }

 private:
  struct Slot {
    uint64_t tag;       // hash of the address pair; 0: empty
    uint32_t epoch;     // latest epoch the pair was seen in
    uint16_t current;   // flows begun in `epoch` (saturating)
    uint16_t previous;  // flows begun in the epoch before it
  };
  static_assert(sizeof(Slot) == 16);
  static constexpr uint32_t kWays = 4;
  struct alignas(64) Bucket {  // one cache line
    Slot way[kWays];
  };

  static uint64_t pair_tag(const FlowKey& key);
  uint32_t epoch_of(uint64_t ts_ns) const { return static_cast<uint32_t>(ts_ns / window_ns_); }
  Bucket& bucket(uint64_t tag) { return buckets_[tag & bucket_mask_]; }
  Slot* claim(Bucket& b, uint64_t tag);
  static void advance(Slot& s, uint32_t epoch);
  static uint8_t count(const Slot& s) {
    const uint32_t n = uint32_t{s.current} + s.previous;
    return static_cast<uint8_t>(n < kMaxCount ? n : kMaxCount);
  }

  uint64_t window_ns_;
  uint32_t bucket_mask_;  // buckets - 1 (a power of two)
  std::unique_ptr<Bucket[]> buckets_;
  uint64_t evictions_ = 0;
  bool dirty_ = false;    // a slot was filled since the last clear()
  // Buckets first filled since the last clear(), while there are at most
  // kTrackedBuckets of them (reserved up front: begin_flow never allocates);
  // all_dirty_ once there were more. A corpus of small captures (issue 17,
  // --pcap-list) clears after every file: this keeps that cost per flow.
  std::vector<uint32_t> filled_;
  bool all_dirty_ = false;
};

}  // namespace flowscore
