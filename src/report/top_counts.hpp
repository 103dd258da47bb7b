// The largest counts in a stream with too many keys to keep (hosts, host
// pairs of a week of traffic), in bounded memory, for several measures of a
// key at once (a host's flows, bytes and alerts: one lookup per record).
//
// Up to (measures + 1) x capacity keys are counted exactly; when the table fills, a key
// stays if it is among the capacity largest by any measure, the rest are
// forgotten, and the largest value forgotten per measure is remembered (a
// "lossy counting" prune). So while no key was ever forgotten every count is
// exact (exact()), and after that a listed count can be low by at most
// error_bound(m): a key forgotten and seen again counts from 0.
//
// The table is megabytes, so the slot of a new key is a cache miss. add()
// therefore only hashes the key, prefetches its slot and queues it; the add
// is applied kLookahead adds later, in the order given, when the line has
// long arrived. Readers apply what is queued first: the counts are the same
// as if every add had been applied at once.
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace flowscore::report {

template <size_t kMeasures>
class TopCounts {
 public:
  using Amounts = std::array<uint64_t, kMeasures>;
  struct Row {
    std::string key;
    uint64_t count;
    std::string note;
  };

  // At most `capacity` keys beat a measure's floor, so a prune leaves at most
  // kMeasures x capacity keys and the next one is capacity inserts away. The
  // table is open addressing at most half full: no allocation per key (an
  // IPv4 address fits std::string's inline buffer).
  explicit TopCounts(size_t capacity)
      : capacity_(capacity), limit_((kMeasures + 1) * capacity), slots_(std::bit_ceil(2 * limit_)) {}

  void add(std::string_view key, const Amounts& amounts, std::string_view note = {}) {
    Pending& p = pending_[(first_pending_ + pending_count_) % kLookahead];
    p.hash = std::hash<std::string_view>{}(key) | 1;  // 0 marks an empty slot
    p.key.assign(key);  // the caller's key may not outlive this call
    p.amounts = amounts;
    p.note.assign(note);
    const Slot* home = &slots_[p.hash & (slots_.size() - 1)];
    __builtin_prefetch(home);
    __builtin_prefetch(reinterpret_cast<const char*>(home + 1) - 1);  // a slot can straddle two lines
    if (++pending_count_ == kLookahead) apply_oldest();
  }

  // The n largest by measure m (zeros left out), largest first; ties by key.
  std::vector<Row> top(size_t m, size_t n) {
    apply_pending();
    std::vector<Row> all;
    for (const Slot& s : slots_)
      if (s.hash != 0 && s.counts[m] != 0) all.push_back({s.key, s.counts[m], s.note});
    const size_t k = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const Row& a, const Row& b) {
      return a.count != b.count ? a.count > b.count : a.key < b.key;
    });
    all.resize(k);
    return all;
  }

  bool exact(size_t m) { return error_bound(m) == 0; }
  uint64_t error_bound(size_t m) {
    apply_pending();
    return error_bound_[m];
  }

 private:
  // Adds in flight: far enough ahead that the prefetch has landed, few
  // enough that the queue stays in L1.
  static constexpr size_t kLookahead = 8;
  struct Pending {
    uint64_t hash = 0;
    std::string key, note;  // reused: no allocation once they have grown
    Amounts amounts{};
  };

  void apply_pending() {
    while (pending_count_ > 0) apply_oldest();
  }

  void apply_oldest() {
    const Pending& p = pending_[first_pending_];
    first_pending_ = (first_pending_ + 1) % kLookahead;
    --pending_count_;
    Slot* slot = find(p.hash, p.key);
    if (slot->hash == 0) {
      if (used_ >= limit_) {
        prune();
        slot = find(p.hash, p.key);
      }
      slot->hash = p.hash;
      slot->key.assign(p.key);
      ++used_;
    }
    for (size_t m = 0; m < kMeasures; ++m) slot->counts[m] += p.amounts[m];
    if (!p.note.empty()) slot->note.assign(p.note);
  }

  struct Slot {
    uint64_t hash = 0;
    Amounts counts{};
    std::string key, note;
  };

  // The key's slot, or the empty slot where it would go (linear probing).
  Slot* find(uint64_t hash, std::string_view key) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.hash == 0 || (s.hash == hash && s.key == key)) return &s;
    }
  }

  void prune() {
    // Per measure, the value a key must beat to be among the capacity largest.
    Amounts floor{};
    std::vector<uint64_t> values;
    values.reserve(used_);
    for (size_t m = 0; m < kMeasures; ++m) {
      values.clear();
      for (const Slot& s : slots_)
        if (s.hash != 0) values.push_back(s.counts[m]);
      std::nth_element(values.begin(), values.begin() + capacity_, values.end(), std::greater<>());
      floor[m] = values[capacity_];
    }
    std::vector<Slot> kept(slots_.size());
    kept.swap(slots_);
    used_ = 0;
    for (Slot& s : kept) {
      if (s.hash == 0) continue;
      bool keep = false;
      for (size_t m = 0; m < kMeasures; ++m) keep |= s.counts[m] > floor[m];
      if (!keep) {
        for (size_t m = 0; m < kMeasures; ++m) error_bound_[m] = std::max(error_bound_[m], s.counts[m]);
        continue;
      }
      *find(s.hash, s.key) = std::move(s);
      ++used_;
    }
  }

  size_t capacity_, limit_;
  size_t used_ = 0;
  Amounts error_bound_{};
  std::vector<Slot> slots_;
  std::array<Pending, kLookahead> pending_;
  size_t first_pending_ = 0, pending_count_ = 0;
};

}  // namespace flowscore::report
