// Config loading: the shipped file loads; every error names its key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "flowscore/config.hpp"
#include "flowscore/printable.hpp"

using namespace flowscore;

namespace {
std::string write_temp(const std::string& text) {
  char path[] = "/tmp/flowscore-config-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::string& text) {
  Config cfg;
  std::string err;
  const std::string path = write_temp(text);
  EXPECT_FALSE(load_config(path, cfg, err)) << text;
  std::remove(path.c_str());
  return err;
}
}  // namespace

TEST(Config, TheShippedConfigLoadsAndMatchesItsDocumentedDefaults) {
  Config cfg;
  std::string err;
  ASSERT_TRUE(load_config(std::string(FLOWSCORE_SOURCE_DIR) + "/conf/flowscore.json", cfg, err)) << err;
  EXPECT_EQ(cfg.flow.idle_timeout_ns, 60'000'000'000u);
  EXPECT_EQ(cfg.flow.capacity, (1u << 20) - 1);  // 2^k - 1: rte_hash's free-slot ring does not double
  EXPECT_EQ(cfg.features.pair_window_ns, 60'000'000'000u);
  EXPECT_EQ(cfg.output.path, "-");
  EXPECT_FALSE(cfg.output.include_features);
  EXPECT_EQ(cfg.output.stats_interval_ns, 60'000'000'000u);
  EXPECT_EQ(cfg.output.file_mode, "auto");
  EXPECT_EQ(cfg.output.format, "eve");
}

TEST(Config, ErrorsNameTheKeyAndTheProblem) {
  EXPECT_NE(load_error(R"({"flow": {"idel_timeout": 5}})").find("flow.idel_timeout: unknown key"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"idle_timeout": -1}})").find("flow.idle_timeout: must be a positive"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"table_size": "big"}})").find("flow.table_size"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"active_timeout": 5000}})").find("flow.active_timeout"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"hugepages": "maybe"}})").find("dpdk.hugepages"), std::string::npos);
  EXPECT_NE(load_error(R"({"model": {"score_on": "gpu"}})").find("model.score_on"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"read_on": "nic"}})").find("dpdk.read_on"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"distribute": "rss"}})").find("dpdk.distribute"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"queues": "0:3-1"}})").find("dpdk.queues: '0:3-1' is not PORT:QUEUE"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"rss_hash": "l4"}})").find("dpdk.rss_hash"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"mbufs": 500}})").find("dpdk.mbufs: must be 0"), std::string::npos);
  EXPECT_NE(load_error(R"({"dpdk": {"rx_descriptors": 8}})").find("dpdk.rx_descriptors"), std::string::npos);
  EXPECT_NE(load_error(R"({"features": {"pair_window": 0.5}})").find("features.pair_window: must be at least 1 second"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"model": {"classes": {"syn_flood": {"threshold": 2}}}})").find("syn_flood"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"community_id_seed": 70000}})").find("output.community_id_seed"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"stats_interval": -1}})").find("output.stats_interval: must be 0 (off) or at least 1 second"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"file_mode": "truncate"}})").find("output.file_mode"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"rotate_bytes": 1000}})").find("output.rotate_bytes: must be 0 (off) or at least 65536"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"rotate_interval": 0.5}})").find("output.rotate_interval"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"rotate_gzip": "yes"}})").find("output.rotate_gzip"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"fsync_interval": -2}})").find("output.fsync_interval"), std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"also": [{"target": "x.json", "benign_sample": 0.1}]}})").find("benign_sample goes with"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"also": [{"target": "x.json", "events": "alerts", "benign_sample": 2}]}})")
                .find("must be a number from 0 to 1"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"output": {"format": "ECS"}})").find(R"(output.format: must be one of "eve", "ecs", "eve+ecs")"),
            std::string::npos);
  EXPECT_NE(load_error(R"([1, 2])").find("top level"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": )").find("not valid JSON"), std::string::npos);
  // A number too big for a double is nlohmann's out_of_range, not a
  // parse_error: it escaped and ended the process (found by tests/fuzz).
  EXPECT_NE(load_error(R"({"flow": {"idle_timeout": 2e812}})").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"expiry_resolution": 100, "idle_timeout": 10}})").find("flow.expiry_resolution"),
            std::string::npos);
}

