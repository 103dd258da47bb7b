#include "flowscore/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

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

bool as_probability(const json& v, float& out, std::string& why) {
  if (!v.is_number() || !(v.get<double>() >= 0.0 && v.get<double>() <= 1.0)) {
    why = "must be a number from 0 to 1";
    return false;
  }
  out = v.get<float>();
  return true;
}

// One field of a class's alert policy.
bool as_class_field(const std::string& field, const json& x, ClassPolicy& c, std::string& why) {
  return field == "threshold"  ? as_probability(x, c.threshold, why)
         : field == "category" ? as_string(x, c.category, why)
         : field == "severity" ? as_uint(x, c.severity, 1, 255, why)
                               : (why = "unknown key (expected threshold, category, severity)", false);
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
  const size_t dot = rest.rfind('.');
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
      {"flow.idle_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.idle_timeout_ns, w); }},
      {"flow.active_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.active_timeout_ns, w); }},
      {"flow.tcp_close_linger", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.tcp_linger_ns, w); }},
      {"flow.expiry_resolution", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.flow.wheel_tick_ns, w); }},
      {"flow.fragment_table_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.fragment_table_size, 4, 1u << 24, w); }},
      {"flow.fragment_timeout", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.fragment_timeout_ns, w); }},
      {"features.first_packets", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.features.first_packets, 0, FeatureConfig::kMaxFirstPackets, w); }},
      {"features.activity_gap", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.features.activity_gap_ns, w); }},
      {"features.pair_window", [](const json& v, Config& c, std::string& w) { return as_window(v, c.features.pair_window_ns, w); }},
      {"output.path", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.path, w); }},
      {"output.file_mode", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.output.file_mode, {"auto", "append", "replace"}, w); }},
      {"output.include_features", [](const json& v, Config& c, std::string& w) { return as_bool(v, c.output.include_features, w); }},
      {"output.community_id_seed", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.community_id_seed, 0, 65535, w); }},
      {"output.sensor_name", [](const json& v, Config& c, std::string& w) { return as_string(v, c.output.sensor_name, w); }},
      {"output.queue_records", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.output.queue_records, 64, 1u << 22, w); }},
      {"output.stats_interval", [](const json& v, Config& c, std::string& w) { return as_seconds_or_off(v, c.output.stats_interval_ns, w); }},
      {"model.path", [](const json& v, Config& c, std::string& w) { return as_string(v, c.model.path, w); }},
      {"model.batch_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.model.batch_size, 1, 4096, w); }},
      {"model.batch_deadline", [](const json& v, Config& c, std::string& w) { return as_seconds(v, c.model.batch_deadline_ns, w); }},
      {"model.benign_class", [](const json& v, Config& c, std::string& w) { return as_string(v, c.model.benign_class, w); }},
      {"model.default_threshold", [](const json& v, Config& c, std::string& w) { return as_probability(v, c.model.default_threshold, w); }},
      {"model.score_on", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.model.score_on, {"auto", "worker", "writer"}, w); }},
      {"model.classes", [](const json& v, Config& c, std::string& w) { return as_classes(v, c.model.classes, w); }},
      {"dpdk.burst_size", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.burst_size, 1, FlowTable::kMaxBurst, w); }},
      {"dpdk.mbufs", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.mbufs, 1023, 1u << 22, w); }},
      {"dpdk.hugepages", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.hugepages, {"auto", "yes", "no"}, w); }},
      {"dpdk.memory_mb", [](const json& v, Config& c, std::string& w) { return as_uint(v, c.dpdk.memory_mb, 0, 1u << 20, w); }},
      {"dpdk.read_on", [](const json& v, Config& c, std::string& w) { return as_choice(v, c.dpdk.read_on, {"auto", "main", "worker"}, w); }},
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
  if (cfg.flow.wheel_tick_ns > cfg.flow.idle_timeout_ns) {
    error = "flow.expiry_resolution: must not exceed flow.idle_timeout";
    return false;
  }
  if (cfg.output.path.empty()) {
    error = "output.path: must name a file, or \"-\" for standard output";
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
    error = fmt::format("{}: not valid JSON: {}", path, e.what());
    return false;
  }
  if (!doc.is_object()) {
    error = fmt::format("{}: the top level must be a JSON object", path);
    return false;
  }
  std::string why;
  if (!apply_tree(doc, "", out, why) || !validate_config(out, why)) {
    error = fmt::format("{}: {}", path, why);
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
    error = fmt::format("{}: unknown key", key);
    return false;
  }
  // Values are JSON literals when they parse as such, else plain strings;
  // a key that takes a string takes the text as it is too (sensor_name=123).
  json v = json::parse(value, nullptr, false);
  std::string why, why_as_text;
  const bool ok = v.is_discarded() ? set(json(value), cfg, why)
                                   : set(v, cfg, why) || (!v.is_string() && set(json(value), cfg, why_as_text));
  if (!ok) {
    error = fmt::format("{}: {}", key, why);
    return false;
  }
  return validate_config(cfg, error);
}

}  // namespace flowscore
