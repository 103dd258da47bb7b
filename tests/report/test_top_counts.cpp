// TopCounts against its twin: the same lossy-counting rule kept in a
// std::map, pruned by sorting. The table, its prefetch queue and its prune
// into a spare table must give the same rows, notes and error bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../../src/report/top_counts.hpp"

namespace flowscore::report {
namespace {

template <size_t kMeasures>
class TopCountsTwin {
 public:
  using Amounts = std::array<uint64_t, kMeasures>;
  explicit TopCountsTwin(size_t capacity) : capacity_(capacity), limit_((kMeasures + 1) * capacity) {}

  void add(const std::string& key, const Amounts& amounts, const std::string& note = {}) {
    if (!counts_.contains(key) && counts_.size() >= limit_) prune();
    Entry& e = counts_[key];
    for (size_t m = 0; m < kMeasures; ++m) e.counts[m] += amounts[m];
    if (!note.empty()) e.note = note;
  }

  std::vector<typename TopCounts<kMeasures>::Row> top(size_t m, size_t n) const {
    std::vector<typename TopCounts<kMeasures>::Row> rows;
    for (const auto& [key, e] : counts_)
      if (e.counts[m] != 0) rows.push_back({key, e.counts[m], e.note});
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.count != b.count ? a.count > b.count : a.key < b.key; });
    rows.resize(std::min(n, rows.size()));
    return rows;
  }
  uint64_t error_bound(size_t m) const { return error_bound_[m]; }

 private:
  struct Entry {
    Amounts counts{};
    std::string note;
  };
  void prune() {
    Amounts floor{};
    for (size_t m = 0; m < kMeasures; ++m) {
      std::vector<uint64_t> values;
      for (const auto& [key, e] : counts_) values.push_back(e.counts[m]);
      std::sort(values.begin(), values.end(), std::greater<>());
      floor[m] = values[capacity_];  // a key must beat the capacity-th largest
    }
    for (auto it = counts_.begin(); it != counts_.end();) {
      bool keep = false;
      for (size_t m = 0; m < kMeasures; ++m) keep |= it->second.counts[m] > floor[m];
      if (keep) {
        ++it;
        continue;
      }
      for (size_t m = 0; m < kMeasures; ++m) error_bound_[m] = std::max(error_bound_[m], it->second.counts[m]);
      it = counts_.erase(it);
    }
  }
  size_t capacity_, limit_;
  std::map<std::string, Entry> counts_;
  Amounts error_bound_{};
};

template <size_t kMeasures>
void expect_same(TopCounts<kMeasures>& fast, const TopCountsTwin<kMeasures>& twin, size_t n) {
  for (size_t m = 0; m < kMeasures; ++m) {
    ASSERT_EQ(fast.error_bound(m), twin.error_bound(m)) << "measure " << m;
    const auto a = fast.top(m, n), b = twin.top(m, n);
    ASSERT_EQ(a.size(), b.size()) << "measure " << m;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].key, b[i].key) << "measure " << m << " row " << i;
      EXPECT_EQ(a[i].count, b[i].count) << "measure " << m << " row " << i;
      EXPECT_EQ(a[i].note, b[i].note) << "measure " << m << " row " << i;
    }
  }
}

uint64_t next(uint64_t& state) {
  state = state * 6364136223846793005u + 1442695040888963407u;
  return state >> 33;
}

// Many more keys than the table keeps, a few heavy ones among them, keys
// longer than std::string's inline buffer: dozens of prunes. Compared
// every 997 adds, so reads in the middle of the queue are covered too.
TEST(TopCounts, EqualsItsTwinThroughManyPrunes) {
  constexpr size_t kCapacity = 32;
  TopCounts<3> fast(kCapacity);
  TopCountsTwin<3> twin(kCapacity);
  uint64_t state = 7;
  for (int i = 0; i < 60000; ++i) {
    const uint64_t r = next(state);
    const std::string key = r % 4 == 0 ? fmt::format("heavy-{}", r % 7)
                            : r % 4 == 1 ? fmt::format("2001:db8:{:x}::{:x}-a-long-ipv6-like-key", r % 50, r % 3)
                                         : fmt::format("10.{}.{}.{}", r % 251, (r >> 8) % 251, (r >> 16) % 13);
    const std::array<uint64_t, 3> amounts = {1, r % 1500, r % 9 == 0};
    fast.add(key, amounts);
    twin.add(key, amounts);
    if (i % 997 == 0) expect_same(fast, twin, 10);
  }
  expect_same(fast, twin, 50);
  EXPECT_GT(twin.error_bound(0), 0u);  // the stream did overflow the table
}

TEST(TopCounts, NotesFollowTheirKeyThroughPrunes) {
  constexpr size_t kCapacity = 16;
  TopCounts<1> fast(kCapacity);
  TopCountsTwin<1> twin(kCapacity);
  uint64_t state = 11;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t r = next(state);
    const std::string key = fmt::format("10.0.0.{} > 10.0.1.{}", r % 40, (r >> 10) % (r % 3 ? 200 : 3));
    const std::string note = r % 5 ? fmt::format("class{} 1:id{}", r % 4, i) : "";
    fast.add(key, {1}, note);
    twin.add(key, {1}, note);
  }
  expect_same(fast, twin, 40);
  EXPECT_GT(twin.error_bound(0), 0u);
}

// same_key reads short keys as overlapping words: every length, a
// difference at every position.
TEST(TopCounts, SameKeyFindsADifferenceAnywhere) {
  for (size_t n = 0; n <= 40; ++n) {
    const std::string a(n, 'x');
    EXPECT_TRUE(same_key(a, std::string(n, 'x'))) << n;
    EXPECT_FALSE(same_key(a, std::string(n + 1, 'x'))) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = 'y';
      EXPECT_FALSE(same_key(a, b)) << n << " at " << i;
    }
  }
}

}  // namespace
}  // namespace flowscore::report
