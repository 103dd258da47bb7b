// EveFormatter against its slow twin (eve_reference.hpp) and the published
// schema (docs/schema/eve-flow.schema.json), on many synthetic records: all
// protocols, IPv4/IPv6, scored / alert / unscored, features on and off, and
// names that need JSON escaping.
#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <random>
#include <set>

#include "flowscore/ecs_view.hpp"

#include "eve_reference.hpp"
#include "flowscore/eve.hpp"
#include "json_schema_check.hpp"
#include "synthetic_records.hpp"
#include "test_paths.hpp"

// Counts heap allocations made while `g_count_allocations` is set, to hold
// format() to its "nothing beyond the buffer's growth" contract.
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<long> g_allocations{0};

// Out of line so the compiler does not pair new-expressions with free().
[[gnu::noinline]] void* counted_malloc(size_t n) {
  if (g_count_allocations.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(n ? n : 1);
}
[[gnu::noinline]] void counted_free(void* p) { std::free(p); }
}  // namespace

void* operator new(size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }

namespace flowscore {
namespace {

using nlohmann::json;
using test::make_options;
using test::random_features;
using test::random_record;

// Equality where numbers written from floats compare as float32: the
// formatter prints the shortest text that reads back as the same float.
bool same_json(const json& a, const json& b, std::string& where) {
  if (a.is_number() && b.is_number() && (a.is_number_float() || b.is_number_float())) {
    if (static_cast<float>(a.get<double>()) == static_cast<float>(b.get<double>())) return true;
    where += " " + a.dump() + " vs " + b.dump();
    return false;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) {
      where += " member count " + a.dump() + " vs " + b.dump();
      return false;
    }
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) {
        where += " missing " + k;
        return false;
      }
      std::string sub = where + "." + k;
      if (!same_json(v, b.at(k), sub)) {
        where = sub;
        return false;
      }
    }
    return true;
  }
  if (a != b) where += " " + a.dump() + " vs " + b.dump();
  return a == b;
}

json load_schema() {
  std::ifstream in(test::source_root() + "/docs/schema/eve-flow.schema.json");
  EXPECT_TRUE(in) << "docs/schema/eve-flow.schema.json not found";
  return json::parse(in);
}

TEST(EveFormatter, MatchesReferenceAndSchemaOnSyntheticRecords) {
  test::SchemaChecker schema(load_schema());
  std::mt19937_64 rng(42);
  std::map<std::string, int> seen;  // coverage of what the records exercised
  for (int variant = 0; variant < 8; ++variant) {
    const bool features = variant & 1, host = variant & 2;
    const uint16_t seed = variant & 4 ? 4660 : 0;
    const EveOptions options = make_options(features, host, seed);
    const EveFormatter formatter(options);
    for (int i = 0; i < 2000; ++i) {
      const FlowRecord r = random_record(rng, i);
      const std::vector<float> f = random_features(rng, options.feature_names.size());
      fmt::memory_buffer out;
      ASSERT_TRUE(formatter.format(r, f, out));
      // An alert event then the flow event, or the flow event alone: each
      // one newline-terminated line, as the reference twin makes them.
      const std::vector<json> want = test::eve_reference(r, options, f);
      const std::string text = fmt::to_string(out);
      ASSERT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), want.size()) << text;
      ASSERT_EQ(text.back(), '\n');
      size_t from = 0;
      for (const json& reference : want) {
        const std::string line = text.substr(from, text.find('\n', from) + 1 - from);
        from += line.size();
        // format() reserves this much per line and then writes without
        // checks: the bound must hold, with features or without.
        ASSERT_LE(line.size(), formatter.max_line_bytes()) << line;
        json parsed;
        ASSERT_NO_THROW(parsed = json::parse(line)) << line;
        const auto errors = schema.check(parsed);
        ASSERT_TRUE(errors.empty()) << errors.front() << "\n" << line;
        std::string where = "$";
        ASSERT_TRUE(same_json(parsed, reference, where)) << where << "\n" << line;
        seen[parsed["proto"].get<std::string>() + (r.ip_version == 6 ? "/v6" : "/v4")]++;
        seen[parsed["event_type"].get<std::string>()]++;
        if (parsed.contains("flowscore") && parsed["flowscore"].contains("probabilities")) seen["multi"]++;
        if (parsed.contains("flowscore") && parsed["flowscore"].contains("features")) seen["features"]++;
        for (const char* k : {"evidence", "campaign_id", "alert_limited"})
          if (parsed.contains("flowscore") && parsed["flowscore"].contains(k)) seen[k]++;
      }
      if (want.size() == 2) {  // one flow: the same flow_id, the alert stamped at the flow's end
        const json a = json::parse(text.substr(0, text.find('\n'))), b = json::parse(text.substr(text.find('\n') + 1));
        EXPECT_EQ(a["flow_id"], b["flow_id"]);
        EXPECT_EQ(a["timestamp"], b["flow"]["end"]);
        EXPECT_EQ(b["timestamp"], b["flow"]["start"]);
        EXPECT_TRUE(b["flow"]["alerted"].get<bool>());
        EXPECT_FALSE(b.contains("alert"));
        seen["alert+flow"]++;
      }
    }
  }
  for (const char* key : {"TCP/v4", "TCP/v6", "UDP/v4", "UDP/v6", "SCTP/v4", "ICMP/v4", "IPv6-ICMP/v6", "47/v4",
                          "103/v6", "alert", "flow", "alert+flow", "multi", "features", "evidence", "campaign_id",
                          "alert_limited"}) {
    EXPECT_GT(seen[key], 0) << key;
  }
}

