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
//
// Memory: a table of 2 x (kMeasures + 1) x capacity 64-byte slots (rounded
// up to a power of two), 2 MiB for 3 measures at 4,096; once the first prune
// has happened, a second one, the spare the next prune refills.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace flowscore::report {

// Memory for tables probed at random: 2 MiB-aligned and offered to the
// kernel for transparent huge pages (madvise mode, Debian's default), so a
// probe does not also miss the TLB: a tenth of the report's CPU time on the
// benchmark's EVE file (docs/BENCHMARKS.md).
template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it the table works the same
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

// a == b for keys as short as hosts are (an IPv4 address is 7 to 15
// bytes): two overlapping loads a side instead of a call to memcmp.
inline bool same_key(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  auto load = [](const char* p, auto word) {
    std::memcpy(&word, p, sizeof word);
    return word;
  };
  if (n >= 8 && n <= 16)
    return load(a.data(), uint64_t{}) == load(b.data(), uint64_t{}) &&
           load(a.data() + n - 8, uint64_t{}) == load(b.data() + n - 8, uint64_t{});
  if (n >= 4 && n < 8)
    return load(a.data(), uint32_t{}) == load(b.data(), uint32_t{}) &&
           load(a.data() + n - 4, uint32_t{}) == load(b.data() + n - 4, uint32_t{});
  return std::memcmp(a.data(), b.data(), n) == 0;
}

