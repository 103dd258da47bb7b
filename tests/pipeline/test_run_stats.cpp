// RunStats and the EVE stats event: the sums over workers and ports, and the
// event's shape against docs/schema/eve-stats.schema.json.
#include <gtest/gtest.h>

#include <fstream>

#include "../../src/pipeline/run_stats.hpp"
#include "../output/json_schema_check.hpp"

using namespace flowscore;

namespace {

WorkerStats worker(uint64_t base) {
  WorkerStats w;
  w.packets.packets = 1000 * base;
  w.packets.wire_bytes = 64000 * base;
  w.packets.parse_drops[static_cast<size_t>(ParseStatus::kNotIp)] = 3 * base;
  w.packets.parse_drops[static_cast<size_t>(ParseStatus::kTruncatedL4)] = 2 * base;
  w.packets.parse_drops[static_cast<size_t>(ParseStatus::kBadL4Header)] = base;
  w.packets.fragments_unattributed = base;
  w.packets.bursts = 40 * base;
  w.flows.flows_created = 100 * base;
  w.flows.records_emitted = 90 * base;
  w.flows.records_dropped = base;
  w.flows.expired_idle = 50 * base;
  w.flows.expired_tcp_close = 30 * base;
  w.flows.evicted_pressure = 11 * base;
  w.scoring.flows_scored = 80 * base;
  w.scoring.batches = base;
  w.scoring.latency_max_tsc = 1000 * base;
  w.flows_active = 10 * base;
  w.flow_memory_bytes = 4096;
  return w;
}

RunStats sample() {
  RunStats s;
  s.uptime_ns = 61'500'000'000;
  s.workers = {worker(1), worker(2)};
  s.ports = {{0, 2000, 128000, 5, 1, 2}, {1, 1000, 64000, 0, 0, 0}};
  s.write_failures = 1;
  return s;
}

}  // namespace

TEST(RunStats, SumsWorkersAndTheWritersScoring) {
  RunStats s = sample();
  ScoreCounters writer;
  writer.flows_scored = 7;
  writer.batches = 1;
  writer.latency_max_tsc = 5000;
  s.sum(&writer);
  EXPECT_EQ(s.total.packets.packets, 3000u);
  EXPECT_EQ(s.total.flows.flows_created, 300u);
  EXPECT_EQ(s.total.flows_active, 30u);
  EXPECT_EQ(s.total.scoring.flows_scored, 80u + 160u + 7u);
  EXPECT_EQ(s.total.scoring.latency_max_tsc, 5000u);  // a maximum, not a sum
  EXPECT_EQ(s.malformed(), 3u * 3u);                   // truncated_l4 + bad_l4_header; not_ip is not malformed
}

