// ContextStore against an exact twin (maps and sets, no sketches, no
// forgetting), and its promises under pressure: fixed memory, forgetting
// counted, a flooded target remembered, worlds (scopes) kept apart.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <type_traits>
#include <vector>

#include "flowscore/context.hpp"

namespace flowscore {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kWindow = 60 * kSecond;

IpAddress v4(uint32_t a) {
  IpAddress ip;
  ip.bytes[0] = a >> 24, ip.bytes[1] = a >> 16, ip.bytes[2] = a >> 8, ip.bytes[3] = a;
  return ip;
}

struct Flow {
  uint32_t src, dst;
  uint16_t dport;
  uint8_t proto;
  uint64_t last_ns;
  bool answered;   // a packet came back with payload
  bool syn;        // TCP opened with a SYN
  bool reflected = false;  // a SYN-ACK from dst that answers no SYN (the flow table's initiator is its victim)
};

FlowRecord record_of(const Flow& f, uint32_t input = 0) {
  FlowRecord r{};
  r.ip_version = 4;
  r.proto = f.proto;
  r.src = {v4(f.src), 40000};
  r.dst = {v4(f.dst), f.dport};
  r.input_index = input;
  r.stats.first_ts_ns = f.last_ns;
  r.stats.last_ts_ns = f.last_ns;
  r.stats.pkts_fwd = 2;
  r.stats.payload_bytes[0] = 10;
  if (f.syn) r.stats.rare_flags[0][1] = 1;
  if (f.answered) {
    r.stats.pkts_bwd = 2;
    r.stats.payload_bytes[1] = 100;
    if (f.syn) r.stats.rare_flags[1][1] = 1;
  }
  if (f.reflected) {
    r.stats = FlowFeatures{};
    r.stats.first_ts_ns = r.stats.last_ts_ns = f.last_ns;
    r.stats.pkts_fwd = 1;  // the victim's RST
    r.stats.rare_flags[0][2] = 1;
    r.stats.pkts_bwd = 1;  // the reflector's SYN-ACK
    r.stats.rare_flags[1][1] = 1;
    r.stats.ack[1] = 1;
  }
  return r;
}

// The obviously-correct model of FEATURES.md §12: per key (a receiving
// address, a sending address, a service, a pair), the record's epoch counts
// in that epoch unless it is older than the key's latest epoch minus one; a
// value is what the key's latest epoch and the one before hold.
class ExactContext {
 public:
  ContextValues observe(const FlowRecord& r, const FlowTraits& t) {
    const uint32_t e = static_cast<uint32_t>(r.stats.last_ts_ns / kWindow);
    const Endpoint& from = t.sender ? *t.sender : r.src;
    const Endpoint& to = t.receiver ? *t.receiver : r.dst;
    const Addr src = addr(from.addr), dst = addr(to.addr);
    const Service svc{dst, r.proto, to.port};
    const Pair pair{src, svc};
    ContextValues out;
    out[ContextValue::kPairFlows] = r.stats.pair_flows;

    Host& d = receivers_[dst];
    if (count_in(d.latest, e)) {
      d.epochs[e].sources.insert(src);
      d.epochs[e].flows_in++;
      d.epochs[e].one_sided_in += t.one_sided;
    }
    out[ContextValue::kDstSources] = distinct(d, &Host::Epoch::sources);
    out[ContextValue::kDstFlows] = sum(d, &Host::Epoch::flows_in);
    out[ContextValue::kDstOneSided] = sum(d, &Host::Epoch::one_sided_in);

    Host& s = senders_[src];
    if (count_in(s.latest, e)) {
      s.epochs[e].targets.insert(svc);
      s.epochs[e].flows_out++;
      s.epochs[e].one_sided_out += t.one_sided;
    }
    out[ContextValue::kSrcTargets] = distinct(s, &Host::Epoch::targets);
    out[ContextValue::kSrcFlows] = sum(s, &Host::Epoch::flows_out);
    out[ContextValue::kSrcOneSided] = sum(s, &Host::Epoch::one_sided_out);

    Keyed<ServiceEpoch>& v = services_[svc];
    if (count_in(v.latest, e)) {
      v.epochs[e].sources.insert(src);
      v.epochs[e].flows++;
      v.epochs[e].one_sided += t.one_sided;
    }
    out[ContextValue::kServiceSources] = distinct(v, &ServiceEpoch::sources);
    out[ContextValue::kServiceFlows] = sum(v, &ServiceEpoch::flows);
    out[ContextValue::kServiceOneSided] = sum(v, &ServiceEpoch::one_sided);

    Keyed<PairEpoch>& p = pairs_[pair];
    if (count_in(p.latest, e)) {
      p.epochs[e].flows++;
      p.epochs[e].syn += t.syn_unanswered;
    }
    out[ContextValue::kRepeat] = sum(p, &PairEpoch::flows);
    out[ContextValue::kSynUnanswered] = sum(p, &PairEpoch::syn);
    return out;
  }

