#include "flowscore/config.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "flowscore/printable.hpp"
#include "queue_plan.hpp"

namespace flowscore {

namespace {
using nlohmann::json;
using Setter = std::function<bool(const json&, Config&, std::string&)>;

bool as_seconds(const json& v, uint64_t& ns, std::string& why) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0 || v.get<double>() > 1e7) {
    why = "must be a positive number of seconds (at most 1e7)";
    return false;
  }
  ns = static_cast<uint64_t>(std::llround(v.get<double>() * 1e9));
  if (ns == 0) {  // 1e-12 s is positive, and nothing flowscore can time
    why = "must be at least 1 nanosecond (a positive number of seconds, at most 1e7)";
    return false;
  }
  return true;
}

// A period of whole-second granularity that 0 turns off.
bool as_seconds_or_off(const json& v, uint64_t& ns, std::string& why) {
  if (v.is_number() && v.get<double>() == 0) {
    ns = 0;
    return true;
  }
  if (as_seconds(v, ns, why) && ns >= 1'000'000'000) return true;
  why = "must be 0 (off) or at least 1 second (at most 1e7)";
  return false;
}

// pair_flows counts in epochs of at least a second, so an epoch
// number fits 32 bits (pair_activity.hpp).
bool as_window(const json& v, uint64_t& ns, std::string& why) {
  if (!as_seconds(v, ns, why)) return false;
  if (ns < 1'000'000'000) {
    why = "must be at least 1 second";
    return false;
  }
  return true;
}

template <typename T>
bool as_uint(const json& v, T& out, uint64_t lo, uint64_t hi, std::string& why) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi) {
    why = fmt::format("must be a whole number from {} to {}", lo, hi);
    return false;
  }
  out = static_cast<T>(v.get<uint64_t>());
  return true;
}

bool as_bool(const json& v, bool& out, std::string& why) {
  if (!v.is_boolean()) {
    why = "must be true or false";
    return false;
  }
  out = v.get<bool>();
  return true;
}

bool as_string(const json& v, std::string& out, std::string& why) {
  if (!v.is_string()) {
    why = "must be a string";
    return false;
  }
  out = v.get<std::string>();
  return true;
}

// One of a fixed set of words.
bool as_choice(const json& v, std::string& out, std::initializer_list<std::string_view> choices, std::string& why) {
  if (v.is_string() && std::find(choices.begin(), choices.end(), v.get<std::string>()) != choices.end()) {
    out = v.get<std::string>();
    return true;
  }
  why = fmt::format("must be one of \"{}\"", fmt::join(choices, "\", \""));
  return false;
}

// dpdk.mbufs: 0 (sized from the ports), or a pool of at least 1023.
bool as_mbufs(const json& v, uint32_t& out, std::string& why) {
  if (!as_uint(v, out, 0, 1u << 22, why)) return false;
  if (out != 0 && out < 1023) {
    why = "must be 0 (sized from the ports' queues) or a whole number from 1023 to 4194304";
    return false;
  }
  return true;
}

bool as_queue_map(const json& v, std::string& out, std::string& why) {
  if (!as_string(v, out, why)) return false;
  std::vector<QueueRef> refs;
  return out.empty() || parse_queue_map(out, refs, why);
}

bool as_probability(const json& v, float& out, std::string& why) {
  if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0)) {
    why = "must be a number from 0 to 1";
    return false;
  }
  out = v.get<float>();
  return true;
}

// `{"dst_sources": 20, ...}`: the context a thin flow of the class needs.
bool as_evidence(const json& v, std::vector<EvidenceRule>& out, std::string& why) {
  if (!v.is_object()) {
    why = fmt::format("must be an object: context value -> minimum, values: {}", fmt::join(kContextValueNames, ", "));
    return false;
  }
  out.clear();
  for (const auto& [name, min] : v.items()) {
    EvidenceRule e{};
    if (!context_value_from_name(name, e.value)) {
      why = fmt::format("'{}' is not a context value ({})", name, fmt::join(kContextValueNames, ", "));
      return false;
    }
    if (!as_uint(min, e.minimum, 1, UINT32_MAX, why)) {
      why = fmt::format("{}: {}", name, why);
      return false;
    }
    out.push_back(e);
  }
  return true;
}

