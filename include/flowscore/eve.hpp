// EVE JSON output: one line per flow record in Suricata's EVE "flow" shape
// (https://docs.suricata.io/en/latest/output/eve/eve-json-format.html), so
// SIEM parsers written for Suricata read it. docs/OUTPUT.md is the contract
// for every field; docs/schema/eve-flow.schema.json is its machine check.
//
// Hot path: EveFormatter::format runs once per expired flow (~1M/s). It
// appends to a caller-owned fmt::memory_buffer and allocates nothing beyond
// that buffer's growth: everything that depends only on the configuration
// (escaped class names, alert objects, feature keys) is rendered once, in
// the constructor.
#pragma once
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowscore/flow_record.hpp"

namespace flowscore {

// Room format_ip needs: INET6_ADDRSTRLEN - 1, the bound inet_ntop(3) uses.
inline constexpr size_t kIpTextMax = 45;

// Writes `addr` exactly as glibc's inet_ntop(3) would for the family given by
// ip_version (4, else 6): dotted quad; for IPv6 lowercase hex without leading
// zeros, the first longest run of >= 2 zero groups as "::", and the dotted
// quad tail for IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d)
// addresses. Returns the number of characters written (no NUL).
size_t format_ip(const IpAddress& addr, uint8_t ip_version, char* out);

// Suricata's EVE time format in UTC: "2009-11-23T20:02:53.181233+0000"
// (microseconds, truncated from nanoseconds).
inline constexpr size_t kEveTimestampLength = 31;
void format_eve_timestamp(uint64_t ts_ns, char* out);

// ECS time (@timestamp, event.start/end): the same instant in ISO 8601 with
// "Z", "2009-11-23T20:02:53.181233Z", which Elasticsearch's default date
// format reads; it does not take EVE's "+0000".
inline constexpr size_t kEcsTimestampLength = 27;
void format_ecs_timestamp(uint64_t ts_ns, char* out);

// The Elastic Common Schema release whose field definitions the ECS view
// follows (ecs.version; tests/data/ecs holds that release's fields).
inline constexpr std::string_view kEcsVersion = "8.17.0";

// ECS network.transport: the IANA keyword in lowercase ("tcp", "udp",
// "icmp", "ipv6-icmp", "sctp"); empty for other protocols, which have
// network.iana_number alone.
std::string_view ecs_transport_name(uint8_t proto);

// EVE "proto" names Suricata uses for the protocols flowscore parses:
// "TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP". Empty for every other protocol,
// which EVE output writes as its decimal number in a string.
std::string_view eve_proto_name(uint8_t proto);

// Appends `s` as a JSON string literal, quotes included (RFC 8259 §7).
// Bytes that are not valid UTF-8 become U+FFFD so the line stays valid JSON.
void append_json_string(std::string_view s, fmt::memory_buffer& out);

// What the EVE alert object says about one model class.
struct ClassInfo {
  std::string name;      // flowscore.label and alert.signature ("flowscore: <name>")
  std::string category;  // alert.category
  int severity = 3;      // alert.severity: 1 (high) .. 3 (low), as in Suricata
  uint32_t signature_id = 0;  // alert.signature_id; 0: class_signature_id(name)
};

// A class's alert.signature_id when the config gives none: from its name, in
// 1,100,000-1,199,999 (inside Suricata's local range, 1,000,000-1,999,999),
// so it stays when classes are added, removed or renamed around it.
// FNV-1a of the name, modulo 100,000.
uint32_t class_signature_id(std::string_view name);
// flowscore.record_id (and ECS event.id): one event of one record, the same
// however often it is delivered (delivery is at least once: a consumer
// drops repeats by it). From the flow's id, its verdict time (the record's
// last packet: a checkpointed flow's records differ in it) and whether it
// is the alert event; written as 16 hex digits.
uint64_t record_id(uint64_t flow_id, uint64_t verdict_ts_ns, bool alert_event);
// alert.rev: the model, as an integer (the first 7 hex digits of its hash):
// a new model is a new revision of every class's "rule".
uint32_t model_rev(std::string_view model_hash);

// The model behind the verdicts. Classes without an entry are named
// "class_<id>" with an empty category and severity 3. Whether a verdict is an
// alert (not benign, over its threshold) is decided by src/model, not here.
struct ModelInfo {
  std::string name;
  std::string hash;
  std::vector<ClassInfo> classes;  // indexed by class id
};

// Which view of a record each line is (output.format, docs/OUTPUT.md):
// Suricata's EVE; the Elastic Common Schema; or one object with both, the
// ECS members after the EVE ones (no name is in both: EVE's "host" is the
// sensor's name as a string, and ECS names the sensor observer.name).
enum class RecordFormat : uint8_t { kEve, kEcs, kEveEcs };

struct EveOptions {
  RecordFormat format = RecordFormat::kEve;
  uint16_t community_id_seed = 0;
  // Emit flowscore.features: off by default, SIEM storage is not free.
  bool include_features = false;
  // Names of the feature values passed to format(), in order (FeatureSpec::names()).
  std::vector<std::string> feature_names;
  ModelInfo model;
  uint64_t model_generation = 0;  // the ModelSlot generation of `model` (Verdict::model_generation)
  std::string sensor_name;  // emitted as "host" when not empty
  // Emitted as "in_iface" by FlowRecord::input_index: the capture file's name
  // offline, the port's name live. Empty, or an index past it: no in_iface.
  std::vector<std::string> input_names;
};

class LineWriter;  // eve_formatter.cpp: stores into memory reserved up front

class EveFormatter {
 public:
  explicit EveFormatter(const EveOptions& options);