 private:
  using Addr = uint32_t;
  using Service = std::tuple<Addr, uint8_t, uint16_t>;
  using Pair = std::tuple<Addr, Service>;
  template <typename Epoch>
  struct Keyed {
    int64_t latest = -1;
    std::map<uint32_t, Epoch> epochs;
  };
  struct HostEpoch {
    std::set<Addr> sources;
    std::set<Service> targets;
    uint32_t flows_in = 0, one_sided_in = 0, flows_out = 0, one_sided_out = 0;
  };
  struct Host : Keyed<HostEpoch> {
    using Epoch = HostEpoch;
  };
  struct ServiceEpoch {
    std::set<Addr> sources;
    uint32_t flows = 0, one_sided = 0;
  };
  struct PairEpoch {
    uint32_t flows = 0, syn = 0;
  };

  static Addr addr(const IpAddress& a) {
    return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 | a.bytes[3];
  }
  static bool count_in(int64_t& latest, uint32_t e) {
    if (int64_t{e} + 1 < latest) return false;
    latest = std::max<int64_t>(latest, e);
    return true;
  }
  template <typename K, typename M>
  static uint32_t sum(const K& k, M member) {
    uint32_t n = 0;
    for (int64_t e = k.latest - 1; e <= k.latest; ++e)
      if (auto it = k.epochs.find(static_cast<uint32_t>(e)); e >= 0 && it != k.epochs.end()) n += it->second.*member;
    return n;
  }
  template <typename K, typename M>
  static uint32_t distinct(const K& k, M member) {
    std::remove_cvref_t<decltype(k.epochs.begin()->second.*member)> all;
    for (int64_t e = k.latest - 1; e <= k.latest; ++e)
      if (auto it = k.epochs.find(static_cast<uint32_t>(e)); e >= 0 && it != k.epochs.end())
        all.insert((it->second.*member).begin(), (it->second.*member).end());
    return static_cast<uint32_t>(all.size());
  }