// One field of a class's rate limit (Suricata's threshold.config).
bool as_limit_field(const std::string& field, const json& x, AlertLimit& l, std::string& why) {
  std::string word;
  if (field == "type") {
    if (!as_choice(x, word, {"none", "limit", "threshold", "both"}, why)) return false;
    l.type = word == "limit" ? AlertLimit::Type::kLimit
             : word == "threshold" ? AlertLimit::Type::kThreshold
             : word == "both" ? AlertLimit::Type::kBoth : AlertLimit::Type::kNone;
    return true;
  }
  if (field == "track") {
    if (!as_choice(x, word, {"by_src", "by_dst", "by_rule"}, why)) return false;
    l.track = word == "by_src" ? AlertLimit::Track::kBySrc
              : word == "by_dst" ? AlertLimit::Track::kByDst : AlertLimit::Track::kByRule;
    return true;
  }
  if (field == "count") return as_uint(x, l.count, 1, UINT32_MAX, why);
  if (field == "seconds") return as_seconds(x, l.seconds_ns, why);
  why = "unknown key (expected type, track, count, seconds)";
  return false;
}

bool as_limit(const json& v, AlertLimit& l, std::string& why) {
  if (!v.is_object()) {
    why = "must be an object {type, track, count, seconds}";
    return false;
  }
  for (const auto& [k, x] : v.items()) {
    std::string sub;
    if (!as_limit_field(k, x, l, sub)) {
      why = fmt::format("{}: {}", k, sub);
      return false;
    }
  }
  return true;
}

// One field of a class's alert policy; `evidence.<value>` and `limit.<field>`
// reach inside those objects (--set).
bool as_class_field(const std::string& field, const json& x, ClassPolicy& c, std::string& why) {
  if (field.starts_with("evidence.")) {
    json one = json::object();
    one[field.substr(9)] = x;
    std::vector<EvidenceRule> rule;
    if (!as_evidence(one, rule, why)) return false;
    std::erase_if(c.evidence, [&](const EvidenceRule& e) { return e.value == rule[0].value; });
    c.evidence.push_back(rule[0]);
    return true;
  }
  if (field.starts_with("limit.")) return as_limit_field(field.substr(6), x, c.limit, why);
  return field == "threshold"        ? as_probability(x, c.threshold, why)
         : field == "thin_threshold" ? as_probability(x, c.thin_threshold, why)
         : field == "evidence"       ? as_evidence(x, c.evidence, why)
         : field == "limit"          ? as_limit(x, c.limit, why)
         : field == "category"       ? as_string(x, c.category, why)
         : field == "severity"       ? as_uint(x, c.severity, 1, 255, why)
         : field == "signature_id"   ? as_uint(x, c.signature_id, 1, 2'147'483'647, why)
                                     : (why = "unknown key (expected threshold, thin_threshold, evidence, limit, "
                                              "category, severity, signature_id)",
                                        false);
}

// `[{"ip": "10.0.0.0/8", "track": "by_src"}, ...]`: addresses that never alert.
bool as_suppress(const json& v, std::vector<Suppression>& out, std::string& why) {
  if (!v.is_array()) {
    why = "must be a list of {\"ip\": CIDR, \"track\": by_src|by_dst|by_either}";
    return false;
  }
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    Suppression s;
    std::string track = "by_either";
    if (!e.is_object() || !e.contains("ip") || !e["ip"].is_string() || !parse_cidr(e["ip"].get<std::string>(), s)) {
      why = fmt::format("entry {}: needs \"ip\", an address or CIDR network without host bits", i);
      return false;
    }
    for (const auto& [k, x] : e.items()) {
      if (k == "ip") continue;
      if (k != "track" || !as_choice(x, track, {"by_src", "by_dst", "by_either"}, why)) {
        why = fmt::format("entry {}: {}", i, k == "track" ? why : "unknown key (expected ip, track)");
        return false;
      }
    }
    s.track = track == "by_src" ? Suppression::Track::kBySrc
              : track == "by_dst" ? Suppression::Track::kByDst : Suppression::Track::kByEither;
    out.push_back(std::move(s));
  }
  return true;
}