TEST(RunStats, TheStatsEventCountsAsDocumentedAndFitsItsSchema) {
  RunStats s = sample();
  s.sum(nullptr);
  const auto event = stats_event(s, 1'700'000'000'000'000'000, 2'000'000'000, "sensor-1");
  const nlohmann::json doc = nlohmann::json::parse(event.dump());
  std::ifstream in(std::string(FLOWSCORE_SOURCE_DIR) + "/docs/schema/eve-stats.schema.json");
  ASSERT_TRUE(in);
  test::SchemaChecker schema(nlohmann::json::parse(in));
  const auto errors = schema.check(doc);
  EXPECT_TRUE(errors.empty()) << errors.front() << "\n" << doc.dump();

  EXPECT_EQ(doc["timestamp"], "2023-11-14T22:13:20.000000+0000");
  EXPECT_EQ(doc["host"], "sensor-1");
  const auto& st = doc["stats"];
  EXPECT_EQ(st["uptime"], 61);
  // Everything that reached the ports, dropped or not (as Suricata's DPDK
  // capture counts), and the drops: imissed + rx_nombuf.
  EXPECT_EQ(st["capture"]["kernel_packets"], 2000 + 5 + 2 + 1000);
  EXPECT_EQ(st["capture"]["kernel_drops"], 5 + 2);
  EXPECT_EQ(st["capture"]["errors"], 1);
  EXPECT_EQ(st["decoder"]["pkts"], 3000);
  EXPECT_EQ(st["decoder"]["invalid"], 9);
  EXPECT_EQ(st["decoder"]["not_flowed"]["not_ip"], 9);
  EXPECT_EQ(st["decoder"]["not_flowed"]["fragment_unattributed"], 3);
  EXPECT_EQ(st["flow"]["ended"]["timeout"], 150);
  EXPECT_EQ(st["flow"]["ended"]["forced"], 33);
  EXPECT_EQ(st["flow"]["table_bytes"], 8192);
  EXPECT_EQ(st["flowscore"]["records_dropped"], 3);
  EXPECT_EQ(st["flowscore"]["write_failures"], 1);
  EXPECT_EQ(st["flowscore"]["workers"].size(), 2u);
  EXPECT_EQ(st["flowscore"]["workers"][1]["bursts"], 80);
  EXPECT_FALSE(st["flowscore"].contains("model")) << "no model loaded";

  // Each output's delivery: a file, and a Kafka topic behind a spool.
  s.outputs.push_back({"file eve.json", 0, 0, {}, {}, {}, {}});
  s.outputs.push_back({"kafka topic eve at 10.0.0.1:9092", 4096, 5, 12, 3, 100, 2});
  const nlohmann::json with_outputs = nlohmann::json::parse(stats_event(s, 0, 2'000'000'000, "").dump());
  EXPECT_TRUE(schema.check(with_outputs).empty()) << schema.check(with_outputs).front();
  const auto& outs = with_outputs["stats"]["flowscore"]["outputs"];
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_FALSE(outs[0].contains("spooled")) << "a file has no spool";
  EXPECT_EQ(outs[1]["lost_bytes"], 4096);
  EXPECT_EQ(outs[1]["lost_records"], 5);
  EXPECT_EQ(outs[1]["spooled"], 12);
  EXPECT_EQ(outs[1]["spool_dropped"], 3);
  EXPECT_EQ(outs[1]["delivered"], 100);
  EXPECT_EQ(outs[1]["failed"], 2);
  s.outputs.clear();

  s.model_name = "m";
  s.model_hash = "0a5e692e212a";
  const nlohmann::json scored = nlohmann::json::parse(stats_event(s, 0, 2'000'000'000, "").dump());
  EXPECT_TRUE(schema.check(scored).empty());
  EXPECT_FALSE(scored.contains("host"));
  EXPECT_EQ(scored["stats"]["flowscore"]["model"]["hash"], "0a5e692e212a");
  EXPECT_DOUBLE_EQ(scored["stats"]["flowscore"]["scoring"]["latency_max_ms"].get<double>(), 2000 / 2e6);
  EXPECT_FALSE(scored["stats"]["flowscore"].contains("alerting")) << "no alert policy ran";

  s.alerting = RunStats::Alerting{.alerts = 7, .limited = 5, .suppressed = 1, .campaigns = 2, .campaign_flows = 900,
                                  .context_forgotten = 3};
  const nlohmann::json judged = nlohmann::json::parse(stats_event(s, 0, 2'000'000'000, "").dump());
  const auto judged_errors = schema.check(judged);
  EXPECT_TRUE(judged_errors.empty()) << judged_errors.front();
  EXPECT_EQ(judged["stats"]["flowscore"]["alerting"]["alerts"], 7);
  EXPECT_EQ(judged["stats"]["flowscore"]["alerting"]["campaign_flows"], 900);
}

namespace flowscore {
namespace {

// The summary's accounting line: each term from its own counter, and a
// first sum that does not close said, not hidden.
TEST(RunStats, TheAccountingLineSaysWhereEveryPacketWent) {
  RunStats s;
  s.ports = {{0, 900, 0, 60, 0, 40}, {1, 100, 0, 0, 0, 0}};  // 1,000 received, 100 dropped by the ports
  s.ring_drops = {3, 7};
  s.total.packets.packets = 990;
  s.total.packets.parse_drops[static_cast<size_t>(ParseStatus::kNotIp)] = 20;
  s.total.packets.parse_drops[static_cast<size_t>(ParseStatus::kTruncatedL4)] = 5;
  s.total.packets.fragments_unattributed = 4;
  s.total.flows.insert_failed = 1;
  EXPECT_EQ(accounting_line(s, true),
            "accounting: 1100 packets arrived at the ports = 100 dropped by the ports + 10 dropped at full worker "
            "rings + 990 parsed by the workers; of those parsed: 960 in flows + 29 not flowed + 1 with no room in "
            "the flow index");
  s.total.packets.packets = 980;  // ten unaccounted
  EXPECT_NE(accounting_line(s, true).find("980 parsed by the workers + 10 not accounted"), std::string::npos)
      << accounting_line(s, true);
  EXPECT_EQ(accounting_line(s, false),
            "accounting: 980 packets read = 950 in flows + 29 not flowed + 1 with no room in the flow index");
}

}  // namespace
}  // namespace flowscore