// output.format "ecs" and "eve+ecs": every line equals its slow twin
// (eve_reference.hpp), stays within the formatter's bound, and its ECS part
// matches docs/schema/ecs-event.schema.json; in eve+ecs the EVE part still
// matches eve-flow.schema.json.
TEST(EveFormatter, EcsViewsMatchTheirReferenceAndSchema) {
  std::ifstream ecs_in(test::source_root() + "/docs/schema/ecs-event.schema.json");
  ASSERT_TRUE(ecs_in) << "docs/schema/ecs-event.schema.json not found";
  const json ecs_schema = json::parse(ecs_in);
  test::SchemaChecker eve_schema(load_schema()), ecs_checker(ecs_schema);
  std::set<std::string> ecs_keys;
  for (const auto& [k, v] : ecs_schema["properties"].items()) ecs_keys.insert(k);
  std::mt19937_64 rng(43);
  std::map<std::string, int> seen;
  for (const RecordFormat format : {RecordFormat::kEcs, RecordFormat::kEveEcs}) {
    for (int variant = 0; variant < 4; ++variant) {
      EveOptions options = make_options(variant & 1, variant & 2, variant & 1 ? 4660 : 0);
      options.format = format;
      const EveFormatter formatter(options);
      for (int i = 0; i < 1500; ++i) {
        const FlowRecord r = random_record(rng, i);
        const std::vector<float> f = random_features(rng, options.feature_names.size());
        fmt::memory_buffer out;
        ASSERT_TRUE(formatter.format(r, f, out));
        const std::vector<json> want = test::eve_reference(r, options, f);
        const std::string text = fmt::to_string(out);
        ASSERT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), want.size()) << text;
        size_t from = 0;
        for (const json& reference : want) {
          const std::string line = text.substr(from, text.find('\n', from) + 1 - from);
          from += line.size();
          ASSERT_LE(line.size(), formatter.max_line_bytes()) << line;
          json parsed;
          ASSERT_NO_THROW(parsed = json::parse(line)) << line;
          std::string where = "$";
          ASSERT_TRUE(same_json(parsed, reference, where)) << where << "\n" << line;
          json ecs_part = json::object(), eve_part = json::object();
          for (const auto& [k, v] : parsed.items()) {
            const bool ecs_member = ecs_keys.contains(k) && k != "flowscore";  // eve+ecs shares flowscore
            if (format == RecordFormat::kEcs || ecs_member) ecs_part[k] = v;
            if (format == RecordFormat::kEveEcs && !ecs_member) eve_part[k] = v;
          }
          if (format == RecordFormat::kEveEcs) {  // the ECS part's flowscore object is EVE's plus the flow members
            json own = parsed.value("flowscore", json::object());
            own["flow_id"] = parsed["flow_id"];
            own["flow"] = {{"state", parsed["flow"]["state"]}, {"reason", parsed["flow"]["reason"]},
                           {"alerted", parsed["flow"]["alerted"]}};
            ecs_part["flowscore"] = own;
            const auto eve_errors = eve_schema.check(eve_part);
            ASSERT_TRUE(eve_errors.empty()) << eve_errors.front() << "\n" << line;
          }
          const auto errors = ecs_checker.check(ecs_part);
          ASSERT_TRUE(errors.empty()) << errors.front() << "\n" << line;
          seen[parsed["event"]["kind"].get<std::string>() + "/" + std::string(record_format_name(format))]++;
          if (parsed["network"].contains("transport")) seen[parsed["network"]["transport"].get<std::string>()]++;
          if (parsed["observer"].contains("ingress")) seen["ingress"]++;
          if (parsed["event"]["type"].size() == 2 && parsed["event"]["type"][1] == "info") seen["checkpoint"]++;
        }
      }
    }
  }
  for (const char* key : {"alert/ecs", "event/ecs", "alert/eve+ecs", "event/eve+ecs", "tcp", "udp", "icmp",
                          "ipv6-icmp", "sctp", "ingress", "checkpoint"})
    EXPECT_GT(seen[key], 0) << key;
}