// output.also: ["TARGET", {"target": "TARGET", "events": "all"|"alerts"}, ...]
bool as_outputs(const json& v, std::vector<Config::Output::Extra>& out, std::string& why) {
  if (!v.is_array()) {
    why = "must be a list of targets, or of {\"target\": TARGET, \"events\": \"all\"|\"alerts\"}";
    return false;
  }
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    Config::Output::Extra extra;
    const json& e = v[i];
    bool ok = e.is_string() ? as_string(e, extra.target, why) : e.is_object() && e.contains("target");
    if (ok && e.is_object()) {
      for (const auto& [k, x] : e.items()) {
        ok = k == "target"          ? as_string(x, extra.target, why)
             : k == "events"        ? as_choice(x, extra.events, {"all", "alerts"}, why)
             : k == "benign_sample" ? as_probability(x, extra.benign_sample, why)
                                    : (why = "unknown key (expected target, events, benign_sample)", false);
        if (!ok) break;
      }
      if (ok && extra.benign_sample > 0 && extra.events != "alerts")
        ok = (why = "benign_sample goes with \"events\": \"alerts\" (\"all\" has every flow already)", false);
    } else if (!ok) {
      why = "needs a target";
    }
    if (ok && extra.target.empty()) ok = (why = "an empty target", false);
    if (!ok) {
      why = fmt::format("entry {}: {}", i, why);
      return false;
    }
    out.push_back(std::move(extra));
  }
  return true;
}

bool as_classes(const json& v, std::vector<ClassPolicy>& out, std::string& why) {
  if (!v.is_object()) {
    why = "must be an object: class name -> {threshold, category, severity}";
    return false;
  }
  out.clear();
  for (const auto& [name, pol] : v.items()) {
    if (!name.empty() && name[0] == '_') continue;  // "_comment"
    ClassPolicy c;
    c.name = name;
    if (!pol.is_object()) {
      why = fmt::format("class '{}' must be an object", name);
      return false;
    }
    for (const auto& [k, x] : pol.items()) {
      std::string sub;
      if (!as_class_field(k, x, c, sub)) {
        why = fmt::format("class '{}'.{}: {}", name, k, sub);
        return false;
      }
    }
    out.push_back(std::move(c));
  }
  return true;
}

// `--set model.classes.<name>.<field>=value`: one field of one class's
// policy, the class added (with the defaults) when the config has none.
constexpr std::string_view kClassesPrefix = "model.classes.";

bool set_class_field(const std::string& key, const json& v, Config& cfg, std::string& why) {
  const std::string rest = key.substr(kClassesPrefix.size());
  // The field is the last component, or the last two inside evidence/limit.
  size_t dot = rest.rfind('.');
  for (const std::string_view inner : {".evidence.", ".limit."})
    if (const size_t at = rest.rfind(inner); at != std::string::npos && at + inner.size() - 1 == dot) dot = at;
  if (dot == std::string::npos || dot == 0) {
    why = "expected model.classes.<class>.<threshold|category|severity>";
    return false;
  }
  const std::string name = rest.substr(0, dot);
  auto it = std::find_if(cfg.model.classes.begin(), cfg.model.classes.end(),
                         [&](const ClassPolicy& c) { return c.name == name; });
  ClassPolicy policy = it != cfg.model.classes.end() ? *it : ClassPolicy{.name = name};
  if (!as_class_field(rest.substr(dot + 1), v, policy, why)) return false;
  if (it != cfg.model.classes.end()) {
    *it = std::move(policy);
  } else {
    cfg.model.classes.push_back(std::move(policy));
  }
  return true;
}