  // Appends the record's events to `out`, each one JSON object and '\n': an
  // alert event when the record is an alert (not rate-limited), then its
  // flow event, as Suricata writes them (docs/OUTPUT.md). `features` is the
  // record's feature vector (only read when options.include_features).
  // Returns false when features were asked for but `features` does not have
  // one value per name; the lines are still written, without
  // flowscore.features.
  bool format(const FlowRecord& record, std::span<const float> features,
              fmt::memory_buffer& out) const;
  // The longest line format() can write with these options (it writes at
  // most two per record).
  size_t max_line_bytes() const { return max_line_bytes_; }

  // A reloaded model: records whose verdict carries `generation` are named
  // after it (model name and hash, class labels, alert members). Records
  // still in flight keep their own model's names. The last kModelsKept
  // models are remembered (memory stays bounded however often models are
  // reloaded); a verdict of an older one, a record held back through that
  // many reloads, names its model "unknown" and its classes class_<id>
  // rather than another model's.
  void add_model(uint64_t generation, const ModelInfo& model);
  static constexpr size_t kModelsKept = 64;

 private:
  // One event of the record: its alert event, or its flow event.
  void write_event(const FlowRecord& r, std::span<const float> features, bool with_features, bool alert,
                   fmt::memory_buffer& out) const;
  // The parts of one event's object, in the order they are written.
  void write_eve_members(LineWriter& w, const FlowRecord& r, bool alert, std::string_view community_id) const;
  void write_flowscore_member(LineWriter& w, const FlowRecord& r, bool alert, std::span<const float> features,
                              bool with_features) const;
  void write_ecs_members(LineWriter& w, const FlowRecord& r, bool alert, std::string_view community_id) const;
  // What a verdict's model contributes to a line.
  struct ModelText {
    uint64_t generation = 0;
    std::string model_member;                // `"model":{"name":...,"hash":...}`
    std::vector<std::string> class_labels;   // `"name"`, one per class id
    std::vector<std::string> class_keys;     // `"name":`
    std::vector<std::string> alert_members;  // `"alert":{...},` per class id
    std::vector<std::string> ecs_rule_members;  // `,"rule":{...}` per class id
    std::vector<uint8_t> severities;            // per class id
  };
  static ModelText model_text(uint64_t generation, const ModelInfo& model);
  const ModelText& model_for(uint64_t generation) const;
  void update_max_line_bytes();

  RecordFormat format_;
  uint16_t seed_;
  bool include_features_;
  std::string host_member_;                  // `"host":"...",` or empty
  std::vector<std::string> in_iface_members_;  // `"in_iface":"...",` per input
  // `,"observer":{...}}` per input, and the last one for an input with no name
  std::vector<std::string> observer_members_;
  std::vector<std::string> feature_keys_;    // `"name":`
  std::vector<ModelText> models_;            // oldest first, at most kModelsKept
  ModelText unknown_model_;                  // for a verdict of a model no longer kept
  size_t max_line_bytes_ = 0;                // upper bound on one formatted line
};

}  // namespace flowscore