TEST(EveFormatter, AppendsWithoutAllocatingOnceTheBufferIsWarm) {
  for (const RecordFormat format : {RecordFormat::kEve, RecordFormat::kEcs, RecordFormat::kEveEcs}) {
    EveOptions options = make_options(true, true, 0);
    options.format = format;
    const EveFormatter formatter(options);
    std::mt19937_64 rng(7);
    std::vector<FlowRecord> records;
    for (int i = 0; i < 512; ++i) records.push_back(random_record(rng, i));
    const std::vector<float> f = random_features(rng, options.feature_names.size());
    fmt::memory_buffer out;
    out.reserve(records.size() * 2 * formatter.max_line_bytes());  // room for the longest lines: no growth
    g_allocations = 0;
    g_count_allocations = true;
    for (const FlowRecord& r : records) formatter.format(r, f, out);
    g_count_allocations = false;
    EXPECT_EQ(g_allocations.load(), 0) << record_format_name(format);
    // Appended, not overwritten: one parseable line per event of each record.
    const std::string all = fmt::to_string(out);
    size_t lines = 0, events = 0;
    for (size_t pos = 0, nl; (nl = all.find('\n', pos)) != std::string::npos; pos = nl + 1, ++lines) {
      EXPECT_TRUE(json::accept(all.substr(pos, nl - pos)));
    }
    for (const FlowRecord& r : records) events += test::eve_reference(r, options, f).size();
    EXPECT_EQ(lines, events);
  }
}

TEST(EveFormatter, WrongFeatureCountIsReportedAndOmitted) {
  const EveOptions options = make_options(true, false, 0);
  const EveFormatter formatter(options);
  std::mt19937_64 rng(9);
  FlowRecord r = random_record(rng, 0);
  r.judgement = {};  // no campaign_id: the flowscore object holds the record's id alone
  const std::vector<float> too_few(options.feature_names.size() - 1, 1.0f);
  fmt::memory_buffer out;
  EXPECT_FALSE(formatter.format(r, too_few, out));
  const json parsed = json::parse(fmt::to_string(out));
  EXPECT_EQ(parsed["flowscore"].size(), 1u) << parsed.dump();
  EXPECT_TRUE(parsed["flowscore"].contains("record_id"));
  test::SchemaChecker schema(load_schema());
  EXPECT_TRUE(schema.check(parsed).empty());
}

// A class's signature_id follows its name, not its place among the classes,
// so adding a class renumbers no rule; a configured id wins; rev is the model.
TEST(EveFormatter, SignatureIdsStayWithTheClassName) {
  std::mt19937_64 rng(8);
  const auto alert_for = [&](const std::vector<ClassInfo>& classes, uint8_t label, const std::string& hash) {
    EveOptions options = make_options(false, false, 0);
    options.model.hash = hash;
    options.model.classes = classes;
    EveFormatter formatter(options);
    FlowRecord r = random_record(rng, 0);
    r.verdict = Verdict{};
    r.judgement = Judgement{};  // no policy: the alert is the label's
    r.verdict.scored = r.verdict.alert = true;
    r.verdict.num_classes = static_cast<uint8_t>(classes.size());
    r.verdict.label = label;
    r.verdict.score = r.verdict.proba[label] = 0.9f;
    fmt::memory_buffer out;
    formatter.format(r, {}, out);
    const std::string text = fmt::to_string(out);
    return json::parse(text.substr(0, text.find('\n')))["alert"];  // the alert event comes first
  };
  const json before = alert_for({{"benign", "", 3}, {"flood", "", 2}}, 1, "29e2515c2bd8");
  const json after = alert_for({{"benign", "", 3}, {"amplification", "", 2}, {"flood", "", 2}}, 2, "29e2515c2bd8");
  EXPECT_EQ(before["signature_id"], after["signature_id"]);
  EXPECT_EQ(before["signature_id"].get<uint32_t>(), class_signature_id("flood"));
  EXPECT_GE(before["signature_id"].get<uint32_t>(), 1'100'000u);
  EXPECT_LT(before["signature_id"].get<uint32_t>(), 1'200'000u);
  EXPECT_NE(class_signature_id("flood"), class_signature_id("scan"));
  EXPECT_EQ(before["rev"], 0x29e2515);
  const json configured = alert_for({{"benign", "", 3}, {"flood", "", 2, 2'000'001}}, 1, "unknown");
  EXPECT_EQ(configured["signature_id"], 2'000'001);
  EXPECT_EQ(configured["rev"], 1);
}