// A key's hash. Keys as short as hosts are hashed inline from the same two
// overlapping loads as same_key, folded by a 128-bit multiply (wyhash's
// "mum"); std::hash, a call into libstdc++ (murmur over every byte), was a
// tenth of a top-list add. Others go to std::hash.
inline uint64_t key_hash(std::string_view key) {
  const size_t n = key.size();
  uint64_t a = 0, b = 0;
  if (n >= 8 && n <= 16) {
    std::memcpy(&a, key.data(), 8);
    std::memcpy(&b, key.data() + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a32, b32;
    std::memcpy(&a32, key.data(), 4);
    std::memcpy(&b32, key.data() + n - 4, 4);
    a = a32;
    b = b32;
  } else {
    return std::hash<std::string_view>{}(key);
  }
  // The constants have a byte of 0x80 or more, so neither factor is 0 for text.
  const unsigned __int128 product =
      static_cast<unsigned __int128>(a ^ 0x9e3779b97f4a7c15) * (b ^ 0xc2b2ae3d27d4eb4f ^ n);
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

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
      : capacity_(capacity),
        limit_((kMeasures + 1) * capacity),
        slots_(std::bit_ceil(2 * limit_)) {}

  void add(std::string_view key, const Amounts& amounts, std::string_view note = {}) {
    Pending& p = pending_[(first_pending_ + pending_count_) % kLookahead];
    p.hash = key_hash(key) | 1;  // 0 marks an empty slot
    p.set_key(key);  // the caller's key may not outlive this call
    p.amounts = amounts;
    if (note.empty())
      p.note.clear();  // inline, where assign() is a call: only the pair list has notes
    else
      p.note.assign(note);
    __builtin_prefetch(&slots_[p.hash & (slots_.size() - 1)]);
    if (++pending_count_ == kLookahead) apply_oldest();
  }

  // The n largest by measure m (zeros left out), largest first; ties by key.
  std::vector<Row> top(size_t m, size_t n) {
    apply_pending();
    std::vector<Row> all;
    for (size_t i = 0; i < slots_.size(); ++i) {
      const Slot& s = slots_[i];
      if (s.hash != 0 && s.counts[m] != 0) all.push_back({s.key, s.counts[m], notes_.empty() ? "" : notes_[i]});
    }
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
    Amounts amounts{};
    std::string note;  // reused: no allocation once it has grown

    // A host's key is copied into the entry inline (std::string's assign is
    // a call); a longer one into long_key.
    void set_key(std::string_view key) {
      key_length = key.size();
      if (key.size() <= sizeof short_key) {
        std::memcpy(short_key, key.data(), key.size());
      } else {
        long_key.assign(key);
      }
    }
    std::string_view key() const {
      return key_length <= sizeof short_key ? std::string_view(short_key, key_length) : std::string_view(long_key);
    }

   private:
    size_t key_length = 0;
    char short_key[48];  // an IPv6 address, even IPv4-mapped, is at most 45 bytes
    std::string long_key;
  };
  // One cache line for a host's three counts: a probe touches one line.
  // Notes (only the host-pair list has them) live in notes_, beside.
  struct alignas(64) Slot {
    uint64_t hash = 0;
    Amounts counts{};
    std::string key;
  };
  using Table = std::vector<Slot, HugePageAllocator<Slot>>;

  void apply_pending() {
    while (pending_count_ > 0) apply_oldest();
  }

  void apply_oldest() {
    const Pending& p = pending_[first_pending_];
    first_pending_ = (first_pending_ + 1) % kLookahead;
    --pending_count_;
    const std::string_view key = p.key();
    size_t at = find(slots_, p.hash, key);
    if (slots_[at].hash == 0) {
      if (used_ >= limit_) {
        prune();
        at = find(slots_, p.hash, key);
      }
      slots_[at].hash = p.hash;
      slots_[at].key.assign(key);
      ++used_;
    }
    Slot& slot = slots_[at];
    for (size_t m = 0; m < kMeasures; ++m) slot.counts[m] += p.amounts[m];
    if (!p.note.empty()) {
      if (notes_.empty()) notes_.resize(slots_.size());
      notes_[at].assign(p.note);
    }
  }

  // The index of the key's slot in table, or of the empty slot where it
  // would go (linear probing).
  static size_t find(const Table& table, uint64_t hash, std::string_view key) {
    const size_t mask = table.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = table[i];
      if (s.hash == 0 || (s.hash == hash && same_key(s.key, key))) return i;
    }
  }

  void prune() {
    // Per measure, the value a key must beat to be among the capacity largest.
    std::array<std::vector<uint64_t>, kMeasures> values;
    for (auto& v : values) v.reserve(used_);
    for (const Slot& s : slots_)
      if (s.hash != 0)
        for (size_t m = 0; m < kMeasures; ++m) values[m].push_back(s.counts[m]);
    Amounts floor{};
    for (size_t m = 0; m < kMeasures; ++m) {
      std::nth_element(values[m].begin(), values[m].begin() + capacity_, values[m].end(), std::greater<>());
      floor[m] = values[m][capacity_];
    }
    // Kept keys move to the spare table (all empty); every slot left behind
    // is marked empty, so after the swap the spare is ready for next time.
    // A kept key's new slot is a cache miss too: prefetched a few keys ahead.
    if (spare_.empty()) spare_.resize(slots_.size());  // made at the first prune: most reports never prune
    std::vector<std::string> kept_notes(notes_.empty() ? 0 : slots_.size());
    const size_t mask = spare_.size() - 1;
    used_ = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (i + kLookahead < slots_.size() && slots_[i + kLookahead].hash != 0)
        __builtin_prefetch(&spare_[slots_[i + kLookahead].hash & mask], 1);
      Slot& s = slots_[i];
      if (s.hash == 0) continue;
      bool keep = false;
      for (size_t m = 0; m < kMeasures; ++m) keep |= s.counts[m] > floor[m];
      if (keep) {
        const size_t at = find(spare_, s.hash, s.key);
        Slot& to = spare_[at];
        to.hash = s.hash;
        to.counts = s.counts;
        to.key.swap(s.key);
        if (!notes_.empty()) kept_notes[at].swap(notes_[i]);
        ++used_;
      } else {
        for (size_t m = 0; m < kMeasures; ++m) error_bound_[m] = std::max(error_bound_[m], s.counts[m]);
      }
      s.hash = 0;
      s.counts = {};
    }
    slots_.swap(spare_);
    notes_.swap(kept_notes);
  }

  size_t capacity_, limit_;
  size_t used_ = 0;
  Amounts error_bound_{};
  Table slots_, spare_;  // spare_: all empty, the table a prune fills (none before the first)
  std::vector<std::string> notes_;   // per slot; empty until a key has a note
  std::array<Pending, kLookahead> pending_;
  size_t first_pending_ = 0, pending_count_ = 0;
};

}  // namespace flowscore::report
