// The slow twin of EveFormatter: the same record built field by field as an
// nlohmann::json object, with libc doing the text (inet_ntop, gmtime_r,
// strftime) and names spelled out here from docs/OUTPUT.md, not taken from
// src/output. Used by tests/output (equality) and bench/output_bench.cpp
// (the naive baseline).
#pragma once
#include <arpa/inet.h>

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "flowscore/community_id.hpp"
#include "flowscore/context.hpp"
#include "flowscore/eve.hpp"

namespace flowscore::test {

inline std::string reference_ip(const IpAddress& a, uint8_t version) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(version == 4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf);
  return buf;
}

inline std::string reference_time(uint64_t ts_ns) {
  const time_t secs = static_cast<time_t>(ts_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char full[48];
  std::snprintf(full, sizeof full, "%s.%06u+0000", date,
                static_cast<unsigned>(ts_ns % 1'000'000'000 / 1000));
  return full;
}

inline nlohmann::json reference_number(float v) {
  return std::isfinite(v) ? nlohmann::json(static_cast<double>(v)) : nlohmann::json(nullptr);
}

// flowscore.record_id as docs/OUTPUT.md defines it: fmix64(fmix64(flow_id)
// ^ verdict time ^ (alert ? 0x9e3779b97f4a7c15 : 0)), MurmurHash3's
// finaliser, as 16 hex digits.
inline std::string reference_record_id(uint64_t flow_id, uint64_t verdict_ts_ns, bool alert_event) {
  const auto fmix64 = [](uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
  };
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(
                    fmix64(fmix64(flow_id) ^ verdict_ts_ns ^ (alert_event ? 0x9e3779b97f4a7c15ull : 0))));
  return text;
}

inline std::string reference_class_name(const EveOptions& o, int id) {
  return static_cast<size_t>(id) < o.model.classes.size() ? o.model.classes[id].name
                                                          : "class_" + std::to_string(id);
}

// One event of the record: its alert event (alert_event) or its flow event.
inline nlohmann::json eve_reference_event(const FlowRecord& r, const EveOptions& o, std::span<const float> features,
                                          bool alert_event) {
  static const char* const kReasons[] = {"timeout", "active_timeout", "tcp_close", "forced",
                                         "shutdown"};
  static const char* const kStates[] = {"new", "established", "closed"};
  nlohmann::json j;
  j["timestamp"] = reference_time(alert_event ? r.stats.last_ts_ns : r.stats.first_ts_ns);
  j["flow_id"] = r.flow_id;
  if (!o.sensor_name.empty()) j["host"] = o.sensor_name;
  if (r.input_index < o.input_names.size() && !o.input_names[r.input_index].empty())
    j["in_iface"] = o.input_names[r.input_index];
  const Judgement& jd = r.judgement;
  const bool alerted = r.verdict.scored && r.verdict.alert;
  const bool alert = alert_event;
  j["event_type"] = alert ? "alert" : "flow";
  if (r.vlan.count() != 0) {
    j["vlan"] = nlohmann::json::array();
    for (unsigned i = 0; i < r.vlan.count(); ++i) j["vlan"].push_back(r.vlan.id(i));
  }
  j["src_ip"] = reference_ip(r.src.addr, r.ip_version);
  j["dest_ip"] = reference_ip(r.dst.addr, r.ip_version);
  switch (r.proto) {
    case 6: j["proto"] = "TCP"; break;
    case 17: j["proto"] = "UDP"; break;
    case 132: j["proto"] = "SCTP"; break;
    case 1: j["proto"] = "ICMP"; break;
    case 58: j["proto"] = "IPv6-ICMP"; break;
    default: j["proto"] = std::to_string(r.proto);
  }
  if (r.proto == 6 || r.proto == 17 || r.proto == 132) {
    j["src_port"] = r.src.port;
    j["dest_port"] = r.dst.port;
  }
  if (r.proto == 1 || r.proto == 58) {
    j["icmp_type"] = r.icmp_type;
    j["icmp_code"] = r.icmp_code;
  }
  const bool one_way = (r.proto == 1 || r.proto == 58) &&
                       icmp_ports(r.icmp_type, r.icmp_code, r.proto == 58).one_way;
  j["community_id"] =
      community_id_v1(r.src, r.dst, r.proto, r.ip_version, o.community_id_seed, one_way);
  const int label = r.verdict.label;
  // An alert is for the policy's class: a thin flow may alert for an attack
  // class its context supports that is not its label.
  const int alert_class = r.judgement.judged ? r.judgement.alert_class : label;
  if (alert) {
    const int label = alert_class;
    const bool known = static_cast<size_t>(label) < o.model.classes.size();
    // The documented rule, written out: FNV-1a 32 of the class name, modulo
    // 100,000, from 1,100,000; a configured id wins. rev: the hash's first 7
    // hex digits.
    const std::string name = reference_class_name(o, label);
    uint64_t fnv = 2166136261u;
    for (unsigned char c : name) fnv = ((fnv ^ c) * 16777619u) % 4294967296u;
    const uint64_t sid = known && o.model.classes[label].signature_id ? o.model.classes[label].signature_id
                                                                       : 1100000 + fnv % 100000;
    const uint64_t rev = o.model.hash.size() >= 7 && o.model.hash.find_first_not_of("0123456789abcdef") == std::string::npos
                             ? std::stoull(o.model.hash.substr(0, 7), nullptr, 16)
                             : 1;
    j["alert"] = {{"action", "allowed"},
                  {"gid", 1},
                  {"signature_id", sid},
                  {"rev", rev ? rev : 1},
                  {"signature", "flowscore: " + reference_class_name(o, label)},
                  {"category", known ? o.model.classes[label].category : ""},
                  {"severity", known ? o.model.classes[label].severity : 3}};
  }
  const FlowFeatures& s = r.stats;
  j["flow"] = {{"pkts_toserver", s.pkts_fwd},
               {"pkts_toclient", s.pkts_bwd},
               {"bytes_toserver", s.wire_bytes_fwd},
               {"bytes_toclient", s.wire_bytes_bwd},
               {"start", reference_time(s.first_ts_ns)},
               {"end", reference_time(s.last_ts_ns)},
               {"age", s.last_ts_ns / 1'000'000'000 - s.first_ts_ns / 1'000'000'000},
               {"state", kStates[static_cast<int>(r.state)]},
               {"reason", kReasons[static_cast<int>(r.reason)]},
               {"alerted", alerted}};
  const bool with_features = o.include_features && features.size() == o.feature_names.size();
  {
    nlohmann::json fs = nlohmann::json::object();
    fs["record_id"] = reference_record_id(r.flow_id, s.last_ts_ns, alert_event);
    if (jd.campaign_id) fs["campaign_id"] = jd.campaign_id;
    if (r.verdict.scored) {
      fs["label"] = reference_class_name(o, label);
      fs["score"] = reference_number(r.verdict.score);
      if (r.verdict.num_classes > 2) {
        nlohmann::json p = nlohmann::json::object();
        for (int c = 0; c < r.verdict.num_classes; ++c) {
          p[reference_class_name(o, c)] = reference_number(r.verdict.proba[c]);
        }
        fs["probabilities"] = p;
      }
      fs["model"] = {{"name", o.model.name}, {"hash", o.model.hash}};
      if (alerted && jd.judged) {
        nlohmann::json e = {{"thin", jd.thin}};
        for (size_t i = 0; i < kContextValues; ++i)
          if (jd.evidence_mask >> i & 1) e[std::string(kContextValueNames[i])] = jd.context[i];
        fs["evidence"] = e;
        if (jd.limited) fs["alert_limited"] = true;
      }
    }
    if (with_features) {
      nlohmann::json f = nlohmann::json::object();
      for (size_t i = 0; i < features.size(); ++i) f[o.feature_names[i]] = reference_number(features[i]);
      fs["features"] = f;
    }
    j["flowscore"] = fs;
  }
  return j;
}

// The ECS members of one event (docs/OUTPUT.md, "ECS view"), spelled out
// from the record and ECS 8.17's field definitions: times with "Z", the
// duration in nanoseconds, transports in lowercase, rule ids as strings.
inline nlohmann::json ecs_reference_members(const FlowRecord& r, const EveOptions& o, bool alert_event) {
  const auto ecs_time = [](uint64_t ns) {
    std::string t = reference_time(ns);
    return t.substr(0, t.size() - 5) + "Z";  // "+0000" -> "Z"
  };
  const FlowFeatures& s = r.stats;
  const bool ported = r.proto == 6 || r.proto == 17 || r.proto == 132;
  nlohmann::json j;
  j["@timestamp"] = ecs_time(alert_event ? s.last_ts_ns : s.first_ts_ns);
  j["ecs"] = {{"version", "8.17.0"}};
  nlohmann::json event = {{"id", reference_record_id(r.flow_id, s.last_ts_ns, alert_event)}};
  if (alert_event) {
    event.update({{"kind", "alert"}, {"category", {"network", "intrusion_detection"}}, {"type", {"allowed"}},
                  {"dataset", "flowscore.alert"}});
  } else {
    event.update({{"kind", "event"}, {"category", {"network"}},
                  {"type", {"connection", r.reason == EndReason::kActiveTimeout ? "info" : "end"}},
                  {"dataset", "flowscore.flow"}});
  }
  event["module"] = "flowscore";
  event["start"] = ecs_time(s.first_ts_ns);
  event["end"] = ecs_time(s.last_ts_ns);
  event["duration"] = s.last_ts_ns - s.first_ts_ns;
  const int label = r.judgement.judged ? r.judgement.alert_class : r.verdict.label;  // the alert's class
  const bool known = static_cast<size_t>(label) < o.model.classes.size();
  if (alert_event) {
    event["severity"] = known ? o.model.classes[label].severity : 3;
    event["risk_score"] = static_cast<double>(r.verdict.proba[label] * 100.0f);
  }
  j["event"] = event;
  nlohmann::json observer = {{"type", "ids"}, {"vendor", "flowscore"}, {"product", "flowscore"}};
  if (!o.sensor_name.empty()) observer["name"] = o.sensor_name;
  if (r.input_index < o.input_names.size() && !o.input_names[r.input_index].empty())
    observer["ingress"] = {{"interface", {{"name", o.input_names[r.input_index]}}}};
  j["observer"] = observer;
  j["source"] = {{"ip", reference_ip(r.src.addr, r.ip_version)}, {"packets", s.pkts_fwd}, {"bytes", s.wire_bytes_fwd}};
  j["destination"] = {{"ip", reference_ip(r.dst.addr, r.ip_version)}, {"packets", s.pkts_bwd},
                      {"bytes", s.wire_bytes_bwd}};
  if (ported) {
    j["source"]["port"] = r.src.port;
    j["destination"]["port"] = r.dst.port;
  }
  nlohmann::json network = {{"iana_number", std::to_string(r.proto)},
                            {"type", r.ip_version == 4 ? "ipv4" : "ipv6"},
                            {"packets", s.pkts_fwd + s.pkts_bwd},
                            {"bytes", s.wire_bytes_fwd + s.wire_bytes_bwd}};
  if (r.vlan.count() >= 1) network["vlan"] = {{"id", std::to_string(r.vlan.id(0))}};
  if (r.vlan.count() == 2) network["inner"] = {{"vlan", {{"id", std::to_string(r.vlan.id(1))}}}};
  switch (r.proto) {
    case 1: network["transport"] = "icmp"; break;
    case 6: network["transport"] = "tcp"; break;
    case 17: network["transport"] = "udp"; break;
    case 58: network["transport"] = "ipv6-icmp"; break;
    case 132: network["transport"] = "sctp"; break;
    default: break;
  }
  const bool one_way = (r.proto == 1 || r.proto == 58) &&
                       icmp_ports(r.icmp_type, r.icmp_code, r.proto == 58).one_way;
  network["community_id"] = community_id_v1(r.src, r.dst, r.proto, r.ip_version, o.community_id_seed, one_way);
  j["network"] = network;
  if (alert_event) {
    // The same rule as the EVE alert object, in ECS's keyword strings.
    const nlohmann::json eve_alert = eve_reference_event(r, o, {}, true)["alert"];
    j["rule"] = {{"id", std::to_string(eve_alert["signature_id"].get<uint64_t>())},
                 {"version", std::to_string(eve_alert["rev"].get<uint64_t>())},
                 {"name", eve_alert["signature"]},
                 {"category", eve_alert["category"]},
                 {"ruleset", "flowscore"}};
  }
  return j;
}

// One event in output.format `format`: the EVE event; its ECS members with
// the flowscore object (holding what EVE's flow object says that ECS has no
// field for); or the EVE event with the ECS members added.
inline nlohmann::json reference_event_in(RecordFormat format, const FlowRecord& r, const EveOptions& o,
                                         std::span<const float> features, bool alert_event) {
  nlohmann::json eve = eve_reference_event(r, o, features, alert_event);
  if (format == RecordFormat::kEve) return eve;
  nlohmann::json ecs = ecs_reference_members(r, o, alert_event);
  if (format == RecordFormat::kEveEcs) {
    for (const auto& [k, v] : ecs.items()) eve[k] = v;
    return eve;
  }
  nlohmann::json own = eve["flowscore"];
  own["flow_id"] = eve["flow_id"];
  own["flow"] = {{"state", eve["flow"]["state"]}, {"reason", eve["flow"]["reason"]},
                 {"alerted", eve["flow"]["alerted"]}};
  ecs["flowscore"] = own;
  return ecs;
}

// Every event of a record, in order: an alert event when it is an alert that
// no rate limit held back, then its flow event.
inline std::vector<nlohmann::json> eve_reference(const FlowRecord& r, const EveOptions& o,
                                                 std::span<const float> features) {
  std::vector<nlohmann::json> events;
  if (r.verdict.scored && r.verdict.alert && !r.judgement.limited)
    events.push_back(reference_event_in(o.format, r, o, features, true));
  events.push_back(reference_event_in(o.format, r, o, features, false));
  return events;
}

}  // namespace flowscore::test
