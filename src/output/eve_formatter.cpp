// One EVE JSON line per flow record; field meanings are in docs/OUTPUT.md.
#include <fmt/compile.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "flowscore/app_proto.hpp"
#include "flowscore/community_id.hpp"
#include "flowscore/context.hpp"
#include "flowscore/eve.hpp"

namespace flowscore {

namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58,
                  kProtoSctp = 132;

// Upper bounds on the text of one value.
constexpr size_t kMaxUint = 20, kMaxFloat = 16, kMaxTimestamp = kEveTimestampLength + 2,
                 kMaxIp = kIpTextMax + 2;

std::string json_string(std::string_view s) {
  fmt::memory_buffer buf;
  append_json_string(s, buf);
  return fmt::to_string(buf);
}

bool has_ports(uint8_t proto) {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp;
}

}  // namespace

// Writes into memory reserved up front (EveFormatter::bound), so appending
// is a bare store: no capacity check or call per field.
class LineWriter {
 public:
  explicit LineWriter(char* p) : p_(p) {}
  char* end() const { return p_; }

  template <size_t N>
  void lit(const char (&s)[N]) {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void str(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void ch(char c) { *p_++ = c; }
  void uint(uint64_t v) { p_ = std::to_chars(p_, p_ + 20, v).ptr; }
  // Shortest text that reads back as the same float; JSON has no NaN or
  // infinity, so those become null.
  void number(float v) {
    if (!std::isfinite(v)) {
      lit("null");
      return;
    }
    p_ = fmt::format_to(p_, FMT_COMPILE("{}"), v);
  }
  void ip(const IpAddress& addr, uint8_t ip_version) {
    ch('"');
    p_ += format_ip(addr, ip_version, p_);
    ch('"');
  }
  void timestamp(uint64_t ts_ns) {
    ch('"');
    format_eve_timestamp(ts_ns, p_);
    p_ += kEveTimestampLength;
    ch('"');
  }
  // 16 lowercase hex digits.
  void hex64(uint64_t v) {
    constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, v >>= 4) p_[i] = kDigits[v & 0xf];
    p_ += 16;
  }
  void ecs_timestamp(uint64_t ts_ns) {
    ch('"');
    format_eve_timestamp(ts_ns, p_);  // then "+0000" becomes "Z"
    p_[kEcsTimestampLength - 1] = 'Z';
    p_ += kEcsTimestampLength;
    ch('"');
  }
  // The text the previous timestamp() wrote, quotes included (for
  // flow.start, which repeats the top-level timestamp).
  std::string_view last_timestamp() const { return {p_ - kMaxTimestamp, kMaxTimestamp}; }

 private:
  char* p_;
};

namespace {

// `,"evidence":{"thin":..,<the class's context values>}` and, for a
// rate-limited alert, `,"alert_limited":true`: why the flow alerted.
void write_evidence(LineWriter& w, const Judgement& j) {
  w.lit(",\"evidence\":{\"thin\":");
  if (j.thin) {
    w.lit("true");
  } else {
    w.lit("false");
  }
  for (size_t i = 0; i < kContextValues; ++i) {
    if (!(j.evidence_mask >> i & 1)) continue;
    w.lit(",\"");
    w.str(context_value_name(static_cast<ContextValue>(i)));
    w.lit("\":");
    w.uint(j.context[i]);
  }
  w.ch('}');
  if (j.limited) w.lit(",\"alert_limited\":true");
}

// ECS source or destination: `{"ip":..,"port":..,"packets":..,"bytes":..}`,
// what that side sent.
void write_ecs_endpoint(LineWriter& w, const Endpoint& side, const FlowRecord& r, uint64_t packets, uint64_t bytes) {
  w.lit("{\"ip\":");
  w.ip(side.addr, r.ip_version);
  if (has_ports(r.proto)) {
    w.lit(",\"port\":");
    w.uint(side.port);
  }
  w.lit(",\"packets\":");
  w.uint(packets);
  w.lit(",\"bytes\":");
  w.uint(bytes);
  w.ch('}');
}

}  // namespace

EveFormatter::EveFormatter(const EveOptions& options)
    : format_(options.format), seed_(options.community_id_seed), include_features_(options.include_features) {
  if (!options.sensor_name.empty()) {
    host_member_ = "\"host\":" + json_string(options.sensor_name) + ",";
  }
  for (const std::string& name : options.input_names)  // an unnamed input: no in_iface
    in_iface_members_.push_back(name.empty() ? std::string() : "\"in_iface\":" + json_string(name) + ",");
  // ECS: the sensor is the observer, and the input its ingress interface.
  const std::string observer = ",\"observer\":{\"type\":\"ids\",\"vendor\":\"flowscore\",\"product\":\"flowscore\"" +
                               (options.sensor_name.empty() ? "" : ",\"name\":" + json_string(options.sensor_name));
  for (const std::string& name : options.input_names)
    observer_members_.push_back(name.empty() ? observer + "}"
                                             : observer + ",\"ingress\":{\"interface\":{\"name\":" + json_string(name) + "}}}");
  observer_members_.push_back(observer + "}");
  for (const std::string& name : options.feature_names) {
    feature_keys_.push_back(json_string(name) + ":");
  }
  models_.push_back(model_text(options.model_generation, options.model));
  unknown_model_ = model_text(0, ModelInfo{"unknown", "unknown", {}});
  update_max_line_bytes();
}

uint64_t record_id(uint64_t flow_id, uint64_t verdict_ts_ns, bool alert_event) {
  // MurmurHash3's 64-bit finaliser over the three, so ids of neighbouring
  // flows or times share no visible digits.
  const auto mix = [](uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    return k ^ (k >> 33);
  };
  return mix(mix(flow_id) ^ verdict_ts_ns ^ (alert_event ? 0x9e3779b97f4a7c15ull : 0));
}

uint32_t class_signature_id(std::string_view name) {
  uint32_t h = 2166136261u;
  for (const char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return 1'100'000 + h % 100'000;
}

uint32_t model_rev(std::string_view model_hash) {
  uint32_t rev = 0;
  for (const char c : model_hash.substr(0, 7)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return 1;  // not a hash ("unknown"): revision 1
    rev = rev * 16 + static_cast<uint32_t>(digit);
  }
  return rev ? rev : 1;
}

EveFormatter::ModelText EveFormatter::model_text(uint64_t generation, const ModelInfo& model) {
  ModelText t;
  t.generation = generation;
  t.model_member = "\"model\":{\"name\":" + json_string(model.name) + ",\"hash\":" + json_string(model.hash) + "}";
  for (int id = 0; id < Verdict::kMaxClasses; ++id) {
    const bool known = static_cast<size_t>(id) < model.classes.size();
    const ClassInfo info = known ? model.classes[id] : ClassInfo{fmt::format("class_{}", id), "", 3};
    const uint32_t signature_id = info.signature_id ? info.signature_id : class_signature_id(info.name);
    const std::string signature = json_string("flowscore: " + info.name), category = json_string(info.category);
    t.class_labels.push_back(json_string(info.name));
    t.class_keys.push_back(t.class_labels.back() + ":");
    // Suricata's alert object: a class is one "rule", whose id stays with its
    // name and whose revision is the model.
    t.alert_members.push_back(fmt::format(
        "\"alert\":{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":{},"
        "\"signature\":{},\"category\":{},\"severity\":{}}},",
        signature_id, model_rev(model.hash), signature, category, info.severity));
    // The same rule in ECS's words (rule.* are keywords: ids as strings).
    t.ecs_rule_members.push_back(fmt::format(
        ",\"rule\":{{\"id\":\"{}\",\"version\":\"{}\",\"name\":{},\"category\":{},\"ruleset\":\"flowscore\"}}",
        signature_id, model_rev(model.hash), signature, category));
    t.severities.push_back(static_cast<uint8_t>(info.severity));
  }
  return t;
}

void EveFormatter::add_model(uint64_t generation, const ModelInfo& model) {
  if (models_.size() == kModelsKept) models_.erase(models_.begin());
  models_.push_back(model_text(generation, model));
  update_max_line_bytes();
}

const EveFormatter::ModelText& EveFormatter::model_for(uint64_t generation) const {
  for (auto it = models_.rbegin(); it != models_.rend(); ++it)
    if (it->generation == generation) return *it;
  return unknown_model_;
}

void EveFormatter::update_max_line_bytes() {
  // The longest line format() can write, so it reserves once and then
  // stores without checks. Fixed member names and punctuation stay well
  // under 512 bytes; every variable part is counted at its maximum, over
  // every model a verdict may still name.
  const auto longest = [](const std::vector<std::string>& v) {
    size_t n = 0;
    for (const std::string& s : v) n = std::max(n, s.size());
    return n;
  };
  const auto total = [](const std::vector<std::string>& v) {
    size_t n = 0;
    for (const std::string& s : v) n += s.size() + 1;
    return n;
  };
  const auto model_bytes_of = [&](const ModelText& m) {
    return longest(m.alert_members) + longest(m.ecs_rule_members) + m.model_member.size() + longest(m.class_labels) +
           total(m.class_keys);
  };
  size_t model_bytes = model_bytes_of(unknown_model_);
  for (const ModelText& m : models_) model_bytes = std::max(model_bytes, model_bytes_of(m));
  // Evidence: each context value's name and number, once.
  size_t evidence_bytes = 64;
  for (size_t i = 0; i < kContextValues; ++i)
    evidence_bytes += context_value_name(static_cast<ContextValue>(i)).size() + 4 + kMaxUint;
  // ECS: its own fixed names (well under 512), three timestamps, the
  // addresses and numbers again, and the observer.
  const size_t ecs_bytes = format_ == RecordFormat::kEve ? 0
                           : 512 + 3 * kMaxTimestamp + 2 * kMaxIp + 12 * kMaxUint + kMaxFloat + kCommunityIdLength +
                                 longest(observer_members_);
  // app_proto twice (EVE and ECS): names are at most kMaxAppProtoName.
  max_line_bytes_ = 512 + 2 * (32 + kMaxAppProtoName) + ecs_bytes + evidence_bytes + 3 * kMaxTimestamp + 2 * kMaxIp + 12 * kMaxUint +
                    kCommunityIdLength + host_member_.size() + longest(in_iface_members_) + model_bytes +
                    Verdict::kMaxClasses * kMaxFloat +
                    (include_features_ ? total(feature_keys_) + feature_keys_.size() * kMaxFloat : 0);
}

bool EveFormatter::format(const FlowRecord& r, std::span<const float> features,
                          fmt::memory_buffer& out) const {
  const bool features_fit = features.size() == feature_keys_.size();
  const bool with_features = include_features_ && features_fit;
  // As Suricata: an alert event for an alert, and a flow event for every
  // flow, the two sharing flow_id. A rate-limited alert is the flow event
  // alone, with flow.alerted (OUTPUT.md).
  if (r.verdict.scored && r.verdict.alert && !r.judgement.limited) write_event(r, features, with_features, true, out);
  write_event(r, features, with_features, false, out);
  return features_fit || !include_features_;
}

void EveFormatter::write_event(const FlowRecord& r, std::span<const float> features, bool with_features, bool alert,
                               fmt::memory_buffer& out) const {
  const size_t start = out.size();
  out.reserve(start + max_line_bytes_);
  LineWriter w(out.data() + start);

  std::array<char, kCommunityIdLength> cid_text;
  const std::string_view cid = community_id_v1(r, seed_, CommunityIdBuffer(cid_text))
                                   ? std::string_view(cid_text.data(), cid_text.size())
                                   : std::string_view();
  w.ch('{');
  if (format_ == RecordFormat::kEcs) {
    write_ecs_members(w, r, alert, cid);
    w.ch(',');
    write_flowscore_member(w, r, alert, features, with_features);
  } else {
    write_eve_members(w, r, alert, cid);
    w.ch(',');
    write_flowscore_member(w, r, alert, features, with_features);
    if (format_ == RecordFormat::kEveEcs) {
      w.ch(',');
      write_ecs_members(w, r, alert, cid);
    }
  }
  w.lit("}\n");
  out.resize(static_cast<size_t>(w.end() - out.data()));
}

namespace {

// The class an alert event is for: the policy's (a thin flow may alert for
// an attack class other than its label), else the label.
uint8_t alert_class_of(const FlowRecord& r) {
  const uint8_t c = r.judgement.judged ? r.judgement.alert_class : r.verdict.label;
  return c < Verdict::kMaxClasses ? c : 0;
}

}  // namespace

void EveFormatter::write_eve_members(LineWriter& w, const FlowRecord& r, bool alert, std::string_view cid) const {
  const FlowFeatures& s = r.stats;
  const uint8_t label = alert_class_of(r);

  // A flow event is stamped with the flow's start, an alert with the time of
  // its verdict: the flow's end or checkpoint (flow.start still says when
  // the flow began), so a rule looking back 5 minutes sees a long flow's alert.
  w.lit("\"timestamp\":");
  w.timestamp(alert ? s.last_ts_ns : s.first_ts_ns);
  const std::string_view stamp = w.last_timestamp();  // written once, copied below
  w.lit(",\"flow_id\":");
  w.uint(r.flow_id);
  w.ch(',');
  w.str(host_member_);
  if (r.input_index < in_iface_members_.size()) w.str(in_iface_members_[r.input_index]);
  if (alert) {
    w.lit("\"event_type\":\"alert\",");
  } else {
    w.lit("\"event_type\":\"flow\",");
  }
  if (const unsigned tags = r.vlan.count(); tags != 0) {  // outermost first, as Suricata
    w.lit("\"vlan\":[");
    w.uint(r.vlan.id(0));
    if (tags > 1) {
      w.ch(',');
      w.uint(r.vlan.id(1));
    }
    w.lit("],");
  }
  w.lit("\"src_ip\":");
  w.ip(r.src.addr, r.ip_version);
  if (has_ports(r.proto)) {
    w.lit(",\"src_port\":");
    w.uint(r.src.port);
  }
  w.lit(",\"dest_ip\":");
  w.ip(r.dst.addr, r.ip_version);
  if (has_ports(r.proto)) {
    w.lit(",\"dest_port\":");
    w.uint(r.dst.port);
  }
  w.lit(",\"proto\":\"");
  if (const std::string_view name = eve_proto_name(r.proto); !name.empty()) {
    w.str(name);
  } else {
    w.uint(r.proto);
  }
  w.lit("\",");
  if (r.proto == kProtoIcmp || r.proto == kProtoIcmpv6) {
    w.lit("\"icmp_type\":");
    w.uint(r.icmp_type);
    w.lit(",\"icmp_code\":");
    w.uint(r.icmp_code);
    w.ch(',');
  }
  if (!cid.empty()) {
    w.lit("\"community_id\":\"");
    w.str(cid);
    w.lit("\",");
  }
  // flow.app_proto: where Suricata writes it, on flow and alert events
  // alike; absent when detection was off or saw no payload.
  if (const std::string_view app = app_proto_name(r.app_proto); !app.empty()) {
    w.lit("\"app_proto\":\"");
    w.str(app);
    w.lit("\",");
  }
  if (alert) w.str(model_for(r.verdict.model_generation).alert_members[label]);

  w.lit("\"flow\":{\"pkts_toserver\":");
  w.uint(s.pkts_fwd);
  w.lit(",\"pkts_toclient\":");
  w.uint(s.pkts_bwd);
  w.lit(",\"bytes_toserver\":");
  w.uint(s.wire_bytes_fwd);
  w.lit(",\"bytes_toclient\":");
  w.uint(s.wire_bytes_bwd);
  if (alert) {  // stamped with the end
    w.lit(",\"start\":");
    w.timestamp(s.first_ts_ns);
    w.lit(",\"end\":");
    w.str(stamp);
  } else {      // stamped with the start
    w.lit(",\"start\":");
    w.str(stamp);
    w.lit(",\"end\":");
    w.timestamp(s.last_ts_ns);
  }
  // Suricata's age: difference of the whole-second parts of end and start.
  const uint64_t start_s = s.first_ts_ns / 1'000'000'000, end_s = s.last_ts_ns / 1'000'000'000;
  w.lit(",\"age\":");
  w.uint(end_s > start_s ? end_s - start_s : 0);
  w.lit(",\"state\":\"");
  w.str(flow_state_name(r.state));
  w.lit("\",\"reason\":\"");
  w.str(end_reason_name(r.reason));
  if (r.verdict.scored && r.verdict.alert) {
    w.lit("\",\"alerted\":true}");
  } else {
    w.lit("\",\"alerted\":false}");
  }
}

void EveFormatter::write_flowscore_member(LineWriter& w, const FlowRecord& r, bool alert,
                                          std::span<const float> features, bool with_features) const {
  const Verdict& v = r.verdict;
  const Judgement& j = r.judgement;
  const ModelText& model = model_for(v.model_generation);
  const uint8_t label = v.label < Verdict::kMaxClasses ? v.label : 0;
  w.lit("\"flowscore\":{\"record_id\":\"");
  w.hex64(record_id(r.flow_id, r.stats.last_ts_ns, alert));
  w.ch('"');
  const auto next = [&] { w.ch(','); };
  if (format_ == RecordFormat::kEcs) {
    // What EVE's flow object says that ECS has no field for.
    next();
    w.lit("\"flow_id\":");
    w.uint(r.flow_id);
    w.lit(",\"flow\":{\"state\":\"");
    w.str(flow_state_name(r.state));
    w.lit("\",\"reason\":\"");
    w.str(end_reason_name(r.reason));
    if (v.scored && v.alert) {
      w.lit("\",\"alerted\":true}");
    } else {
      w.lit("\",\"alerted\":false}");
    }
  }
  if (j.campaign_id) {
    next();
    w.lit("\"campaign_id\":");
    w.uint(j.campaign_id);
  }
  if (v.scored) {
    next();
    w.lit("\"label\":");
    w.str(model.class_labels[label]);
    w.lit(",\"score\":");
    w.number(v.score);
    if (v.num_classes > 2) {
      w.lit(",\"probabilities\":{");
      const int n = std::min<int>(v.num_classes, Verdict::kMaxClasses);
      for (int c = 0; c < n; ++c) {
        if (c) w.ch(',');
        w.str(model.class_keys[c]);
        w.number(v.proba[c]);
      }
      w.ch('}');
    }
    w.ch(',');
    w.str(model.model_member);
    if (v.alert && j.judged) write_evidence(w, j);
  }
  if (with_features) {
    next();
    w.lit("\"features\":{");
    for (size_t i = 0; i < features.size(); ++i) {
      if (i) w.ch(',');
      w.str(feature_keys_[i]);
      w.number(features[i]);
    }
    w.ch('}');
  }
  w.ch('}');
}

void EveFormatter::write_ecs_members(LineWriter& w, const FlowRecord& r, bool alert, std::string_view cid) const {
  const FlowFeatures& s = r.stats;
  const Verdict& v = r.verdict;
  const uint8_t label = alert_class_of(r);

  // @timestamp as EVE's timestamp: the flow's start, an alert's verdict time.
  w.lit("\"@timestamp\":");
  w.ecs_timestamp(alert ? s.last_ts_ns : s.first_ts_ns);
  w.lit(",\"ecs\":{\"version\":\"");
  w.str(kEcsVersion);
  w.lit("\"},\"event\":{\"id\":\"");
  w.hex64(record_id(r.flow_id, s.last_ts_ns, alert));
  if (alert) {
    w.lit("\",\"kind\":\"alert\",\"category\":[\"network\",\"intrusion_detection\"],"
          "\"type\":[\"allowed\"],\"module\":\"flowscore\",\"dataset\":\"flowscore.alert\"");
  } else if (r.reason == EndReason::kActiveTimeout) {  // a checkpoint: the flow goes on
    w.lit("\",\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"info\"],"
          "\"module\":\"flowscore\",\"dataset\":\"flowscore.flow\"");
  } else {
    w.lit("\",\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"],"
          "\"module\":\"flowscore\",\"dataset\":\"flowscore.flow\"");
  }
  w.lit(",\"start\":");
  w.ecs_timestamp(s.first_ts_ns);
  w.lit(",\"end\":");
  w.ecs_timestamp(s.last_ts_ns);
  w.lit(",\"duration\":");  // nanoseconds, as ECS wants
  w.uint(s.last_ts_ns > s.first_ts_ns ? s.last_ts_ns - s.first_ts_ns : 0);
  if (alert) {
    // The class's severity as Suricata's alert.severity (1 high .. 3 low),
    // and the model's probability as a 0-100 risk score.
    w.lit(",\"severity\":");
    w.uint(model_for(v.model_generation).severities[label]);
    w.lit(",\"risk_score\":");
    w.number(v.proba[label] * 100.0f);  // the alert's class: the label's score, unless context chose another
  }
  w.ch('}');
  w.str(observer_members_[std::min<size_t>(r.input_index, observer_members_.size() - 1)]);

  w.lit(",\"source\":");
  write_ecs_endpoint(w, r.src, r, s.pkts_fwd, s.wire_bytes_fwd);
  w.lit(",\"destination\":");
  write_ecs_endpoint(w, r.dst, r, s.pkts_bwd, s.wire_bytes_bwd);

  w.lit(",\"network\":{");
  if (const std::string_view transport = ecs_transport_name(r.proto); !transport.empty()) {
    w.lit("\"transport\":\"");
    w.str(transport);
    w.lit("\",");
  }
  if (const std::string_view app = app_proto_name(r.app_proto); !app.empty()) {  // ECS: lower case, as EVE's
    w.lit("\"protocol\":\"");
    w.str(app);
    w.lit("\",");
  }
  w.lit("\"iana_number\":\"");
  w.uint(r.proto);
  if (r.ip_version == 4) {
    w.lit("\",\"type\":\"ipv4\"");
  } else {
    w.lit("\",\"type\":\"ipv6\"");
  }
  if (r.vlan.count() != 0) {  // the outer tag, and an inner one (QinQ)
    w.lit(",\"vlan\":{\"id\":\"");
    w.uint(r.vlan.id(0));
    w.lit("\"}");
    if (r.vlan.count() > 1) {
      w.lit(",\"inner\":{\"vlan\":{\"id\":\"");
      w.uint(r.vlan.id(1));
      w.lit("\"}}");
    }
  }
  if (!cid.empty()) {
    w.lit(",\"community_id\":\"");
    w.str(cid);
    w.ch('"');
  }
  w.lit(",\"packets\":");
  w.uint(s.pkts_fwd + s.pkts_bwd);
  w.lit(",\"bytes\":");
  w.uint(s.wire_bytes_fwd + s.wire_bytes_bwd);
  w.ch('}');
  if (alert) w.str(model_for(v.model_generation).ecs_rule_members[label]);
}

}  // namespace flowscore