TEST(EveFormatter, EachVerdictIsNamedAfterTheModelThatGaveIt) {
  // A model reload while records are in flight: each line must name the
  // model that scored it (name, hash, class labels, alert), not the newest.
  EveOptions options = make_options(false, false, 0);
  options.model_generation = 1;
  EveFormatter formatter(options);
  ModelInfo reloaded;
  reloaded.name = "reloaded";
  reloaded.hash = "sha256:feed";
  reloaded.classes = {{"benign", "", 3}, {"scan", "Detection of a Network Scan", 3}, {"a much longer class name than before, to grow the bound", "", 2}};
  formatter.add_model(2, reloaded);
  std::mt19937_64 rng(3);
  const auto line_for = [&](uint64_t generation, uint8_t label) {
    FlowRecord r = random_record(rng, 0);
    r.verdict = Verdict{};
    r.judgement = Judgement{};  // no policy: the alert is the label's
    r.verdict.scored = true;
    r.verdict.alert = true;
    r.verdict.num_classes = 3;
    r.verdict.label = label;
    r.verdict.score = r.verdict.proba[label] = 0.9f;
    r.verdict.model_generation = generation;
    fmt::memory_buffer out;
    formatter.format(r, {}, out);
    const std::string text = fmt::to_string(out);
    EXPECT_LE(text.find('\n') + 1, formatter.max_line_bytes());
    return json::parse(text.substr(0, text.find('\n')));  // the alert event
  };
  const json old_line = line_for(1, 1), new_line = line_for(2, 2);
  EXPECT_EQ(old_line["flowscore"]["model"]["name"], options.model.name);
  EXPECT_EQ(old_line["flowscore"]["label"], options.model.classes[1].name);
  EXPECT_EQ(old_line["alert"]["signature"], "flowscore: " + options.model.classes[1].name);
  EXPECT_TRUE(old_line["flowscore"]["probabilities"].contains(options.model.classes[0].name));
  EXPECT_EQ(new_line["flowscore"]["model"]["name"], "reloaded");
  EXPECT_EQ(new_line["flowscore"]["model"]["hash"], "sha256:feed");
  EXPECT_EQ(new_line["flowscore"]["label"], reloaded.classes[2].name);
  EXPECT_TRUE(new_line["flowscore"]["probabilities"].contains("scan"));
  // Memory stays bounded: after many reloads only the newest models are kept,
  // and a verdict of a forgotten one names no model rather than a wrong one.
  for (uint64_t g = 3; g < 3 + 2 * EveFormatter::kModelsKept; ++g) {
    reloaded.name = fmt::format("reload {}", g);
    formatter.add_model(g, reloaded);
  }
  const uint64_t newest = 2 + 2 * EveFormatter::kModelsKept, oldest_kept = newest - EveFormatter::kModelsKept + 1;
  EXPECT_EQ(line_for(newest, 1)["flowscore"]["model"]["name"], fmt::format("reload {}", newest));
  EXPECT_EQ(line_for(oldest_kept, 1)["flowscore"]["model"]["name"], fmt::format("reload {}", oldest_kept));
  const json forgotten = line_for(1, 1);
  EXPECT_EQ(forgotten["flowscore"]["model"]["name"], "unknown");
  EXPECT_EQ(forgotten["flowscore"]["model"]["hash"], "unknown");
  EXPECT_EQ(forgotten["flowscore"]["label"], "class_1");
}

