// PairActivity (the pair_flows feature, docs/FEATURES.md §7a) against a slow,
// obviously-correct twin that keeps every counted flow's epoch per pair and
// counts them by the document's words.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "flowscore/pair_activity.hpp"

using namespace flowscore;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

FlowKey key_between(uint32_t a, uint32_t b, uint16_t port = 80) {
  FlowKey k;
  for (int i = 0; i < 4; ++i) {
    k.addr_lo.bytes[i] = static_cast<uint8_t>(a >> (24 - 8 * i));
    k.addr_hi.bytes[i] = static_cast<uint8_t>(b >> (24 - 8 * i));
  }
  k.port_lo = 40000, k.port_hi = port, k.proto = 6, k.ip_version = 4;
  return k;
}

// §7a, word for word: per unordered pair, the epochs its flows were counted
// in and the pair's latest epoch E_p.
class TwinPairCounts {
 public:
  explicit TwinPairCounts(uint64_t window_ns) : w_(window_ns) {}
  unsigned begin_flow(uint32_t a, uint32_t b, uint64_t t) {
    Pair& p = pairs_[ordered(a, b)];
    const uint64_t e = epoch(p, t);
    p.counted.push_back(e);
    return value(p, e);
  }
  unsigned recent_flows(uint32_t a, uint32_t b, uint64_t t) {
    auto it = pairs_.find(ordered(a, b));
    if (it == pairs_.end()) return 0;
    return value(it->second, epoch(it->second, t));
  }

 private:
  struct Pair {
    uint64_t latest = 0;
    std::vector<uint64_t> counted;
  };
  static std::pair<uint32_t, uint32_t> ordered(uint32_t a, uint32_t b) { return {std::min(a, b), std::max(a, b)}; }
  uint64_t epoch(Pair& p, uint64_t t) {
    p.latest = std::max(p.latest, t / w_);
    return p.latest;
  }
  static unsigned value(const Pair& p, uint64_t e) {
    const auto n = std::count_if(p.counted.begin(), p.counted.end(),
                                 [e](uint64_t c) { return c == e || c + 1 == e; });
    return static_cast<unsigned>(std::min<long>(n, 255));
  }
  uint64_t w_;
  std::map<std::pair<uint32_t, uint32_t>, Pair> pairs_;
};

TEST(PairActivity, MatchesTheTwinOnRandomTraffic) {
  std::mt19937_64 rng(7);
  constexpr uint64_t kWindow = 10 * kSec;
  PairActivity fast(1 << 18, kWindow);
  TwinPairCounts twin(kWindow);
  uint64_t t = 1'700'000'000 * kSec;
  for (int i = 0; i < 200'000; ++i) {
    // 100 hosts, so pairs repeat; time mostly moves on, sometimes back a little.
    t += rng() % (kSec / 2);
    const uint64_t ts = rng() % 50 == 0 ? t - rng() % (20 * kSec) : t;
    const uint32_t a = 0x0a000000u + static_cast<uint32_t>(rng() % 100);
    const uint32_t b = 0x0a000000u + static_cast<uint32_t>(rng() % 100);
    // Either orientation names the same pair.
    const FlowKey k = rng() % 2 ? key_between(a, b) : key_between(b, a);
    if (rng() % 10 == 0) {
      ASSERT_EQ(fast.recent_flows(k, ts), twin.recent_flows(a, b, ts)) << "continuation " << i;
    } else {
      ASSERT_EQ(fast.begin_flow(k, ts), twin.begin_flow(a, b, ts)) << "flow " << i;
    }
  }
  EXPECT_EQ(fast.evictions(), 0u) << "the twin comparison assumes a store with room";
}

TEST(PairActivity, CountsTwoEpochsAndSaturates) {
  PairActivity pairs(64, 60 * kSec);
  const FlowKey k = key_between(0x01020304, 0x05060708);
  const uint64_t t0 = 600 * kSec;  // the start of an epoch
  EXPECT_EQ(pairs.recent_flows(k, t0), 0);  // unknown pair
  EXPECT_EQ(pairs.begin_flow(k, t0), 1);
  EXPECT_EQ(pairs.begin_flow(k, t0 + 59 * kSec), 2);
  EXPECT_EQ(pairs.begin_flow(k, t0 + 60 * kSec), 3);    // next epoch: the previous one still counts
  EXPECT_EQ(pairs.recent_flows(k, t0 + 121 * kSec), 1); // two epochs on: only the last flow is recent
  EXPECT_EQ(pairs.begin_flow(k, t0 + 300 * kSec), 1);   // long quiet: starts again
  for (int i = 0; i < 400; ++i) pairs.begin_flow(k, t0 + 300 * kSec);
  EXPECT_EQ(pairs.begin_flow(k, t0 + 300 * kSec), PairActivity::kMaxCount);
  pairs.clear();
  EXPECT_EQ(pairs.recent_flows(k, t0 + 300 * kSec), 0);
  pairs.clear();  // nothing since: nothing to do
  EXPECT_EQ(pairs.begin_flow(k, t0 + 300 * kSec), 1);
  pairs.clear();  // a flow since: cleared again
  EXPECT_EQ(pairs.recent_flows(k, t0 + 300 * kSec), 0);
}

TEST(PairActivity, UnderPressureKeepsBusyPairsAndCountsWhatItForgets) {
  PairActivity pairs(4, 60 * kSec);  // one bucket of four
  const FlowKey scanner = key_between(0x0a000001, 0x0a000002);
  const uint64_t t = 6000 * kSec;
  for (int port = 0; port < 20; ++port) pairs.begin_flow(key_between(0x0a000001, 0x0a000002, uint16_t(port)), t);
  // A spoofed flood: one flow per source, far more sources than room.
  for (uint32_t src = 0; src < 1000; ++src) EXPECT_EQ(pairs.begin_flow(key_between(0xc0000000 + src, 0x0a000002), t), 1);
  EXPECT_EQ(pairs.evictions(), 1000u - 3);
  EXPECT_EQ(pairs.begin_flow(scanner, t), 21);
  EXPECT_GE(pairs.bytes(), 64u);
}

}  // namespace

// clear() forgets every pair whether it clears the buckets it knows were
// filled (a few) or the whole store (more than kTrackedBuckets filled): after
// it, every pair the twin counted is unknown, and counting starts again.
TEST(PairActivity, ClearForgetsEveryPairFewOrMany) {
  std::mt19937_64 rng(11);
  PairActivity pairs(1 << 16, 60 * kSec);  // 16,384 buckets
  for (const uint32_t hosts : {3u, 60u, 150u, 3u}) {  // pairs: few, some, more buckets than tracked, few again
    std::vector<FlowKey> seen;
    for (uint32_t i = 0; i < 4 * hosts * hosts; ++i) {
      const uint32_t a = 0x0a000000u + static_cast<uint32_t>(rng() % hosts);
      const uint32_t b = 0x0b000000u + static_cast<uint32_t>(rng() % hosts);
      seen.push_back(key_between(a, b));
      pairs.begin_flow(seen.back(), 100 * kSec);
    }
    pairs.clear();
    for (const FlowKey& k : seen) ASSERT_EQ(pairs.recent_flows(k, 100 * kSec), 0) << hosts << " hosts";
    EXPECT_EQ(pairs.begin_flow(seen.front(), 100 * kSec), 1) << hosts << " hosts";
    pairs.clear();
  }
}
