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
// Keys and counts are kept in a dense array of entries, found through a hash
// index of 8-byte slots: a prune reads the entries once, moves the kept ones
// to the front and rebuilds the small index (it used to rehash them into a
// second table of 64-byte slots, 4 MiB to read and write for 3 measures;
// prunes were half of the top lists' time on the benchmark's EVE file). The
// index slot of a new key is still a cache miss, so add() only hashes the
// key, prefetches its slot and queues it; the add is applied kLookahead adds
// later, in the order given, when the line has long arrived. Readers apply
// what is queued first: the counts are the same as if every add had been
// applied at once.
//
// Memory: (kMeasures + 1) x capacity 64-byte entries (1 MiB for 3 measures
// at 4,096), an index of twice as many 8-byte slots rounded up to a power of
// two (256 KiB), and for the pair list a note per entry.
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
  // An empty view may hold a null pointer, which memcmp must not be given.
  return n == 0 || std::memcmp(a.data(), b.data(), n) == 0;
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
  // kMeasures x capacity keys and the next one is capacity inserts away.
  // Everything is allocated here: no allocation per key (an IPv4 address
  // fits std::string's inline buffer; a longer key reuses a forgotten one's).
  explicit TopCounts(size_t capacity)
      : capacity_(capacity),
        limit_((kMeasures + 1) * capacity),
        entries_(limit_),
        index_(std::bit_ceil(2 * limit_)) {}

  void add(std::string_view key, const Amounts& amounts, std::string_view note = {}) {
    Pending& p = pending_[(first_pending_ + pending_count_) % kLookahead];
    p.hash = key_hash(key);
    p.set_key(key);  // the caller's key may not outlive this call
    p.amounts = amounts;
    if (note.empty())
      p.note.clear();  // inline, where assign() is a call: only the pair list has notes
    else
      p.note.assign(note);
    __builtin_prefetch(&index_[p.hash & (index_.size() - 1)]);
    ++pending_count_;
    // (While the queue fills, that is an add applied already: a useless hint.)
    prefetch_entry_of(pending_[(first_pending_ + pending_count_ - 1 + kLookahead - kLookahead / 2) % kLookahead]);
    if (pending_count_ == kLookahead) apply_oldest();
  }

  // The n largest by measure m (zeros left out), largest first; ties by key.
  std::vector<Row> top(size_t m, size_t n) {
    apply_pending();
    std::vector<Row> all;
    for (size_t i = 0; i < used_; ++i) {
      const Entry& e = entries_[i];
      if (e.counts[m] != 0) all.push_back({e.key, e.counts[m], notes_.empty() ? "" : notes_[i]});
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
        if (!key.empty()) std::memcpy(short_key, key.data(), key.size());  // an empty view's data() may be null
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
  // A counted key. One cache line for a host's three counts and its key;
  // notes (only the host-pair list has them) live in notes_, beside.
  struct alignas(64) Entry {
    uint64_t hash = 0;
    Amounts counts{};
    std::string key;
  };
  // The hash index over entries_: a slot names an entry and carries its
  // hash's high half, so a probe reads the entry only when that matches.
  struct IndexSlot {
    uint32_t tag = 0;
    uint32_t entry = 0;  // index in entries_ + 1; 0: the slot is empty
  };
  using Entries = std::vector<Entry, HugePageAllocator<Entry>>;

  // The second step of a queued add, half the queue after the first: its
  // index slot has arrived, so the entry it names is prefetched too.
  void prefetch_entry_of(const Pending& p) const {
    const IndexSlot s = index_[p.hash & (index_.size() - 1)];
    if (s.entry != 0) __builtin_prefetch(&entries_[s.entry - 1]);
  }

  void apply_pending() {
    while (pending_count_ > 0) apply_oldest();
  }

  void apply_oldest() {
    const Pending& p = pending_[first_pending_];
    first_pending_ = (first_pending_ + 1) % kLookahead;
    --pending_count_;
    const std::string_view key = p.key();
    size_t at = find(p.hash, key);
    if (index_[at].entry == 0) {
      if (used_ >= limit_) {
        prune();
        at = find(p.hash, key);
      }
      Entry& e = entries_[used_];
      e.hash = p.hash;
      e.counts = {};
      e.key.assign(key);
      if (!notes_.empty()) notes_[used_].clear();  // a forgotten key's, left behind by prune()
      index_[at] = {tag(p.hash), static_cast<uint32_t>(++used_)};
    }
    const size_t i = index_[at].entry - 1;
    Entry& e = entries_[i];
    for (size_t m = 0; m < kMeasures; ++m) e.counts[m] += p.amounts[m];
    if (!p.note.empty()) {
      if (notes_.empty()) notes_.resize(limit_);
      notes_[i].assign(p.note);
    }
  }

  static uint32_t tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  // The index slot of the key's entry, or the empty slot where it would go
  // (linear probing; the slot comes from the hash's low bits, the tag from
  // its high half).
  size_t find(uint64_t hash, std::string_view key) const {
    const size_t mask = index_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const IndexSlot s = index_[i];
      if (s.entry == 0) return i;
      if (s.tag == tag(hash)) {
        const Entry& e = entries_[s.entry - 1];
        if (e.hash == hash && same_key(e.key, key)) return i;
      }
    }
  }

  // The (capacity_ + 1)-th largest count of measure m among the entries
  // (there are more than capacity_). Counts of flows and alerts are mostly
  // small: those are tallied per value, and only the larger ones, if there
  // are enough of them to hold the answer, go through nth_element.
  uint64_t floor_of(size_t m) {
    constexpr uint64_t kTallied = 64;
    std::array<size_t, kTallied> tally{};
    selection_.resize(used_);
    size_t large = 0;
    for (size_t i = 0; i < used_; ++i) {
      const uint64_t v = entries_[i].counts[m];
      if (v < kTallied)
        ++tally[v];
      else
        selection_[large++] = v;
    }
    if (large > capacity_) {
      std::nth_element(selection_.begin(), selection_.begin() + capacity_, selection_.begin() + large, std::greater<>());
      return selection_[capacity_];
    }
    size_t at_least = large;  // counts >= v, for v from the top of the tally down
    for (uint64_t v = kTallied - 1;; --v) {
      at_least += tally[v];
      if (at_least > capacity_) return v;
    }
  }

  void prune() {
    // Per measure, the value a key must beat to be among the capacity largest.
    Amounts floor{};
    for (size_t m = 0; m < kMeasures; ++m) floor[m] = floor_of(m);
    // Kept entries move to the front, in order; a forgotten one's key (and
    // note) is swapped to the back, where its buffer serves a later key.
    size_t kept = 0;
    for (size_t i = 0; i < used_; ++i) {
      Entry& e = entries_[i];
      bool keep = false;
      for (size_t m = 0; m < kMeasures; ++m) keep |= e.counts[m] > floor[m];
      if (!keep) {
        for (size_t m = 0; m < kMeasures; ++m) error_bound_[m] = std::max(error_bound_[m], e.counts[m]);
        continue;
      }
      if (kept != i) {
        Entry& to = entries_[kept];
        to.hash = e.hash;
        to.counts = e.counts;
        to.key.swap(e.key);
        if (!notes_.empty()) notes_[kept].swap(notes_[i]);
      }
      ++kept;
    }
    used_ = kept;
    // The index is a quarter of the entries' size: rebuilt, not edited.
    std::fill(index_.begin(), index_.end(), IndexSlot{});
    for (size_t i = 0; i < used_; ++i) index_[find(entries_[i].hash, entries_[i].key)] = {tag(entries_[i].hash), static_cast<uint32_t>(i + 1)};
  }

  size_t capacity_, limit_;
  size_t used_ = 0;  // entries_[0, used_) are counted keys
  Amounts error_bound_{};
  Entries entries_;
  std::vector<IndexSlot> index_;
  std::vector<std::string> notes_;  // per entry; empty until a key has a note
  std::vector<uint64_t> selection_;  // floor_of's scratch
  std::array<Pending, kLookahead> pending_;
  size_t first_pending_ = 0, pending_count_ = 0;
};

}  // namespace flowscore::report
