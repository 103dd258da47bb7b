// AlertPolicy and CampaignTracker on hand-made records: each rule of
// docs/OUTPUT.md "Alert policy" and "Campaigns", rate limits against a slow
// reference of Suricata's threshold semantics, and campaign events against
// docs/schema/eve-campaign.schema.json.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "../output/json_schema_check.hpp"
#include "flowscore/alert_policy.hpp"
#include "flowscore/campaigns.hpp"

namespace flowscore {
namespace {

using nlohmann::json;
constexpr uint64_t kSecond = 1'000'000'000;

IpAddress v4(uint32_t a) {
  IpAddress ip;
  ip.bytes[0] = a >> 24, ip.bytes[1] = a >> 16, ip.bytes[2] = a >> 8, ip.bytes[3] = a;
  return ip;
}

// A scored record of class `label` with probability `p`, `packets` packets
// forward and `back` backward.
FlowRecord scored(uint8_t label, float p, uint32_t packets, uint32_t back, uint32_t src = 0x0a000001,
                  uint32_t dst = 0xc0000201, uint64_t t = 100 * kSecond) {
  FlowRecord r{};
  r.ip_version = 4;
  r.proto = 6;
  r.src = {v4(src), 40000};
  r.dst = {v4(dst), 80};
  r.stats.first_ts_ns = r.stats.last_ts_ns = t;
  r.stats.pkts_fwd = packets;
  r.stats.pkts_bwd = back;
  r.stats.payload_bytes[0] = r.stats.payload_bytes[1] = back ? 100 : 0;
  r.verdict.scored = true;
  r.verdict.num_classes = 3;
  r.verdict.label = label;
  r.verdict.proba[label] = p;
  r.verdict.score = p;
  return r;
}

// Classes: 0 benign, 1 flood (evidence dst_sources >= 20), 2 other (no evidence).
AlertPolicy make_policy(AlertPolicyConfig cfg = {}, AlertLimit flood_limit = {}) {
  AlertPolicy p(cfg);
  std::vector<ResolvedClassPolicy> classes(3);
  classes[0].benign = true;
  classes[1].policy.threshold = 0.9f;
  classes[1].policy.thin_threshold = 0.5f;
  classes[1].policy.evidence = {{ContextValue::kDstSources, 20}};
  classes[1].policy.limit = flood_limit;
  classes[1].evidence_mask = 1u << static_cast<int>(ContextValue::kDstSources);
  classes[2].policy.threshold = 0.9f;
  classes[2].policy.thin_threshold = 0.5f;
  p.set_classes(classes);
  return p;
}

ContextValues with(ContextValue v, uint32_t n) {
  ContextValues c;
  c[v] = n;
  return c;
}

bool alerts(AlertPolicy& p, FlowRecord r, const ContextValues& ctx) {
  p.judge(r, flow_traits(r), ctx, 0);
  return r.verdict.alert;
}

TEST(AlertPolicy, AThinFlowAlertsOnlyWithEvidenceForItsClass) {
  AlertPolicy p = make_policy();
  const FlowRecord lone_syn = scored(1, 0.99f, 1, 0);
  EXPECT_FALSE(alerts(p, lone_syn, {}));
  EXPECT_FALSE(alerts(p, lone_syn, with(ContextValue::kDstSources, 19)));
  EXPECT_TRUE(alerts(p, lone_syn, with(ContextValue::kDstSources, 20)));
  EXPECT_FALSE(alerts(p, lone_syn, with(ContextValue::kSrcTargets, 500)));  // not this class's evidence
  EXPECT_FALSE(alerts(p, scored(1, 0.4f, 1, 0), with(ContextValue::kDstSources, 500)));  // below thin_threshold
  EXPECT_FALSE(alerts(p, scored(2, 0.99f, 1, 0), with(ContextValue::kDstSources, 500)));  // no evidence configured
  EXPECT_EQ(p.counters().alerts, 1u);
}

TEST(AlertPolicy, AThinFlowAlertsForTheLikeliestAttackClassItsContextSupports) {
  // Classes 0 benign, 1 flood (dst_sources >= 20), 2 scan (src_targets >= 40),
  // thin thresholds 0.2: a lone probe the model calls benign.
  AlertPolicy p(AlertPolicyConfig{});
  std::vector<ResolvedClassPolicy> classes(3);
  classes[0].benign = true;
  for (int c : {1, 2}) classes[c].policy.threshold = 0.9f, classes[c].policy.thin_threshold = 0.2f;
  classes[1].policy.evidence = {{ContextValue::kDstSources, 20}};
  classes[1].evidence_mask = 1u << static_cast<int>(ContextValue::kDstSources);
  classes[2].policy.evidence = {{ContextValue::kSrcTargets, 40}};
  classes[2].evidence_mask = 1u << static_cast<int>(ContextValue::kSrcTargets);
  p.set_classes(classes);
  const auto probe = [](float benign, float flood, float scan, uint32_t packets = 1) {
    FlowRecord r = scored(0, benign, packets, 0);
    r.verdict.proba[1] = flood, r.verdict.proba[2] = scan;
    return r;
  };
  ContextValues both = with(ContextValue::kSrcTargets, 40);
  both[ContextValue::kDstSources] = 20;

  FlowRecord r = probe(0.6f, 0.1f, 0.3f);
  p.judge(r, flow_traits(r), with(ContextValue::kSrcTargets, 40), 0);
  EXPECT_TRUE(r.verdict.alert);
  EXPECT_EQ(r.verdict.label, 0);  // the verdict is never changed
  EXPECT_EQ(r.judgement.alert_class, 2);
  EXPECT_EQ(r.judgement.evidence_mask, classes[2].evidence_mask);
  // Both classes supported: the likelier one; only the other: that one.
  r = probe(0.5f, 0.21f, 0.29f);
  p.judge(r, flow_traits(r), both, 0);
  EXPECT_TRUE(r.verdict.alert && r.judgement.alert_class == 2);
  r = probe(0.5f, 0.21f, 0.29f);
  p.judge(r, flow_traits(r), with(ContextValue::kDstSources, 20), 0);
  EXPECT_TRUE(r.verdict.alert && r.judgement.alert_class == 1);
  EXPECT_EQ(p.counters().thin_not_label, 3u);
  // No alert: no evidence, evidence only below the class's thin threshold,
  // or a flow that is not thin (its benign label decides).
  EXPECT_FALSE(alerts(p, probe(0.6f, 0.1f, 0.3f), {}));
  EXPECT_FALSE(alerts(p, probe(0.6f, 0.3f, 0.1f), with(ContextValue::kSrcTargets, 500)));
  FlowRecord longer = probe(0.6f, 0.1f, 0.3f, 5);
  longer.stats.pkts_bwd = 5, longer.stats.payload_bytes[0] = longer.stats.payload_bytes[1] = 100;
  EXPECT_FALSE(alerts(p, longer, both));
}

TEST(AlertPolicy, LongerFlowsNeedTheClassThreshold) {
  AlertPolicy p = make_policy();
  EXPECT_FALSE(alerts(p, scored(1, 0.89f, 10, 10), with(ContextValue::kDstSources, 500)));
  EXPECT_TRUE(alerts(p, scored(1, 0.9f, 10, 10), {}));
  EXPECT_TRUE(alerts(p, scored(2, 0.95f, 10, 10), {}));
  EXPECT_FALSE(alerts(p, scored(0, 1.0f, 10, 10), {}));  // benign never alerts
  // Three packets but none back: one-sided, so thin.
  EXPECT_FALSE(alerts(p, scored(1, 0.95f, 3, 0), {}));
}

TEST(AlertPolicy, EvidenceIsWrittenIntoTheRecord) {
  AlertPolicy p = make_policy();
  FlowRecord r = scored(1, 0.7f, 1, 0);
  ContextValues ctx = with(ContextValue::kDstSources, 42);
  ctx[ContextValue::kRepeat] = 3;
  p.judge(r, flow_traits(r), ctx, 0);
  EXPECT_TRUE(r.verdict.alert);
  EXPECT_TRUE(r.judgement.judged && r.judgement.thin);
  EXPECT_EQ(r.judgement.evidence_mask, 1u << static_cast<int>(ContextValue::kDstSources));
  EXPECT_EQ(r.judgement.context[static_cast<int>(ContextValue::kDstSources)], 42u);
  EXPECT_EQ(r.judgement.context[static_cast<int>(ContextValue::kRepeat)], 3u);
}

TEST(AlertPolicy, SuppressedAddressesNeverAlert) {
  AlertPolicyConfig cfg;
  Suppression s;
  ASSERT_TRUE(parse_cidr("10.0.0.0/8", s));
  s.track = Suppression::Track::kBySrc;
  cfg.suppress.push_back(s);
  AlertPolicy p = make_policy(cfg);
  EXPECT_FALSE(alerts(p, scored(1, 0.99f, 10, 10, 0x0a010203), {}));
  EXPECT_TRUE(alerts(p, scored(1, 0.99f, 10, 10, 0x0b010203), {}));
  // by_src: the network as a destination still alerts.
  EXPECT_TRUE(alerts(p, scored(1, 0.99f, 10, 10, 0x0b010203, 0x0a000001), {}));
  EXPECT_EQ(p.counters().suppressed, 1u);
}

TEST(AlertPolicy, CidrParsing) {
  Suppression s;
  EXPECT_TRUE(parse_cidr("192.0.2.0/24", s));
  EXPECT_EQ(s.prefix, 24);
  EXPECT_TRUE(parse_cidr("2001:db8::/32", s));
  EXPECT_EQ(s.ip_version, 6);
  EXPECT_TRUE(parse_cidr("192.0.2.7", s));
  EXPECT_EQ(s.prefix, 32);
  EXPECT_FALSE(parse_cidr("192.0.2.1/24", s));  // host bits under the prefix: a typo
  EXPECT_FALSE(parse_cidr("192.0.2.0/33", s));
  EXPECT_FALSE(parse_cidr("192.0.2.0/", s));
  EXPECT_FALSE(parse_cidr("example.org", s));
}

// Suricata's threshold semantics, the slow way: every alert's time per
// tracked entity, windows restarting at the first alert after one ends.
bool reference_passes(std::map<uint32_t, std::vector<uint64_t>>& seen, uint32_t who, uint64_t t,
                      const AlertLimit& l) {
  auto& times = seen[who];
  if (times.empty() || t >= times.front() + l.seconds_ns) times.clear();
  times.push_back(t);
  const size_t hits = times.size();
  switch (l.type) {
    case AlertLimit::Type::kLimit: return hits <= l.count;
    case AlertLimit::Type::kThreshold: return hits % l.count == 0;
    case AlertLimit::Type::kBoth: return hits == l.count;
    default: return true;
  }
}

TEST(AlertPolicy, RateLimitsFollowSuricataThresholdSemantics) {
  for (auto type : {AlertLimit::Type::kLimit, AlertLimit::Type::kThreshold, AlertLimit::Type::kBoth}) {
    const AlertLimit limit{type, AlertLimit::Track::kByDst, 3, 10 * kSecond};
    AlertPolicy p = make_policy({}, limit);
    std::map<uint32_t, std::vector<uint64_t>> reference;
    std::mt19937_64 rng(static_cast<int>(type));
    uint64_t t = 1000 * kSecond;
    int events = 0;
    for (int i = 0; i < 5000; ++i) {
      t += rng() % (2 * kSecond);
      const uint32_t dst = 0xc0000200 + rng() % 4;
      FlowRecord r = scored(1, 0.99f, 10, 10, 0x0a000000 + static_cast<uint32_t>(rng() % 50), dst, t);
      p.judge(r, flow_traits(r), {}, 0);
      ASSERT_TRUE(r.verdict.alert);  // a limit never takes flow.alerted away
      const bool event = !r.judgement.limited;
      ASSERT_EQ(event, reference_passes(reference, dst, t, limit)) << "alert " << i;
      events += event;
    }
    EXPECT_GT(events, 0);
    EXPECT_LT(events, 5000);
    EXPECT_EQ(p.counters().limited, 5000u - events);
  }
}

// ---- campaigns -------------------------------------------------------------

json campaign_schema() {
  std::ifstream in(FLOWSCORE_SOURCE_DIR "/docs/schema/eve-campaign.schema.json");
  EXPECT_TRUE(in);
  return json::parse(in);
}

std::vector<json> lines_of(const fmt::memory_buffer& out) {
  std::vector<json> v;
  std::istringstream in(fmt::to_string(out));
  for (std::string line; std::getline(in, line);) v.push_back(json::parse(line));
  return v;
}

CampaignConfig small_rules() {
  CampaignConfig c;
  c.fan_in_sources = 10;
  c.fan_in_one_sided = 10;
  c.syn_unanswered = 10;
  c.fan_out_targets = 10;
  c.fan_out_one_sided = 10;
  c.repeat_flows = 10;
  c.report_interval_ns = 60 * kSecond;
  c.idle_timeout_ns = 120 * kSecond;
  return c;
}

TEST(Campaigns, AOneSidedFanInOpensReportsAndEnds) {
  CampaignTracker tracker(small_rules(), "sensor-1", {{"flood", {"Attempted Denial of Service", 2}}});
  test::SchemaChecker schema(campaign_schema());
  fmt::memory_buffer out;
  uint32_t id = 0;
  int in_campaign = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    FlowRecord r = scored(0, 1.0f, 1, 0, 0x0b000000 + i, 0xc0000201, (100 + i) * kSecond);
    ContextValues ctx = with(ContextValue::kDstSources, i + 1);
    ctx[ContextValue::kDstOneSided] = i + 1;
    const uint32_t got = tracker.observe(r, flow_traits(r), ctx, 0, out);
    if (i + 1 < 10) {
      ASSERT_EQ(got, 0u) << i;  // below the rule's thresholds
    } else {
      if (!id) id = got;
      ASSERT_EQ(got, id);
      ++in_campaign;
    }
  }
  // A later flow to another target ends it (idle_timeout) when the clock passes.
  FlowRecord later = scored(0, 1.0f, 10, 10, 0x0b000001, 0xc0000299, 1000 * kSecond);
  tracker.observe(later, flow_traits(later), {}, 0, out);
  const auto events = lines_of(out);
  ASSERT_GE(events.size(), 4u);  // open, updates every 60 s of 191 s, end
  for (const json& e : events) {
    const auto errors = schema.check(e);
    ASSERT_TRUE(errors.empty()) << errors.front() << "\n" << e.dump();
    EXPECT_EQ(e["host"], "sensor-1");
    EXPECT_EQ(e["dest_ip"], "192.0.2.1");
    EXPECT_EQ(e["alert"]["category"], "Attempted Denial of Service");
    EXPECT_EQ(e["flowscore"]["campaign"]["class"], "flood");
  }
  EXPECT_EQ(events.front()["flowscore"]["campaign"]["phase"], "open");
  EXPECT_EQ(events[1]["flowscore"]["campaign"]["phase"], "update");
  const json& end = events.back()["flowscore"]["campaign"];
  EXPECT_EQ(end["phase"], "end");
  EXPECT_EQ(end["flows"], in_campaign);
  EXPECT_EQ(end["top_sources"].size(), 5u);
  EXPECT_EQ(tracker.counters().opened, 1u);
}

TEST(Campaigns, RepeatedShortSessionsAreBruteForceAndFinishEndsThem) {
  CampaignTracker tracker(small_rules(), "", {});
  fmt::memory_buffer out;
  for (uint32_t i = 0; i < 30; ++i) {
    FlowRecord login = scored(0, 1.0f, 8, 6, 0x0a000005, 0xc0000215, (100 + i) * kSecond);
    login.dst.port = 21;
    tracker.observe(login, flow_traits(login), with(ContextValue::kRepeat, i + 1), 0, out);
  }
  FlowRecord download = scored(0, 1.0f, 500, 400, 0x0a000005, 0xc0000215, 200 * kSecond);
  download.dst.port = 21;
  EXPECT_EQ(tracker.observe(download, flow_traits(download), with(ContextValue::kRepeat, 31), 0, out), 0u);
  tracker.finish(out);
  const auto events = lines_of(out);
  ASSERT_EQ(events.size(), 2u);
  const json& c = events.back()["flowscore"]["campaign"];
  EXPECT_EQ(c["class"], "bruteforce");
  EXPECT_EQ(c["rule"], "repeat");
  EXPECT_EQ(c["flows"], 21);  // the 10th login opened it
  EXPECT_EQ(c["source"], "10.0.0.5");
  EXPECT_EQ(events.back()["dest_port"], 21);
}

TEST(Campaigns, AtMostMaxOpenAreTrackedAndTheRestCounted) {
  CampaignConfig cfg = small_rules();
  cfg.max_open = 3;
  CampaignTracker tracker(cfg, "", {});
  fmt::memory_buffer out;
  for (uint32_t target = 0; target < 5; ++target) {
    FlowRecord r = scored(0, 1.0f, 1, 0, 0x0b000000, 0xc0000200 + target);
    ContextValues ctx = with(ContextValue::kDstSources, 50);
    ctx[ContextValue::kDstOneSided] = 50;
    tracker.observe(r, flow_traits(r), ctx, 0, out);
  }
  EXPECT_EQ(tracker.counters().opened, 3u);
  EXPECT_EQ(tracker.counters().not_tracked, 2u);
}

TEST(Campaigns, ScopesDoNotShareACampaign) {
  CampaignTracker tracker(small_rules(), "", {});
  fmt::memory_buffer out;
  ContextValues ctx = with(ContextValue::kDstSources, 50);
  ctx[ContextValue::kDstOneSided] = 50;
  FlowRecord r = scored(0, 1.0f, 1, 0);
  const uint32_t a = tracker.observe(r, flow_traits(r), ctx, 0, out);
  const uint32_t b = tracker.observe(r, flow_traits(r), ctx, 1, out);
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace flowscore

namespace flowscore {
namespace {

TEST(Campaigns, AOneSidedFlowAtAHighPacketRateIsAFlood) {
  CampaignConfig cfg = small_rules();
  cfg.rate_min_packets = 500;
  cfg.rate_pps = 1000;
  CampaignTracker tracker(cfg, "", {});
  fmt::memory_buffer out;
  // 1000 echo requests in 0.9 s: over 1000/s. 1000 in 1.1 s: under.
  FlowRecord slow = scored(0, 1.0f, 1000, 0, 0x0a000001, 0xc0000201);
  slow.stats.last_ts_ns = slow.stats.first_ts_ns + 1'100'000'000;
  EXPECT_EQ(tracker.observe(slow, flow_traits(slow), {}, 0, out), 0u);
  FlowRecord fast = slow;
  fast.stats.last_ts_ns = fast.stats.first_ts_ns + 900'000'000;
  EXPECT_NE(tracker.observe(fast, flow_traits(fast), {}, 0, out), 0u);
  FlowRecord answered = fast;  // a busy two-way flow is not a flood
  answered.stats.pkts_bwd = 900;
  answered.stats.payload_bytes[0] = answered.stats.payload_bytes[1] = 1000;
  answered.dst.addr = v4(0xc0000202);
  EXPECT_EQ(tracker.observe(answered, flow_traits(answered), {}, 0, out), 0u);
  FlowRecord short_burst = fast;  // too few packets, however fast
  short_burst.stats.pkts_fwd = 499;
  short_burst.dst.addr = v4(0xc0000203);
  EXPECT_EQ(tracker.observe(short_burst, flow_traits(short_burst), {}, 0, out), 0u);
  tracker.finish(out);
  const auto events = lines_of(out);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["flowscore"]["campaign"]["rule"], "packet_rate");
  EXPECT_EQ(events[0]["flowscore"]["campaign"]["class"], "flood");
  EXPECT_EQ(events[0]["dest_ip"], "192.0.2.1");
  EXPECT_FALSE(events[0].contains("src_ip"));  // keyed by target: any number of senders
}

}  // namespace
}  // namespace flowscore

#include "flowscore/calibration.hpp"

namespace flowscore {
namespace {

// The calibrator's histogram quantiles against the same values sorted, and
// its proposal: the configuration back, thresholds just above them.
TEST(Calibrator, ProposesThresholdsJustAboveTheQuantileOfBenignFlows) {
  Config cfg;
  ClassPolicy flood;
  flood.name = "flood";
  flood.evidence = {{ContextValue::kDstSources, 99}};
  cfg.model.classes.push_back(flood);
  cfg.context.host_slots = cfg.context.service_slots = cfg.context.pair_cells = 4096;
  Calibrator cal(cfg, false, 0.99);
  ContextStore twin(cfg.context);
  std::vector<uint32_t> thin_dst_sources;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 3000; ++i) {
    // Many targets with a few sources each; now and then a busy one.
    const uint32_t dst = 0xc0000200 + static_cast<uint32_t>(rng() % (rng() % 50 ? 400 : 2));
    FlowRecord r = scored(0, 1.0f, 1, 0, 0x0a000000 + static_cast<uint32_t>(rng() % 300), dst,
                          100 * kSecond + static_cast<uint64_t>(i) * 1'000'000);
    cal.observe(r);
    thin_dst_sources.push_back(twin.observe(r, flow_traits(r), 0)[ContextValue::kDstSources]);
  }
  std::sort(thin_dst_sources.begin(), thin_dst_sources.end());
  for (double q : {0.5, 0.9, 0.99, 1.0}) {
    // The smallest value with at most (1 - q) of the flows above it.
    const size_t n = thin_dst_sources.size();
    uint32_t want = thin_dst_sources.back();
    for (uint32_t v : thin_dst_sources) {
      const size_t above = n - (std::upper_bound(thin_dst_sources.begin(), thin_dst_sources.end(), v) -
                                thin_dst_sources.begin());
      if (double(above) <= (1 - q) * double(n)) {
        want = v;
        break;
      }
    }
    EXPECT_EQ(cal.quantile(Calibrator::kThin, ContextValue::kDstSources, q), want) << q;
  }
  const json doc = json::parse(cal.proposal(R"({"flow": {"idle_timeout": 30}, // kept
                                                 "model": {"classes": {"flood": {"severity": 1}}}})",
                                            {"a.pcap"}));
  EXPECT_EQ(doc["flow"]["idle_timeout"], 30);  // the rest of the configuration comes back as it was
  EXPECT_EQ(doc["model"]["classes"]["flood"]["severity"], 1);
  EXPECT_EQ(doc["model"]["classes"]["flood"]["evidence"]["dst_sources"],
            std::max(cal.quantile(Calibrator::kThin, ContextValue::kDstSources, 0.99) + 1, Calibrator::kEvidenceFloor));
  EXPECT_GE(doc["campaigns"]["fan_in_sources"].get<uint32_t>(), Calibrator::kCampaignFloor);
  EXPECT_EQ(doc["_calibration"]["records"], 3000);
  EXPECT_EQ(doc["_calibration"]["inputs"][0], "a.pcap");
}

}  // namespace
}  // namespace flowscore