// Every key flowscore reads, by dotted path. A key not here is an error: a
// typo must not silently fall back to a default.
const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"flow.table_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.flow.capacity, 8, 1u << 30, w); }},
      {"flow.vlan_tracking", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.flow.vlan_in_key, w); }},
      {"flow.idle_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.idle_timeout_ns, w); }},
      {"flow.active_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.active_timeout_ns, w); }},
      {"flow.tcp_close_linger", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.tcp_linger_ns, w); }},
      {"flow.expiry_resolution", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.wheel_tick_ns, w); }},
      {"flow.fit_table_to_input", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.fit_table_to_input, w); }},
      {"flow.fragment_table_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.fragment_table_size, 4, 1u << 24, w); }},
      {"flow.app_proto", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.app_proto.enabled, w); }},
      {"flow.app_proto_flows", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.app_proto.flows, 1, AppProtoConfig::kMaxFlows, w); }},
      {"flow.app_proto_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.app_proto.packets, 1, AppProtoConfig::kMaxPackets, w); }},
      {"flow.fragment_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.fragment_timeout_ns, w); }},
      {"features.first_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.features.first_packets, 0, FeatureConfig::kMaxFirstPackets, w); }},
      {"features.activity_gap", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.features.activity_gap_ns, w); }},
      {"features.pair_window", [](const json& v, Config& c, std::string& w) { return as_window(v, c.features.pair_window_ns, w); }},
      {"output.path", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.path, w); }},
      {"output.also", [](const json& v, Config& c, std::string& w) { return as_outputs(v, c.output.also, w); }},
      {"output.spool_dir", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.spool_dir, w); }},
      {"output.spool_bytes", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.spool_bytes, 1u << 16, 1ull << 50, w); }},
      {"output.spool_full", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.output.spool_full, {"drop_oldest", "drop_newest"}, w); }},
      {"output.spool_fsync", [](const json& v, Config& c, std::string& w) { return as_window(v, c.output.spool_fsync_ns, w); }},
      {"output.file_mode", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.output.file_mode, {"auto", "append", "replace"}, w); }},
      {"output.format", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.output.format, {"eve", "ecs", "eve+ecs"}, w); }},
      {"output.rotate_bytes", [](const json& v, Config& c, std::string& w) {
         if (as_uint(v, c.output.rotate_bytes, 0, 1ull << 50, w) && (c.output.rotate_bytes == 0 || c.output.rotate_bytes >= 65536)) return true;
         w = "must be 0 (off) or at least 65536 bytes";
         return false;
       }},
      {"output.rotate_interval", [](const json& v, Config& c, std::string& w) { return as_seconds_or_off(v, c.output.rotate_interval_ns, w); }},
      {"output.rotate_keep", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.rotate_keep, 0, 1u << 20, w); }},
      {"output.rotate_gzip", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.output.rotate_gzip, w); }},
      {"output.fsync_interval", [](const json& v, Config& c, std::string& w) { return as_seconds_or_off(v, c.output.fsync_interval_ns, w); }},
      {"output.include_features", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.output.include_features, w); }},
      {"output.community_id_seed", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.community_id_seed, 0, 65535, w); }},
      {"output.sensor_name", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.sensor_name, w); }},
      {"output.queue_records", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.queue_records, 64, 1u << 22, w); }},
      {"output.drain_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.output.drain_timeout_ns, w); }},
      {"output.metrics_listen", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.metrics_listen, w); }},
      {"output.status_log", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.output.status_log, w); }},
      {"output.stats_interval", [](const json& v, Config& c, std::string& w) { return as_seconds_or_off(v, c.output.stats_interval_ns, w); }},
      {"model.path", [](const json& v, Config& c, std::string& w) { return as_string(v, c.model.path, w); }},
      {"model.batch_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.model.batch_size, 1, 4096, w); }},
      {"model.batch_deadline", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.model.batch_deadline_ns, w); }},
      {"model.benign_class", [](const json& v, Config& c, std::string& w) { return as_string(v, c.model.benign_class, w); }},
      {"model.default_threshold", [](const json& v, Config& c, std::string& w) { return as_probability(v, c.model.default_threshold, w); }},
      {"model.score_on", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.model.score_on, {"auto", "worker", "writer"}, w); }},
      {"model.classes", [](const json& v, Config& c, std::string& w) { return as_classes(v, c.model.classes, w); }},
      {"context.window", [](const json& v, Config& c, std::string& w) { return as_window(v, c.context.window_ns, w); }},
      {"context.hosts", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.context.host_slots, 64, 1u << 26, w); }},
      {"context.services", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.context.service_slots, 64, 1u << 26, w); }},
      {"context.pair_cells", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.context.pair_cells, 64, 1u << 26, w); }},
      {"alerting.policy", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.alerting.mode, {"evidence", "threshold"}, w); }},
      {"alerting.thin_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.alerting.thin_packets, 0, 1000, w); }},
      {"alerting.suppress", [](const json& v, Config& c, std::string& w) { return as_suppress(v, c.alerting.suppress, w); }},
      {"campaigns.enabled", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.campaigns.enabled, w); }},
      {"campaigns.fan_in_sources", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.fan_in_sources, 0, UINT32_MAX, w); }},
      {"campaigns.fan_in_one_sided", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.fan_in_one_sided, 0, UINT32_MAX, w); }},
      {"campaigns.syn_unanswered", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.syn_unanswered, 0, UINT32_MAX, w); }},
      {"campaigns.fan_out_targets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.fan_out_targets, 0, UINT32_MAX, w); }},
      {"campaigns.fan_out_one_sided", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.fan_out_one_sided, 0, UINT32_MAX, w); }},
      {"campaigns.repeat_flows", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.repeat_flows, 0, UINT32_MAX, w); }},
      {"campaigns.repeat_max_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.repeat_max_packets, 1, UINT32_MAX, w); }},
      {"campaigns.rate_min_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.rate_min_packets, 1, UINT32_MAX, w); }},
      {"campaigns.rate_pps", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.rate_pps, 0, UINT32_MAX, w); }},
      {"campaigns.report_interval", [](const json& v, Config& c, std::string& w) { return as_window(v, c.campaigns.report_interval_ns, w); }},
      {"campaigns.idle_timeout", [](const json& v, Config& c, std::string& w) { return as_window(v, c.campaigns.idle_timeout_ns, w); }},
      {"campaigns.max_open", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.campaigns.max_open, 1, 1u << 20, w); }},
      {"dpdk.burst_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.burst_size, 1, FlowTable::kMaxBurst, w); }},
      {"dpdk.mbufs", [](const json& v, Config& c, std::string& w) { return as_mbufs(v, c.dpdk.mbufs, w); }},
      {"dpdk.hugepages", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.hugepages, {"auto", "yes", "no"}, w); }},
      {"dpdk.memory_mb", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.memory_mb, 0, 1u << 20, w); }},
      {"dpdk.read_on", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.read_on, {"auto", "main", "worker"}, w); }},
      {"dpdk.distribute", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.distribute, {"auto", "nic", "software"}, w); }},
      {"dpdk.queues", [](const json& v, Config& c, std::string& w) { return as_queue_map(v, c.dpdk.queues, w); }},
      {"dpdk.rss_hash", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.rss_hash, {"ip_port", "ip"}, w); }},
      {"dpdk.rx_descriptors", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.rx_descriptors, 32, 32768, w); }},
      {"dpdk.mtu", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.mtu, 0, 65535, w); }},
      {"dpdk.log_level", [](const json& v, Config& c, std::string& w) { return as_string(v, c.dpdk.log_level, w); }},
  };
  return table;
}