  std::map<Addr, Host> receivers_, senders_;  // an address's two sides: separate keys, separate windows
  std::map<Service, Keyed<ServiceEpoch>> services_;
  std::map<Pair, Keyed<PairEpoch>> pairs_;
};

// Linear counting with 64 bits has a standard error of about 10% at n = 100
// (Whang et al. 1990): sqrt(m (e^t - t - 1)), t = n / m. Hashing makes its
// errors a distribution, not a bound, so the twin test counts how often an
// estimate strays beyond three standard errors (or 2): rarely, and not
// always to one side.
bool distinct_close(uint32_t estimate, uint32_t exact) {
  if (exact >= 400) return estimate >= 200;  // saturated or nearly: "many"
  const double n = exact, t = n / 64, sd = std::sqrt(64 * (std::exp(t) - t - 1));
  return std::abs(double(estimate) - n) <= std::max(2.0, 3 * sd);
}

std::vector<Flow> mixed_traffic(uint64_t seed, int flows, bool reordered = true) {
  std::mt19937_64 rng(seed);
  std::vector<Flow> out;
  uint64_t t = 1'000 * kWindow + rng() % kWindow;
  for (int i = 0; i < flows; ++i) {
    t += rng() % (2 * kSecond);
    // Time runs back now and then, by up to two windows (reordered records).
    const uint64_t when = reordered && rng() % 50 == 0 ? t - rng() % (2 * kWindow) : t;
    Flow f{static_cast<uint32_t>(0x0a000000 + rng() % 40), static_cast<uint32_t>(0x0a000000 + rng() % 40),
           static_cast<uint16_t>(rng() % 3 ? 443 : rng() % 100), static_cast<uint8_t>(rng() % 2 ? 6 : 17),
           when, rng() % 3 != 0, false};
    f.syn = f.proto == 6 && rng() % 4 != 0;
    f.reflected = f.proto == 6 && rng() % 20 == 0;
    out.push_back(f);
  }
  return out;
}

TEST(ContextStore, MatchesTheExactTwinWhenNothingIsForgotten) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    ContextConfig cfg;
    cfg.window_ns = kWindow;
    cfg.pair_cells = 1u << 20;
    ContextStore store(cfg);
    ExactContext twin;
    int checked_distinct = 0, strayed = 0, sketch_off = 0, sketch_checked = 0;
    double signed_error = 0;
    for (const Flow& f : mixed_traffic(seed, 20'000)) {
      const FlowRecord r = record_of(f);
      const FlowTraits t = flow_traits(r);
      const ContextValues got = store.observe(r, t, 0);
      const ContextValues want = twin.observe(r, t);
      for (ContextValue v : {ContextValue::kDstFlows, ContextValue::kDstOneSided, ContextValue::kServiceFlows,
                             ContextValue::kServiceOneSided, ContextValue::kSrcFlows, ContextValue::kSrcOneSided,
                             ContextValue::kPairFlows})
        ASSERT_EQ(got[v], want[v]) << context_value_name(v) << " seed " << seed;
      // The count-min sketch is exact unless a pair shares its cell in both
      // rows (here ~100k pairs in 2 x 2^20 cells).
      for (ContextValue v : {ContextValue::kRepeat, ContextValue::kSynUnanswered}) {
        sketch_off += got[v] != want[v];
        ++sketch_checked;
      }
      for (ContextValue v : {ContextValue::kDstSources, ContextValue::kServiceSources, ContextValue::kSrcTargets}) {
        strayed += !distinct_close(got[v], want[v]);
        signed_error += double(got[v]) - want[v];
        ++checked_distinct;
      }
    }
    EXPECT_LT(strayed, checked_distinct / 100) << "seed " << seed;
    EXPECT_LT(sketch_off, sketch_checked / 100) << "seed " << seed;
    EXPECT_LT(std::abs(signed_error / checked_distinct), 0.5) << "seed " << seed;  // mean error under half a member
    EXPECT_EQ(store.forgotten(), 0u);
    EXPECT_GT(store.late(), 0u);  // the reordered records reached the "too old" path
    EXPECT_GT(checked_distinct, 0);
  }
}