TEST(Config, OverridesUseTheSameValidation) {
  Config cfg;
  std::string err;
  ASSERT_TRUE(apply_override("flow.idle_timeout", "2.5", cfg, err)) << err;
  EXPECT_EQ(cfg.flow.idle_timeout_ns, 2'500'000'000u);
  ASSERT_TRUE(apply_override("output.path", "eve.json", cfg, err)) << err;  // a bare string
  EXPECT_EQ(cfg.output.path, "eve.json");
  ASSERT_TRUE(apply_override("dpdk.queues", "0:0-3,1:0-3", cfg, err)) << err;  // a bare string, not a number
  EXPECT_EQ(cfg.dpdk.queues, "0:0-3,1:0-3");
  ASSERT_TRUE(apply_override("output.stats_interval", "0", cfg, err)) << err;  // off
  EXPECT_EQ(cfg.output.stats_interval_ns, 0u);
  EXPECT_FALSE(apply_override("flow.table_size", "-5", cfg, err));
  EXPECT_NE(err.find("flow.table_size"), std::string::npos);
  EXPECT_FALSE(apply_override("no.such_key", "1", cfg, err));
  EXPECT_NE(err.find("no.such_key"), std::string::npos);
}

TEST(Config, OverridesReachOneFieldOfOneClass) {
  Config cfg;
  std::string err;
  const std::string path = write_temp(
      R"({"model": {"classes": {"flood": {"threshold": 0.5, "category": "Attempted DoS", "severity": 2}}}})");
  ASSERT_TRUE(load_config(path, cfg, err)) << err;
  ASSERT_TRUE(apply_override("model.classes.flood.threshold", "0.9", cfg, err)) << err;
  ASSERT_EQ(cfg.model.classes.size(), 1u);
  EXPECT_FLOAT_EQ(cfg.model.classes[0].threshold, 0.9f);
  EXPECT_EQ(cfg.model.classes[0].category, "Attempted DoS");  // the other fields stay
  EXPECT_EQ(cfg.model.classes[0].severity, 2);
  // A class the config did not have is added with the defaults.
  ASSERT_TRUE(apply_override("model.classes.DoS Hulk.category", "Denial of Service", cfg, err)) << err;
  ASSERT_EQ(cfg.model.classes.size(), 2u);
  EXPECT_EQ(cfg.model.classes[1].name, "DoS Hulk");
  EXPECT_EQ(cfg.model.classes[1].category, "Denial of Service");
  EXPECT_EQ(cfg.model.classes[1].severity, 3);
  EXPECT_FLOAT_EQ(cfg.model.classes[1].threshold, 0.5f);
  // Bad fields and values name the key, and change nothing.
  EXPECT_FALSE(apply_override("model.classes.flood.colour", "red", cfg, err));
  EXPECT_NE(err.find("model.classes.flood.colour: unknown key"), std::string::npos) << err;
  EXPECT_FALSE(apply_override("model.classes.flood.threshold", "2", cfg, err));
  EXPECT_NE(err.find("must be a number from 0 to 1"), std::string::npos) << err;
  EXPECT_FLOAT_EQ(cfg.model.classes[0].threshold, 0.9f);
  EXPECT_FALSE(apply_override("model.classes.flood", "0.9", cfg, err));
  EXPECT_NE(err.find("model.classes.<class>."), std::string::npos) << err;
  EXPECT_EQ(cfg.model.classes.size(), 2u);
  std::remove(path.c_str());
}

TEST(Config, StringKeysTakeTextThatLooksLikeANumber) {
  Config cfg;
  std::string err;
  ASSERT_TRUE(apply_override("output.sensor_name", "123", cfg, err)) << err;
  EXPECT_EQ(cfg.output.sensor_name, "123");
  ASSERT_TRUE(apply_override("output.sensor_name", "true", cfg, err)) << err;
  EXPECT_EQ(cfg.output.sensor_name, "true");
  ASSERT_TRUE(apply_override("output.sensor_name", "\"quoted\"", cfg, err)) << err;
  EXPECT_EQ(cfg.output.sensor_name, "quoted");
  // A number key still refuses text, with the number's message.
  EXPECT_FALSE(apply_override("flow.idle_timeout", "soon", cfg, err));
  EXPECT_NE(err.find("must be a positive number of seconds"), std::string::npos) << err;
  EXPECT_FALSE(apply_override("output.include_features", "1", cfg, err));
  EXPECT_NE(err.find("must be true or false"), std::string::npos) << err;
}

TEST(Config, ClassPoliciesAreRead) {
  Config cfg;
  std::string err;
  const std::string path = write_temp(
      R"({"model": {"classes": {"syn_flood": {"threshold": 0.9, "category": "Attempted DoS", "severity": 1}}}})");
  ASSERT_TRUE(load_config(path, cfg, err)) << err;
  ASSERT_EQ(cfg.model.classes.size(), 1u);
  EXPECT_EQ(cfg.model.classes[0].name, "syn_flood");
  EXPECT_FLOAT_EQ(cfg.model.classes[0].threshold, 0.9f);
  EXPECT_EQ(cfg.model.classes[0].category, "Attempted DoS");
  EXPECT_EQ(cfg.model.classes[0].severity, 1);
  std::remove(path.c_str());
}

TEST(Config, AlertPolicyContextAndCampaignsAreReadAndChecked) {
  Config cfg;
  std::string err;
  ASSERT_TRUE(load_config(std::string(FLOWSCORE_SOURCE_DIR) + "/conf/flowscore.json", cfg, err)) << err;
  EXPECT_EQ(cfg.alerting.mode, "evidence");
  EXPECT_EQ(cfg.alerting.thin_packets, 2u);
  EXPECT_EQ(cfg.context.window_ns, 60'000'000'000u);
  EXPECT_TRUE(cfg.campaigns.enabled);
  const auto flood = std::find_if(cfg.model.classes.begin(), cfg.model.classes.end(),
                                  [](const ClassPolicy& c) { return c.name == "flood"; });
  ASSERT_NE(flood, cfg.model.classes.end());
  ASSERT_FALSE(flood->evidence.empty());
  EXPECT_EQ(flood->limit.type, AlertLimit::Type::kLimit);

  // --set reaches one evidence value and one limit field of one class.
  ASSERT_TRUE(apply_override("model.classes.flood.evidence.dst_sources", "77", cfg, err)) << err;
  ASSERT_TRUE(apply_override("model.classes.flood.limit.track", "by_src", cfg, err)) << err;
  const auto it = std::find_if(flood->evidence.begin(), flood->evidence.end(),
                               [](const EvidenceRule& e) { return e.value == ContextValue::kDstSources; });
  ASSERT_NE(it, flood->evidence.end());
  EXPECT_EQ(it->minimum, 77u);
  EXPECT_EQ(flood->limit.track, AlertLimit::Track::kBySrc);
  ASSERT_TRUE(apply_override("alerting.policy", "threshold", cfg, err)) << err;
  EXPECT_EQ(cfg.alerting.mode, "threshold");

  // Errors name the key.
  EXPECT_NE(load_error(R"({"model": {"classes": {"flood": {"evidence": {"fan_in": 3}}}}})")
                .find("class 'flood'.evidence: 'fan_in' is not a context value"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"model": {"classes": {"scan": {"limit": {"track": "by_port"}}}}})").find("track"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"alerting": {"suppress": [{"ip": "10.0.0.1/8"}]}})").find("alerting.suppress: entry 0"),
            std::string::npos);
  EXPECT_NE(load_error(R"({"alerting": {"policy": "vibes"}})").find("alerting.policy"), std::string::npos);
  EXPECT_NE(load_error(R"({"context": {"window": 0.5}})").find("context.window"), std::string::npos);
  EXPECT_NE(load_error(R"({"campaigns": {"max_open": 0}})").find("campaigns.max_open"), std::string::npos);
  Config ok;
  const std::string path = write_temp(R"({"alerting": {"suppress": [{"ip": "192.0.2.0/24", "track": "by_src"},
                                                                    {"ip": "2001:db8::53"}]}})");
  ASSERT_TRUE(load_config(path, ok, err)) << err;
  std::remove(path.c_str());
  ASSERT_EQ(ok.alerting.suppress.size(), 2u);
  EXPECT_EQ(ok.alerting.suppress[0].track, Suppression::Track::kBySrc);
  EXPECT_EQ(ok.alerting.suppress[1].prefix, 128);
}