bool apply_tree(const json& node, const std::string& prefix, Config& cfg, std::string& error) {
  for (const auto& [k, v] : node.items()) {
    if (!k.empty() && k[0] == '_') continue;  // "_comment" keys document the file
    const std::string path = prefix.empty() ? k : prefix + "." + k;
    const auto it = setters().find(path);
    if (it != setters().end()) {
      std::string why;
      if (!it->second(v, cfg, why)) {
        error = fmt::format("{}: {}", path, why);
        return false;
      }
    } else if (v.is_object() && prefix.empty()) {
      if (!apply_tree(v, path, cfg, error)) return false;
    } else {
      error = fmt::format("{}: unknown key", path);
      return false;
    }
  }
  return true;
}
}  // namespace

bool validate_config(const Config& cfg, std::string& error) {
  // Feature times are 32-bit µs offsets within a record (FEATURES.md §3):
  // a record must end well before 2^32 µs (71 min).
  if (cfg.flow.active_timeout_ns > 4000'000'000'000) {
    error = "flow.active_timeout: must be at most 4000 seconds (feature times are 32-bit microseconds)";
    return false;
  }
  // The timer wheel turns once per tick: below a millisecond it would spin
  // through its slots for nothing (and at 0 it cannot turn at all).
  if (cfg.flow.wheel_tick_ns < 1'000'000) {
    error = "flow.expiry_resolution: must be at least 0.001 seconds";
    return false;
  }
  if (cfg.flow.wheel_tick_ns > cfg.flow.idle_timeout_ns) {
    error = "flow.expiry_resolution: must not exceed flow.idle_timeout";
    return false;
  }
  if (cfg.output.path.empty()) {
    error = "output.path: must name a file, or \"-\" for standard output";
    return false;
  }
  if (cfg.app_proto.enabled && !app_proto_available()) {
    error = "flow.app_proto: this flowscore was built without nDPI (install libndpi-dev, rebuild with -Dndpi=enabled)";
    return false;
  }
  // nDPI reads each packet's bytes on the worker that tracks its flow; a
  // main lcore that reads and deals frames hands the workers parsed headers
  // only (frame_stager.hpp), so app_proto needs the workers to read.
  if (cfg.app_proto.enabled && cfg.dpdk.read_on == "main") {
    error = "flow.app_proto: needs the workers to read their input; set dpdk.read_on to \"worker\" or \"auto\"";
    return false;
  }
  if (cfg.app_proto.enabled && cfg.dpdk.distribute == "software") {
    error = "flow.app_proto: needs each worker to read its own RX queues; set dpdk.distribute to \"nic\" or \"auto\"";
    return false;
  }
  return true;
}