// The batch path (the writer's) counts exactly as record by record does,
// forgetting and late records included: small tables, reordered time.
TEST(ContextStore, ABatchCountsAsRecordByRecord) {
  const ContextConfig small{.window_ns = kWindow, .host_slots = 64, .service_slots = 64, .pair_cells = 64};
  ContextStore one_by_one(small), batched(small);
  std::vector<FlowRecord> records;
  for (const Flow& f : mixed_traffic(11, 5'000)) records.push_back(record_of(f));
  std::vector<ContextStore::Observation> batch;
  for (size_t start = 0; start < records.size(); start += batch.size()) {
    batch.resize(std::min<size_t>(37, records.size() - start));  // not a multiple of kBatchAhead
    for (size_t i = 0; i < batch.size(); ++i) {
      const FlowRecord& r = records[start + i];
      batch[i] = {&r, flow_traits(r), ContextStore::key_of(r, flow_traits(r), 0), {}};
    }
    batched.observe(batch);
    for (const ContextStore::Observation& o : batch)
      ASSERT_EQ(o.values.v, one_by_one.observe(*o.record, o.traits, 0).v) << "record " << o.record - records.data();
  }
  EXPECT_EQ(batched.forgotten(), one_by_one.forgotten());
  EXPECT_GT(batched.forgotten(), 0u);
  EXPECT_EQ(batched.late(), one_by_one.late());
}

TEST(ContextStore, CountMinNeverUndercountsInATinySketch) {
  ContextConfig cfg;
  cfg.window_ns = kWindow;
  cfg.pair_cells = 64;  // the smallest: thousands of pairs share 64 cells a row
  ContextStore store(cfg);
  ExactContext twin;
  uint64_t over = 0;
  // In time order: a record later than its pair's window but older than a
  // shared cell's is not counted there (FEATURES.md §12), so only in-order
  // records carry the no-undercount promise.
  for (const Flow& f : mixed_traffic(7, 20'000, false)) {
    const FlowRecord r = record_of(f);
    const FlowTraits t = flow_traits(r);
    const ContextValues got = store.observe(r, t, 0), want = twin.observe(r, t);
    ASSERT_GE(got[ContextValue::kRepeat], want[ContextValue::kRepeat]);
    ASSERT_GE(got[ContextValue::kSynUnanswered], want[ContextValue::kSynUnanswered]);
    over += got[ContextValue::kRepeat] - want[ContextValue::kRepeat];
  }
  EXPECT_GT(over, 0u);  // it did collide: the bound was tested, not idle
}

TEST(ContextStore, LinearCountingTracksDistinctCounts) {
  // Mean relative error small, and saturation reads as "at least 266".
  // Neighbouring addresses: the hash must spread them (CRC alone does not).
  const ContextConfig small{.window_ns = kWindow, .host_slots = 1024, .service_slots = 1024, .pair_cells = 1024};
  for (uint32_t n : {5u, 20u, 50u, 100u, 150u}) {
    double error_sum = 0;
    for (uint32_t target = 1; target <= 200; ++target) {
      ContextStore store(small);
      ContextValues v;
      for (uint32_t s = 0; s < n; ++s)  // each trial its own sources
        v = store.observe(record_of({0x0b000000 + target * 1000 + s, target, 80, 6, kWindow, true, true}), FlowTraits{}, 0);
      error_sum += (double(v[ContextValue::kDstSources]) - n) / n;
    }
    EXPECT_LT(std::abs(error_sum / 200), 0.05) << n;
  }
  ContextStore store(small);
  ContextValues v;
  for (uint32_t s = 0; s < 5000; ++s)
    v = store.observe(record_of({0x0b000000 + s, 1, 80, 6, kWindow, true, true}), FlowTraits{}, 0);
  EXPECT_EQ(v[ContextValue::kDstSources], ContextStore::kDistinctSaturated);
  EXPECT_EQ(v[ContextValue::kDstFlows], 5000u);
}

TEST(ContextStore, ASpoofedFloodForgetsOthersButNotItsTarget) {
  ContextConfig cfg;
  cfg.window_ns = kWindow;
  cfg.host_slots = 256;
  cfg.service_slots = 256;
  ContextStore store(cfg);
  const size_t bytes = store.bytes();
  std::mt19937_64 rng(3);
  ContextValues v;
  for (uint32_t i = 0; i < 100'000; ++i) {
    const Flow spoofed{static_cast<uint32_t>(rng()), 0xc0000201, 80, 6, kWindow + i * 100'000ull, false, true};
    v = store.observe(record_of(spoofed), flow_traits(record_of(spoofed)), 0);
  }
  EXPECT_EQ(store.bytes(), bytes);          // memory never grows
  EXPECT_GT(store.forgotten(), 90'000u);    // what made room is counted
  // The target, refreshed by every flow, was never forgotten: its counts are whole.
  EXPECT_EQ(v[ContextValue::kDstFlows], 65535u);  // saturating 16-bit counters: 100,000 flows
  EXPECT_EQ(v[ContextValue::kDstOneSided], 65535u);
  EXPECT_EQ(v[ContextValue::kDstSources], ContextStore::kDistinctSaturated);
}

TEST(ContextStore, ScopesAreSeparateWorlds) {
  ContextStore store(ContextConfig{});
  for (uint32_t s = 0; s < 100; ++s)
    store.observe(record_of({0x0b000000 + s, 7, 80, 6, kWindow, false, true}, 0), FlowTraits{}, 0);
  const FlowRecord r = record_of({0x0b000000, 7, 80, 6, kWindow, false, true}, 1);
  const ContextValues v = store.observe(r, flow_traits(r), 1);
  EXPECT_EQ(v[ContextValue::kDstFlows], 1u);
  EXPECT_EQ(v[ContextValue::kDstSources], 1u);
  EXPECT_EQ(v[ContextValue::kRepeat], 1u);
}

TEST(ContextStore, CountsCoverTheLatestWindowAndTheOneBefore) {
  ContextStore store(ContextConfig{.window_ns = kWindow});
  const auto flows_at = [&](uint64_t t) {
    const FlowRecord r = record_of({1, 2, 80, 6, t, true, true});
    return store.observe(r, flow_traits(r), 0)[ContextValue::kDstFlows];
  };
  EXPECT_EQ(flows_at(10 * kWindow), 1u);
  EXPECT_EQ(flows_at(10 * kWindow + 5), 2u);
  EXPECT_EQ(flows_at(11 * kWindow), 3u);      // the window before still counts
  EXPECT_EQ(flows_at(12 * kWindow), 2u);      // epoch 10 has left the window
  EXPECT_EQ(flows_at(10 * kWindow), 2u);      // too old to count: late
  EXPECT_EQ(store.late(), 1u);
  EXPECT_EQ(flows_at(20 * kWindow), 1u);      // a long silence forgets all
}

TEST(FlowTraits, OneSidedUnansweredAndReflectionLike) {
  FlowRecord syn = record_of({1, 2, 80, 6, kWindow, false, true});
  syn.stats.payload_bytes[0] = 0;
  EXPECT_TRUE(flow_traits(syn).one_sided);
  EXPECT_TRUE(flow_traits(syn).syn_unanswered);

  FlowRecord rst_back = syn;
  rst_back.stats.pkts_bwd = 1;
  rst_back.stats.rare_flags[1][2] = 1;  // RST
  EXPECT_TRUE(flow_traits(rst_back).one_sided);

  const FlowRecord session = record_of({1, 2, 80, 6, kWindow, true, true});
  EXPECT_FALSE(flow_traits(session).one_sided);
  EXPECT_FALSE(flow_traits(session).syn_unanswered);

  FlowRecord dns_reply = record_of({1, 2, 33000, 17, kWindow, false, false});
  dns_reply.src.port = 53;
  EXPECT_TRUE(flow_traits(dns_reply).reflection_like);
  dns_reply.dst.port = 53;  // resolver to resolver: not a reflection
  EXPECT_FALSE(flow_traits(dns_reply).reflection_like);

  FlowRecord synack = syn;
  synack.stats.ack[0] = 1;  // a SYN-ACK opens the flow, nothing comes back
  EXPECT_TRUE(flow_traits(synack).reflection_like);
  EXPECT_EQ(flow_traits(synack).sender, &synack.src);

  // The flow table made the SYN-ACK's receiver the initiator: the context
  // counts the flow from the reflector (dst) to its victim (src).
  const FlowRecord reflected = record_of({1, 2, 80, 6, kWindow, false, false, true});
  const FlowTraits rt = flow_traits(reflected);
  EXPECT_TRUE(rt.reflection_like && rt.one_sided && !rt.syn_unanswered);
  EXPECT_EQ(rt.sender, &reflected.dst);
  EXPECT_EQ(rt.receiver, &reflected.src);
  ContextStore store(ContextConfig{.window_ns = kWindow, .host_slots = 64, .service_slots = 64, .pair_cells = 64});
  ContextValues v;
  for (uint32_t reflector = 100; reflector < 130; ++reflector) {
    const FlowRecord r = record_of({1, reflector, 80, 6, kWindow, false, false, true});
    v = store.observe(r, flow_traits(r), 0);
  }
  EXPECT_EQ(v[ContextValue::kDstFlows], 30u);  // all toward host 1, the victim
  EXPECT_EQ(v[ContextValue::kDstOneSided], 30u);
  EXPECT_EQ(v[ContextValue::kSrcFlows], 1u);   // each reflector sent one
}

}  // namespace
}  // namespace flowscore
