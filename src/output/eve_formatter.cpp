// One EVE JSON line per flow record; field meanings are in docs/OUTPUT.md.
#include <fmt/compile.h>

#include <array>
#include <cmath>

#include "flowscore/community_id.hpp"
#include "flowscore/eve.hpp"

namespace flowscore {

namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58,
                  kProtoSctp = 132;

void put(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void put_uint(fmt::memory_buffer& out, uint64_t v) {
  const fmt::format_int text(v);
  out.append(text.data(), text.data() + text.size());
}

// Shortest text that reads back as the same float; JSON has no NaN or
// infinity, so those become null.
void put_float(fmt::memory_buffer& out, float v) {
  if (!std::isfinite(v)) {
    put(out, "null");
    return;
  }
  fmt::format_to(fmt::appender(out), FMT_COMPILE("{}"), v);
}

void put_ip(fmt::memory_buffer& out, const IpAddress& addr, uint8_t ip_version) {
  char text[kIpTextMax];
  out.push_back('"');
  out.append(text, text + format_ip(addr, ip_version, text));
  out.push_back('"');
}

void put_timestamp(fmt::memory_buffer& out, uint64_t ts_ns) {
  char text[kEveTimestampLength];
  format_eve_timestamp(ts_ns, text);
  out.push_back('"');
  out.append(text, text + kEveTimestampLength);
  out.push_back('"');
}

std::string json_string(std::string_view s) {
  fmt::memory_buffer buf;
  append_json_string(s, buf);
  return fmt::to_string(buf);
}

bool has_ports(uint8_t proto) {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp;
}

}  // namespace

EveFormatter::EveFormatter(const EveOptions& options)
    : seed_(options.community_id_seed), include_features_(options.include_features) {
  if (!options.sensor_name.empty()) {
    host_member_ = "\"host\":" + json_string(options.sensor_name) + ",";
  }
  model_member_ = "\"model\":{\"name\":" + json_string(options.model.name) +
                  ",\"hash\":" + json_string(options.model.hash) + "}";
  for (const std::string& name : options.feature_names) {
    feature_keys_.push_back(json_string(name) + ":");
  }
  for (int id = 0; id < Verdict::kMaxClasses; ++id) {
    const bool known = static_cast<size_t>(id) < options.model.classes.size();
    const ClassInfo info = known ? options.model.classes[id]
                                 : ClassInfo{fmt::format("class_{}", id), "", 3};
    class_labels_.push_back(json_string(info.name));
    class_keys_.push_back(class_labels_.back() + ":");
    // Suricata's alert object; gid 1 / rev 1 because a class is one fixed "rule".
    alert_members_.push_back(fmt::format(
        "\"alert\":{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":1,"
        "\"signature\":{},\"category\":{},\"severity\":{}}},",
        id, json_string("flowscore: " + info.name), json_string(info.category), info.severity));
  }
}

bool EveFormatter::format(const FlowRecord& r, std::span<const float> features,
                          fmt::memory_buffer& out) const {
  const bool features_fit = features.size() == feature_keys_.size();
  const bool with_features = include_features_ && features_fit;
  const FlowFeatures& s = r.stats;
  const uint8_t label = r.verdict.label < Verdict::kMaxClasses ? r.verdict.label : 0;
  const bool alert = r.verdict.scored && r.verdict.alert;

  put(out, "{\"timestamp\":");
  put_timestamp(out, s.first_ts_ns);
  put(out, ",\"flow_id\":");
  put_uint(out, r.flow_id);
  put(out, ",");
  put(out, host_member_);
  put(out, alert ? "\"event_type\":\"alert\",\"src_ip\":" : "\"event_type\":\"flow\",\"src_ip\":");
  put_ip(out, r.src.addr, r.ip_version);
  if (has_ports(r.proto)) {
    put(out, ",\"src_port\":");
    put_uint(out, r.src.port);
  }
  put(out, ",\"dest_ip\":");
  put_ip(out, r.dst.addr, r.ip_version);
  if (has_ports(r.proto)) {
    put(out, ",\"dest_port\":");
    put_uint(out, r.dst.port);
  }
  put(out, ",\"proto\":\"");
  if (const std::string_view name = eve_proto_name(r.proto); !name.empty()) {
    put(out, name);
  } else {
    put_uint(out, r.proto);
  }
  put(out, "\",");
  if (r.proto == kProtoIcmp || r.proto == kProtoIcmpv6) {
    put(out, "\"icmp_type\":");
    put_uint(out, r.icmp_type);
    put(out, ",\"icmp_code\":");
    put_uint(out, r.icmp_code);
    put(out, ",");
  }
  std::array<char, kCommunityIdLength> cid;
  if (community_id_v1(r, seed_, CommunityIdBuffer(cid))) {
    put(out, "\"community_id\":\"");
    out.append(cid.data(), cid.data() + cid.size());
    put(out, "\",");
  }
  if (alert) put(out, alert_members_[label]);

  put(out, "\"flow\":{\"pkts_toserver\":");
  put_uint(out, s.pkts_fwd);
  put(out, ",\"pkts_toclient\":");
  put_uint(out, s.pkts_bwd);
  put(out, ",\"bytes_toserver\":");
  put_uint(out, s.wire_bytes_fwd);
  put(out, ",\"bytes_toclient\":");
  put_uint(out, s.wire_bytes_bwd);
  put(out, ",\"start\":");
  put_timestamp(out, s.first_ts_ns);
  put(out, ",\"end\":");
  put_timestamp(out, s.last_ts_ns);
  // Suricata's age: difference of the whole-second parts of end and start.
  const uint64_t start_s = s.first_ts_ns / 1'000'000'000, end_s = s.last_ts_ns / 1'000'000'000;
  put(out, ",\"age\":");
  put_uint(out, end_s > start_s ? end_s - start_s : 0);
  put(out, ",\"state\":\"");
  put(out, flow_state_name(r.state));
  put(out, "\",\"reason\":\"");
  put(out, end_reason_name(r.reason));
  put(out, alert ? "\",\"alerted\":true}" : "\",\"alerted\":false}");

  if (r.verdict.scored || with_features) append_flowscore(r, features, with_features, out);
  put(out, "}\n");
  return features_fit || !include_features_;
}

void EveFormatter::append_flowscore(const FlowRecord& r, std::span<const float> features,
                                    bool with_features, fmt::memory_buffer& out) const {
  const Verdict& v = r.verdict;
  put(out, ",\"flowscore\":{");
  if (v.scored) {
    const uint8_t label = v.label < Verdict::kMaxClasses ? v.label : 0;
    put(out, "\"label\":");
    put(out, class_labels_[label]);
    put(out, ",\"score\":");
    put_float(out, v.score);
    if (v.num_classes > 2) {
      put(out, ",\"probabilities\":{");
      const int n = v.num_classes < Verdict::kMaxClasses ? v.num_classes : Verdict::kMaxClasses;
      for (int c = 0; c < n; ++c) {
        if (c) out.push_back(',');
        put(out, class_keys_[c]);
        put_float(out, v.proba[c]);
      }
      out.push_back('}');
    }
    out.push_back(',');
    put(out, model_member_);
  }
  if (with_features) {
    put(out, v.scored ? ",\"features\":{" : "\"features\":{");
    for (size_t i = 0; i < features.size(); ++i) {
      if (i) out.push_back(',');
      put(out, feature_keys_[i]);
      put_float(out, features[i]);
    }
    out.push_back('}');
  }
  out.push_back('}');
}

}  // namespace flowscore