bool load_config(const std::string& path, Config& out, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = fmt::format("{}: cannot open", path);
    return false;
  }
  json doc;
  try {
    doc = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number too big for a double
    error = printable(fmt::format("{}: not valid JSON: {}", path, e.what()));  // quotes the bytes it read
    return false;
  }
  if (!doc.is_object()) {
    error = fmt::format("{}: the top level must be a JSON object", path);
    return false;
  }
  std::string why;
  if (!apply_tree(doc, "", out, why) || !validate_config(out, why)) {
    error = printable(fmt::format("{}: {}", path, why));  // quotes the file's keys and values
    return false;
  }
  return true;
}

bool apply_override(const std::string& key, const std::string& value, Config& cfg, std::string& error) {
  Setter set;
  if (const auto it = setters().find(key); it != setters().end()) {
    set = it->second;
  } else if (key.starts_with(kClassesPrefix)) {
    set = [&key](const json& v, Config& c, std::string& w) { return set_class_field(key, v, c, w); };
  } else {
    error = printable(fmt::format("{}: unknown key", key));
    return false;
  }
  // Values are JSON literals when they parse as such, else plain strings;
  // a key that takes a string takes the text as it is too (sensor_name=123).
  json v = json::parse(value, nullptr, false);
  std::string why, why_as_text;
  const bool ok = v.is_discarded() ? set(json(value), cfg, why)
                                   : set(v, cfg, why) || (!v.is_string() && set(json(value), cfg, why_as_text));
  if (!ok) {
    error = printable(fmt::format("{}: {}", key, why));
    return false;
  }
  return validate_config(cfg, error);
}

uint32_t fit_flow_table_to_captures(Config& cfg, const std::vector<std::string>& pcaps) {
  if (!cfg.fit_table_to_input || pcaps.empty()) return cfg.flow.capacity;
  constexpr uint64_t kMinRecordBytes = 16;  // a pcap record header; a pcapng block is 32
  constexpr uint32_t kSmallest = 1023;      // below this, the table costs nothing anyway
  uint64_t most_packets = 0;
  for (const std::string& path : pcaps) {
    std::error_code ec;
    const uint64_t bytes = std::filesystem::file_size(path, ec);
    if (ec) return cfg.flow.capacity;  // not a plain file (a FIFO): no bound
    // The largest file, not their sum: a worker flushes each file before it
    // takes the next (Worker::flush), so one file's flows at most are ever
    // in a table; a corpus of many small files keeps a small table.
    most_packets = std::max(most_packets, bytes / kMinRecordBytes);
  }
  if (most_packets >= cfg.flow.capacity) return cfg.flow.capacity;
  const uint32_t fitted = std::max<uint32_t>(std::bit_ceil(static_cast<uint32_t>(most_packets) + 1) - 1, kSmallest);
  if (fitted >= cfg.flow.capacity) return cfg.flow.capacity;
  if (cfg.flow.pair_slots == 0) cfg.flow.pair_slots = cfg.flow.capacity / 2;
  cfg.flow.capacity = fitted;
  return fitted;
}

}  // namespace flowscore