// Issue 14 §3: a config's own text in an error comes back printable, and
// UTF-8 stays as it is.
TEST(Config, AppProtoIsOffByDefaultAndItsKeysAreChecked) {
  Config cfg;
  std::string err;
  ASSERT_TRUE(load_config(std::string(FLOWSCORE_SOURCE_DIR) + "/conf/flowscore.json", cfg, err)) << err;
  EXPECT_FALSE(cfg.app_proto.enabled);
  EXPECT_EQ(cfg.app_proto.flows, 4096u);
  EXPECT_EQ(cfg.app_proto.packets, 10u);
  EXPECT_NE(load_error(R"({"flow": {"app_proto": "yes"}})").find("flow.app_proto: "), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"app_proto_flows": 0}})").find("flow.app_proto_flows: must be a whole number from 1 to 65535"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"app_proto_flows": 65536}})").find("flow.app_proto_flows"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"app_proto_packets": 0}})").find("flow.app_proto_packets: must be a whole number from 1 to 255"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"app_proto_packets": 256}})").find("flow.app_proto_packets"), std::string::npos);
  EXPECT_NE(load_error(R"({"flow": {"app_proto_packets": 2.5}})").find("flow.app_proto_packets"), std::string::npos);
  if (!app_proto_available()) {  // a build without nDPI refuses the key, saying why
    EXPECT_NE(load_error(R"({"flow": {"app_proto": true}})").find("built without nDPI"), std::string::npos);
    return;
  }
  ASSERT_TRUE(apply_override("flow.app_proto", "true", cfg, err)) << err;
  ASSERT_TRUE(apply_override("flow.app_proto_packets", "4", cfg, err)) << err;
  EXPECT_TRUE(cfg.app_proto.enabled);
  EXPECT_EQ(cfg.app_proto.packets, 4u);
  // Only the workers see packet bytes: a main lcore that deals parsed frames cannot feed nDPI.
  EXPECT_FALSE(apply_override("dpdk.read_on", "main", cfg, err));
  EXPECT_NE(err.find("flow.app_proto: needs the workers to read"), std::string::npos) << err;
  EXPECT_NE(load_error(R"({"flow": {"app_proto": true}, "dpdk": {"distribute": "software"}})").find("dpdk.distribute"),
            std::string::npos);
}

