// FlowFeatures/FeatureSpec against a slow, obviously-correct twin written
// from docs/FEATURES.md (feature_twin.hpp: it keeps every packet, then
// computes each feature from the whole list), on random, extreme and
// worked-example flows. tests/fuzz drives the same comparison with
// coverage-guided packet sequences.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "feature_twin.hpp"
#include "flowscore/features.hpp"

namespace flowscore {
namespace {

using namespace feature_twin;

// Compares every column; returns the number of mismatching columns.
int compare(const FeatureSpec& spec, const std::vector<Packet>& pkts, const std::vector<float>& out,
            const std::string& what) {
  const std::vector<std::string> bad = mismatches(spec, pkts, out);
  for (const std::string& line : bad) ADD_FAILURE() << what << ": " << line;
  return static_cast<int>(bad.size());
}

// ---- random flows ------------------------------------------------------------

struct FlowShape {
  size_t packets;
  double fwd_share;
  bool tcp;
  bool first_is_bwd;
};

std::vector<Packet> random_flow(std::mt19937_64& rng, const FlowShape& shape) {
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<Packet> pkts;
  uint64_t ts = (rng() % (uint64_t{1} << 62)) + 1;  // anywhere in the epoch range, often not µs-aligned
  if (pick(rng) < 50) ts -= ts % 1000;              // pcap-like µs timestamps
  const int gap_style = pick(rng);
  for (size_t i = 0; i < shape.packets; ++i) {
    if (i > 0) {
      const int r = pick(rng);
      uint64_t gap;
      if (r < 15) gap = 0;                                              // same instant
      else if (r < 25) gap = rng() % 1000;                              // sub-µs
      else if (r < 70) gap = rng() % 2'000'000;                         // ms scale
      else if (r < 90) gap = rng() % 10'000'000'000;                    // up to 10 s: crosses 5 s
      else if (r < 95 || gap_style < 90) gap = rng() % 200'000'000'000;  // up to 200 s
      else gap = rng() % 2'000'000'000'000;                             // up to 2000 s: span may saturate
      if (pick(rng) < 5 && ts > 5'000'000) {
        ts -= rng() % 5'000'000;  // reordered capture: time steps back
      } else {
        ts += gap;
      }
    }
    Packet p;
    p.ts_ns = ts;
    p.forward = i == 0 ? !shape.first_is_bwd : std::uniform_real_distribution<double>(0, 1)(rng) < shape.fwd_share;
    const int lr = pick(rng);
    p.ip_len = lr < 5 ? 65535 + uint32_t(rng() % 200'000)  // offload super-packets: capped at 65535
               : lr < 10 ? 65535
               : lr < 50 ? 20 + uint32_t(rng() % 80)
                         : 20 + uint32_t(rng() % 1481);
    p.payload_len = uint32_t(rng() % (p.ip_len + 1));
    p.wire_len = p.ip_len + uint32_t(rng() % 40);
    p.is_tcp = shape.tcp && pick(rng) < 97;  // a few non-first fragments carry no TCP header
    p.flags = p.is_tcp ? uint8_t(rng()) : 0;
    p.window = uint16_t(rng());
    pkts.push_back(p);
  }
  return pkts;
}

FeatureConfig random_config(std::mt19937_64& rng) {
  const uint64_t gaps[] = {0, 1, 999, 1000, 1'000'000, 5'000'000'000, 60'000'000'000, UINT64_MAX};
  FeatureConfig cfg;
  cfg.first_packets = uint32_t(rng() % (FeatureConfig::kMaxFirstPackets + 1));
  cfg.activity_gap_ns = gaps[rng() % std::size(gaps)];
  return cfg;
}

TEST(FeaturesVsTwin, ThousandsOfRandomFlows) {
  std::mt19937_64 rng(20240611);
  int bad = 0;
  for (int flow = 0; flow < 4000 && bad < 20; ++flow) {
    const FeatureSpec spec(random_config(rng));
    FlowShape shape;
    const int size_class = int(rng() % 10);
    shape.packets = size_class < 2 ? 1 : size_class < 4 ? 2 : size_class < 8 ? 3 + rng() % 40 : 50 + rng() % 2000;
    const double shares[] = {0.0, 1.0, 0.5, 0.9, 0.1};
    shape.fwd_share = shares[rng() % std::size(shares)];
    shape.tcp = rng() % 3 != 0;
    shape.first_is_bwd = rng() % 8 == 0;
    const auto pkts = random_flow(rng, shape);
    const Computed c = run_fast(spec, pkts, uint8_t(rng()));
    bad += compare(spec, pkts, c.out, "flow " + std::to_string(flow));
  }
  EXPECT_EQ(bad, 0);
}

// Sums beyond 32 bits, flag counters at saturation, the longest possible span.
TEST(FeaturesVsTwin, BigFlowsPastThirtyTwoBits) {
  std::mt19937_64 rng(7);
  for (int variant = 0; variant < 3; ++variant) {
    FeatureConfig cfg;
    cfg.first_packets = FeatureConfig::kMaxFirstPackets;
    const FeatureSpec spec(cfg);
    std::vector<Packet> pkts;
    uint64_t ts = 1'700'000'000'000'000'000;
    // 70k max-size packets: > 2^32 IP and wire bytes per direction, > 65535 SYNs.
    for (int i = 0; i < 140'000; ++i) {
      Packet p{ts, i % 2 == 0, 65535 + 14, 65535, 65535 - 40, true, 0xFF, uint16_t(i)};
      if (variant == 1) p.flags = uint8_t(rng());
      pkts.push_back(p);
      // variant 2 stretches the record past 2^32 µs so times saturate.
      ts += variant == 2 ? 40'000'000 + rng() % 1000 : rng() % 3000;
    }
    const Computed c = run_fast(spec, pkts, uint8_t(rng()));
    ASSERT_GT(c.f.ip_len[0].sum(), uint64_t{UINT32_MAX});
    ASSERT_GT(c.f.wire_bytes_fwd, uint64_t{UINT32_MAX});
    EXPECT_EQ(compare(spec, pkts, c.out, "big variant " + std::to_string(variant)), 0);
  }
}

// The first-N slots at their extremes: L = 65535 (and a super-packet capped
// to it), a gap of 2^32 - 1 µs (packet 1 lands past the span, so its time
// saturates: FEATURES.md §3), both directions in a record the responder
// opened, N = 0, 1, 31 and the maximum 32. Every column against the twin,
// then the stored slots exactly (a float column cannot tell 2^32 - 1 from
// 2^32 - 2).
std::vector<Packet> extreme_first_packets() {
  std::vector<Packet> pkts;
  uint64_t ts = 1'000'000'000'123;
  for (int i = 0; i < 40; ++i) {
    ts += i == 1 ? (uint64_t{1} << 32) * 1000 : 1000 * uint64_t(i % 3);
    const uint32_t ip_len = i % 2 ? 70000 : 65535;
    pkts.push_back(Packet{ts, i % 3 == 1, ip_len + 14, ip_len, 100, true, 0x10, 1000});
  }
  return pkts;
}

TEST(FeaturesVsTwin, FirstPacketsAtTheirExtremes) {
  std::mt19937_64 rng(3);
  for (uint32_t n : {0u, 1u, 31u, 32u}) {
    FeatureConfig cfg;
    cfg.first_packets = n;
    const FeatureSpec spec(cfg);
    const Computed c = run_fast(spec, extreme_first_packets(), uint8_t(rng()));
    EXPECT_EQ(compare(spec, extreme_first_packets(), c.out, "N=" + std::to_string(n)), 0);
  }
}

TEST(FlowFeatures, FirstSlotsKeepExtremeLengthsGapsAndDirectionsExactly) {
  FeatureConfig cfg;
  cfg.first_packets = FeatureConfig::kMaxFirstPackets;
  const std::vector<Packet> pkts = extreme_first_packets();
  std::vector<FirstPacketSlot> slots(cfg.first_packets);
  FlowFeatures f;
  f.reset(pkts[0].ts_ns);
  for (const Packet& p : pkts) {
    PacketObservation o;
    o.ts_ns = p.ts_ns, o.ip_len = p.ip_len, o.forward = p.forward;
    f.add(o, slots, cfg);
  }
  for (uint32_t k = 0; k < cfg.first_packets; ++k) {
    EXPECT_EQ(slots[k].ip_len, 65535) << k;
    const uint32_t gap = slots[k].gap_us;
    EXPECT_EQ(gap, k == 1 ? UINT32_MAX : 0u) << k;  // after packet 1, time stays saturated
    EXPECT_EQ((f.first_forward >> k) & 1, pkts[k].forward ? 1u : 0u) << k;
  }
}

TEST(FeaturesVsTwin, OnePacketFlowHasNoInterArrivalStatistics) {
  std::mt19937_64 rng(1);
  const FeatureSpec spec{FeatureConfig{}};
  const std::vector<Packet> pkts = {{1'000'000'123, true, 74, 60, 0, true, 0x02, 64240}};
  const Computed c = run_fast(spec, pkts, uint8_t(rng()));
  EXPECT_EQ(compare(spec, pkts, c.out, "one packet"), 0);
  const auto& names = spec.names();
  auto at = [&](const std::string& n) { return c.out[std::find(names.begin(), names.end(), n) - names.begin()]; };
  // Stated in FEATURES.md §5 and §8, checked here by name independently of the twin.
  EXPECT_TRUE(std::isnan(at("iat_both_mean_us")));
  EXPECT_TRUE(std::isnan(at("iat_fwd_min_us")));
  EXPECT_TRUE(std::isnan(at("len_bwd_mean")));
  EXPECT_TRUE(std::isnan(at("idle_mean_us")));
  EXPECT_TRUE(std::isnan(at("tcp_init_win_bwd")));
  EXPECT_EQ(at("active_mean_us"), 0.0f);
  EXPECT_EQ(at("len_fwd_std"), 0.0f);
  EXPECT_EQ(at("tcp_init_win_fwd"), 64240.0f);
  EXPECT_EQ(at("pkts_bwd"), 0.0f);
  EXPECT_TRUE(std::isnan(at("first_len_1")));
}

// FEATURES.md §10, worked by hand from the document.
TEST(FeaturesByHand, WorkedExampleOfFeaturesMd) {
  std::mt19937_64 rng(2);
  FeatureConfig cfg;  // activity gap 5 s
  cfg.first_packets = 4;
  const FeatureSpec spec(cfg);
  // fwd at 10.0000005 s, bwd 1.5 ms later, fwd 7 s after that (idle), then a
  // fwd packet stamped 3 µs earlier (reordered: counts at the previous time).
  const std::vector<Packet> pkts = {
      {10'000'000'500, true, 74, 60, 0, true, 0x02, 1000},
      {10'001'500'900, false, 1514, 1500, 1448, true, 0x12, 2000},
      {17'001'500'999, true, 66, 52, 0, true, 0x10, 3000},
      {17'001'498'000, true, 66, 52, 0, true, 0x11, 4000},
  };
  const Computed c = run_fast(spec, pkts, uint8_t(rng()));
  EXPECT_EQ(compare(spec, pkts, c.out, "by hand"), 0);
  const auto& names = spec.names();
  auto at = [&](const std::string& n) { return c.out[std::find(names.begin(), names.end(), n) - names.begin()]; };
  // t = floor(ts/1000) - floor(ts0/1000): 0, 1500, 7001500, 7001500 µs.
  EXPECT_EQ(at("duration_us"), 7001500.0f);
  EXPECT_EQ(at("iat_both_min_us"), 0.0f);
  EXPECT_EQ(at("iat_both_max_us"), 7000000.0f);
  EXPECT_EQ(at("iat_fwd_min_us"), 0.0f);
  EXPECT_EQ(at("iat_fwd_max_us"), 7001500.0f);
  EXPECT_EQ(at("iat_fwd_mean_us"), 3500750.0f);           // (7001500 + 0) / 2
  EXPECT_EQ(at("iat_fwd_std_us"), 3500750.0f);            // population std of {7001500, 0}
  EXPECT_TRUE(std::isnan(at("iat_bwd_mean_us")));         // one backward packet
  EXPECT_EQ(at("idle_min_us"), 7000000.0f);               // one idle gap of 7 s > 5 s
  EXPECT_EQ(at("idle_std_us"), 0.0f);
  EXPECT_EQ(at("active_min_us"), 0.0f);                   // periods: [0, 1500] and [7001500, 7001500]
  EXPECT_EQ(at("active_max_us"), 1500.0f);
  EXPECT_EQ(at("active_mean_us"), 750.0f);
  EXPECT_EQ(at("len_both_mean"), 416.0f);                 // (60 + 1500 + 52 + 52) / 4
  EXPECT_EQ(at("bytes_payload_bwd"), 1448.0f);
  EXPECT_EQ(at("tcp_syn_fwd"), 1.0f);
  EXPECT_EQ(at("tcp_syn_bwd"), 1.0f);
  EXPECT_EQ(at("tcp_ack_fwd"), 2.0f);
  EXPECT_EQ(at("tcp_fin_fwd"), 1.0f);
  EXPECT_EQ(at("tcp_init_win_bwd"), 2000.0f);
  EXPECT_EQ(at("first_dir_1"), 0.0f);
  EXPECT_EQ(at("first_gap_us_2"), 7000000.0f);
  EXPECT_EQ(at("first_gap_us_3"), 0.0f);
}

// ---- the spec object ---------------------------------------------------------

TEST(FeatureSpec, ColumnNamesAreUniqueAndCountMatches) {
  for (uint32_t n : {0u, 1u, 8u, FeatureConfig::kMaxFirstPackets}) {
    FeatureConfig cfg;
    cfg.first_packets = n;
    const FeatureSpec spec(cfg);
    EXPECT_EQ(spec.count(), spec.names().size());
    EXPECT_EQ(spec.count(), FeatureSpec::kFixedColumns + 3 * n);
    const std::set<std::string> unique(spec.names().begin(), spec.names().end());
    EXPECT_EQ(unique.size(), spec.names().size()) << "N=" << n;
    for (const auto& name : spec.names()) EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos) << name;
  }
}

TEST(FeatureSpec, VersionNamesDocumentAndValueChangingConfig) {
  FeatureConfig cfg;
  cfg.first_packets = 5;
  cfg.activity_gap_ns = 123;
  EXPECT_EQ(FeatureSpec(cfg).version(), "flowscore-features v2 first_packets=5 activity_gap_ns=123 pair_window_ns=60000000000");
}

TEST(FeatureSpec, RejectsTooManyFirstPackets) {
  FeatureConfig cfg;
  cfg.first_packets = FeatureConfig::kMaxFirstPackets + 1;
  EXPECT_THROW(FeatureSpec{cfg}, std::invalid_argument);
}

TEST(FeatureSpec, RejectsShortOutput) {
  const FeatureSpec spec{FeatureConfig{}};
  FlowFeatures f;
  f.reset(0);
  std::vector<float> out(spec.count() - 1);
  EXPECT_THROW(spec.compute(f, {}, out), std::invalid_argument);
}

// The std formula needs f64(integer) rounded to nearest, ties to even, for
// 128-bit integers (FEATURES.md §5): what Python's float(int) does.
TEST(FeatureSpec, WideIntegerToDoubleRoundsToNearestEven) {
  const u128 two53 = u128{1} << 53;
  EXPECT_EQ(static_cast<double>(two53 + 1), 9007199254740992.0);       // tie -> even (down)
  EXPECT_EQ(static_cast<double>(two53 + 3), 9007199254740996.0);       // tie -> even (up)
  const u128 big = (u128{1} << 97) + (u128{1} << 44) + 1;              // just above a tie at 2^97
  EXPECT_EQ(static_cast<double>(big), std::ldexp(1.0, 97) + std::ldexp(1.0, 45));
}

TEST(FlowFeatures, FirstSlotsStopAtTheirSpan) {
  FeatureConfig cfg;
  FlowFeatures f;
  f.reset(0);
  std::vector<FirstPacketSlot> slots(3, FirstPacketSlot{7, 7});
  PacketObservation p;
  for (int i = 0; i < 5; ++i) {
    p.ts_ns = uint64_t(i) * 2000;
    p.ip_len = 100 + i;
    f.add(p, std::span(slots).first(2), cfg);
  }
  EXPECT_EQ(slots[0].ip_len, 100);
  EXPECT_EQ(slots[1].gap_us, 2u);
  EXPECT_EQ(slots[2].ip_len, 7) << "wrote past the span it was given";
}

}  // namespace
}  // namespace flowscore
