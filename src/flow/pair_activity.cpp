// PairActivity: recent flows per address pair (docs/FEATURES.md §7a).
// Runs once per new flow, not per packet.
#include "flowscore/pair_activity.hpp"

#include <rte_hash_crc.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace flowscore {

PairActivity::PairActivity(uint32_t slots, uint64_t window_ns) : window_ns_(window_ns) {
  const uint32_t buckets = std::bit_ceil(std::max<uint32_t>(slots / kWays, 1));
  bucket_mask_ = buckets - 1;
  buckets_ = std::make_unique<Bucket[]>(buckets);  // value-initialised: every tag 0 (empty)
  filled_.reserve(std::min(kTrackedBuckets, buckets));
}

void PairActivity::clear() {
  // Only begin_flow() fills slots: a store it has not touched since the last
  // clear (the worker's final flush, a file without flows) is already empty.
  // Clearing all 8 MB at 1M flows costs about a millisecond, which a corpus
  // of thousands of small files paid once each: a few buckets are cleared
  // one by one instead.
  if (!dirty_) return;
  if (all_dirty_) {
    std::fill_n(buckets_.get(), size_t{bucket_mask_} + 1, Bucket{});
  } else {
    for (uint32_t b : filled_) buckets_[b] = Bucket{};
  }
  filled_.clear();
  all_dirty_ = false;
  dirty_ = false;
}

// The pair is unordered: one-way ICMP keys keep the packet's orientation, so
// addr_lo is not always the lower address.
uint64_t PairActivity::pair_tag(const FlowKey& key) {
  const bool swap = std::memcmp(key.addr_lo.bytes.data(), key.addr_hi.bytes.data(), 16) > 0;
  uint8_t pair[33];
  std::memcpy(pair, (swap ? key.addr_hi : key.addr_lo).bytes.data(), 16);
  std::memcpy(pair + 16, (swap ? key.addr_lo : key.addr_hi).bytes.data(), 16);
  pair[32] = key.ip_version;
  // Two CRC32-C lanes with different seeds make a 64-bit tag: pairs that
  // share one are ~2^-64 apart, and the low bits pick the bucket.
  const uint64_t tag = uint64_t{rte_hash_crc(pair, sizeof pair, 0x9e3779b9)} << 32 |
                       rte_hash_crc(pair, sizeof pair, 0x85ebca6b);
  return tag != 0 ? tag : 1;  // 0 marks an empty slot
}

// Moves a pair's counts forward to `epoch`; an epoch earlier than the pair's
// latest (a reordered or merged capture) counts as the latest.
void PairActivity::advance(Slot& s, uint32_t epoch) {
  if (epoch <= s.epoch) return;
  s.previous = epoch == s.epoch + 1 ? s.current : 0;
  s.current = 0;
  s.epoch = epoch;
}

PairActivity::Slot* PairActivity::claim(Bucket& b, uint64_t tag) {
  Slot* victim = &b.way[0];
  for (Slot& s : b.way) {
    if (s.tag == tag) return &s;
    if (s.tag == 0) {
      victim = &s;
      break;  // a pair is never stored behind an empty slot: nothing is ever removed alone
    }
    // Oldest epoch first, then the fewest flows.
    if (s.epoch < victim->epoch || (s.epoch == victim->epoch && count(s) < count(*victim))) victim = &s;
  }
  if (victim->tag != 0) ++evictions_;
  *victim = Slot{tag, 0, 0, 0};
  return victim;
}

uint8_t PairActivity::begin_flow(const FlowKey& key, uint64_t ts_ns) {
  const uint64_t tag = pair_tag(key);
  Bucket& b = bucket(tag);
  // Slots fill in order and are never emptied alone, so an empty first way
  // means the bucket is first filled now.
  if (b.way[0].tag == 0 && !all_dirty_) {
    if (filled_.size() < filled_.capacity()) filled_.push_back(static_cast<uint32_t>(&b - buckets_.get()));
    else all_dirty_ = true;
  }
  Slot& s = *claim(b, tag);
  dirty_ = true;
  advance(s, epoch_of(ts_ns));
  if (s.current < UINT16_MAX) ++s.current;
  return count(s);
}

uint8_t PairActivity::recent_flows(const FlowKey& key, uint64_t ts_ns) {
  const uint64_t tag = pair_tag(key);
  for (Slot& s : bucket(tag).way) {
    if (s.tag != tag) continue;
    advance(s, epoch_of(ts_ns));
    return count(s);
  }
  return 0;
}

}  // namespace flowscore