TEST(Config, ErrorsQuoteTheFilesTextWithoutControlBytes) {
  // JSON's \u escapes put the control bytes into the key itself.
  const std::string err = load_error(R"({"flow": {"\u001b[2J\u001b]0;x\u0007": 1}})");
  EXPECT_EQ(err.find('\x1b'), std::string::npos) << err;
  EXPECT_NE(err.find("flow.\\x1b[2J\\x1b]0;x\\x07: unknown key"), std::string::npos) << err;
  std::string error;
  Config cfg;
  EXPECT_FALSE(apply_override("output.\x1b[31mred", "1", cfg, error));
  EXPECT_EQ(error.find('\x1b'), std::string::npos) << error;
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // UTF-8 kept
  EXPECT_EQ(printable("\xc2\x9b"), "\\xc2\\x9b");  // a C1 control (CSI) is not
}

namespace flowscore {
namespace {

// A flow needs a packet and a packet a 16-byte pcap record header: the
// table fitted to the captures' size can never fill, so it only shrinks.
TEST(FitFlowTable, CapacityFollowsTheCapturesSizeAndOnlyShrinks) {
  const std::string thousand = write_temp(std::string(16 * 1000, 'x'));  // at most 1,000 packets
  const std::string five_thousand = write_temp(std::string(16 * 5000, 'x'));
  Config cfg;
  cfg.flow.capacity = (1u << 20) - 1;
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {thousand}), 1023u);
  EXPECT_EQ(cfg.flow.capacity, 1023u);
  EXPECT_EQ(cfg.flow.pair_slots, ((1u << 20) - 1) / 2);  // pair_flows as with the configured table

  cfg = Config{};
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {thousand, five_thousand}), 8191u);  // 6,000 packets at most

  cfg = Config{};
  cfg.flow.capacity = 4095;  // already below the bound: unchanged
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {five_thousand}), 4095u);
  EXPECT_EQ(cfg.flow.pair_slots, 0u);

  cfg = Config{};
  cfg.fit_table_to_input = false;
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {thousand}), cfg.flow.capacity);
  EXPECT_EQ(cfg.flow.capacity, Config{}.flow.capacity);

  cfg = Config{};
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {thousand, "/no/such/capture"}), Config{}.flow.capacity);  // no bound
  EXPECT_EQ(fit_flow_table_to_captures(cfg, {}), Config{}.flow.capacity);  // live
  std::remove(thousand.c_str());
  std::remove(five_thousand.c_str());
}

}  // namespace
}  // namespace flowscore