TEST(EveFormatter, FieldValuesForOneKnownFlow) {
  // A TCP flow written out by hand: values checked against independent facts
  // (Suricata's time format, inet_ntop's text), not against the formatter.
  FlowRecord r{};
  r.ip_version = 6;
  r.proto = 6;
  inet_pton(AF_INET6, "2001:db8::1", r.src.addr.bytes.data());
  inet_pton(AF_INET6, "::ffff:10.1.2.3", r.dst.addr.bytes.data());
  r.src.port = 51000;
  r.dst.port = 443;
  r.flow_id = 1234567;
  r.state = FlowState::kClosed;
  r.reason = EndReason::kTcpClose;
  r.stats.first_ts_ns = 1259006573181233999ull;  // 2009-11-23T20:02:53.181233999Z
  r.stats.last_ts_ns = 1259006575000000000ull;   // 1.8 s later, 2 whole-second ticks
  r.stats.pkts_fwd = 10;
  r.stats.pkts_bwd = 8;
  r.stats.wire_bytes_fwd = 1500;
  r.stats.wire_bytes_bwd = 9000;
  fmt::memory_buffer out;
  EveFormatter(EveOptions{}).format(r, {}, out);
  const json j = json::parse(fmt::to_string(out));
  EXPECT_EQ(j["timestamp"], "2009-11-23T20:02:53.181233+0000");
  EXPECT_EQ(j["event_type"], "flow");
  EXPECT_EQ(j["src_ip"], "2001:db8::1");
  EXPECT_EQ(j["dest_ip"], "::ffff:10.1.2.3");
  EXPECT_EQ(j["src_port"], 51000);
  EXPECT_EQ(j["dest_port"], 443);
  EXPECT_EQ(j["proto"], "TCP");
  EXPECT_EQ(j["flow"]["age"], 2);
  EXPECT_EQ(j["flow"]["end"], "2009-11-23T20:02:55.000000+0000");
  EXPECT_EQ(j["flow"]["state"], "closed");
  EXPECT_EQ(j["flow"]["reason"], "tcp_close");
  EXPECT_EQ(j["flow"]["bytes_toclient"], 9000);
  EXPECT_EQ(j["flow"]["alerted"], false);
  // Unscored: the flowscore object holds the record's id alone.
  EXPECT_EQ(j["flowscore"], json({{"record_id", test::reference_record_id(r.flow_id, r.stats.last_ts_ns, false)}}));
  EXPECT_FALSE(j.contains("host"));
}

TEST(EveSchema, RejectsLinesThatBreakTheContract) {
  test::SchemaChecker schema(load_schema());
  std::mt19937_64 rng(11);
  const EveOptions options = make_options(false, false, 0);
  FlowRecord tcp = random_record(rng, 0);  // proto 6, unscored
  fmt::memory_buffer out;
  EveFormatter(options).format(tcp, {}, out);
  const json good = json::parse(fmt::to_string(out));
  ASSERT_TRUE(schema.check(good).empty());
  const auto broken = [&](auto mutate) {
    json j = good;
    mutate(j);
    return !schema.check(j).empty();
  };
  EXPECT_TRUE(broken([](json& j) { j.erase("flow"); }));
  EXPECT_TRUE(broken([](json& j) { j["surprise"] = 1; }));
  EXPECT_TRUE(broken([](json& j) { j.erase("src_port"); }));
  EXPECT_TRUE(broken([](json& j) { j["proto"] = "ICMP"; }));  // ports on ICMP, no type/code
  EXPECT_TRUE(broken([](json& j) { j["event_type"] = "alert"; }));
  EXPECT_TRUE(broken([](json& j) { j["timestamp"] = "2009-11-23 20:02:53"; }));
  EXPECT_TRUE(broken([](json& j) { j["community_id"] = "1:abc"; }));
  EXPECT_TRUE(broken([](json& j) { j["flow"]["reason"] = "unknown"; }));
  EXPECT_TRUE(broken([](json& j) { j["flow"]["pkts_toserver"] = -1; }));
  EXPECT_TRUE(broken([](json& j) { j["dest_port"] = 70000; }));
  EXPECT_TRUE(broken([](json& j) { j["flowscore"] = {{"score", 0.5}}; }));
}

}  // namespace
}  // namespace flowscore
