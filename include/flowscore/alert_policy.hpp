// When a verdict becomes an alert (docs/OUTPUT.md "Alert policy").
//
// The model's verdict (label, score, probabilities) is never changed; the
// policy decides whether it is an alert, from the model's probability and
// the context of other flows (src/context):
// - a thin flow (at most `thin_packets` packets, or one-sided) alerts only
//   when an attack class's probability reaches its `thin_threshold` AND one
//   of that class's evidence values reaches its minimum (flood: many
//   sources toward the target; scan: many targets from the source; ...);
//   the likeliest such class is the alert's, even when the model's label
//   is benign (the label is never changed). A class with no evidence
//   configured never alerts on a thin flow;
// - any other flow alerts when the probability reaches `threshold`;
// - a suppress entry (known scanners, resolvers, NAT gateways) keeps any
//   flow of its addresses from alerting (and from campaigns: RecordJudge);
// - a class's rate limit (Suricata's threshold.config: limit, threshold or
//   both, tracked by source, destination or rule) keeps an alert from
//   becoming an alert *event*; the flow record still says flow.alerted.
// Everything here runs on the main lcore, once per scored record.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowscore/context.hpp"
#include "flowscore/flow_record.hpp"

namespace flowscore {

// Suricata's threshold.config for one class's alert events.
struct AlertLimit {
  enum class Type : uint8_t { kNone, kLimit, kThreshold, kBoth };
  enum class Track : uint8_t { kBySrc, kByDst, kByRule };
  Type type = Type::kNone;
  Track track = Track::kByDst;
  uint32_t count = 1;
  uint64_t seconds_ns = 60'000'000'000;
};

// An address range whose flows never alert (Suricata's suppress).
struct Suppression {
  enum class Track : uint8_t { kBySrc, kByDst, kByEither };
  Track track = Track::kByEither;
  uint8_t ip_version = 4;
  IpAddress network;
  uint8_t prefix = 32;
  std::string text;  // as configured, for messages
};
// Parses "10.0.0.0/8", "2001:db8::/32" or a bare address; false on error.
bool parse_cidr(const std::string& text, Suppression& out);

struct EvidenceRule {
  ContextValue value;
  uint32_t minimum;
};

// What to do with flows of one class the model predicts (config
// model.classes, by class name).
struct ClassPolicy {
  std::string name;
  float threshold = 0.5f;       // probability for a flow that is not thin
  float thin_threshold = 0.5f;  // probability for a thin flow, which needs evidence too
  std::vector<EvidenceRule> evidence;
  AlertLimit limit;
  std::string category;         // EVE alert.category
  int severity = 3;             // EVE alert.severity (1 high .. 3 low); low unless configured
  uint32_t signature_id = 0;    // EVE alert.signature_id; 0: derived from the name (class_signature_id)
};

struct AlertPolicyConfig {
  // "evidence": this policy, with the context and campaigns; "threshold":
  // the class threshold alone on every flow (no context, no campaigns), as
  // before the policy existed: a baseline to compare against.
  std::string mode = "evidence";
  uint32_t thin_packets = 2;
  std::vector<Suppression> suppress;
};

// A thin flow: at most `thin_packets` packets, or one-sided. It needs
// evidence from other flows to alert (and is what calibration measures).
inline bool thin_flow(const FlowRecord& r, const FlowTraits& t, uint32_t thin_packets) {
  return r.stats.packets() <= thin_packets || t.one_sided;
}

// What the policy does with one class id of the running model.
struct ResolvedClassPolicy {
  bool benign = false;
  ClassPolicy policy;
  uint16_t evidence_mask = 0;
};

class AlertPolicy {
 public:
  explicit AlertPolicy(const AlertPolicyConfig& cfg) : cfg_(cfg) {}
  // The running model's classes, indexed by class id (a model reload
  // resolves them again: see RecordJudge).
  void set_classes(std::vector<ResolvedClassPolicy> classes) { classes_ = std::move(classes); }

  // Decides r.verdict.alert and fills r.judgement (context values given).
  void judge(FlowRecord& r, const FlowTraits& t, const ContextValues& ctx, uint32_t scope);

  struct Counters {
    uint64_t model_alerts = 0;       // over the class threshold alone (the old rule)
    uint64_t alerts = 0;             // after the policy
    uint64_t thin_without_evidence = 0;  // thin flows over their label's thin_threshold, no evidence
    uint64_t thin_not_label = 0;         // thin flows alerted for a class other than their label
    uint64_t suppressed = 0;
    uint64_t limited = 0;            // alerts kept from being alert events
    uint64_t limit_entries_forgotten = 0;
  };
  const Counters& counters() const { return counters_; }
  // A suppress entry covers the flow: it neither alerts nor joins a campaign.
  bool suppressed(const FlowRecord& r) const;

 private:
  bool passes_limit(const FlowRecord& r, uint8_t label, const AlertLimit& limit, uint32_t scope);
  int thin_alert_class(const Verdict& v, const ContextValues& ctx) const;

  struct LimitState {
    uint64_t window_start_ns = 0;
    uint32_t hits = 0;
  };
  static constexpr size_t kMaxLimitEntries = 1u << 16;

  AlertPolicyConfig cfg_;
  std::vector<ResolvedClassPolicy> classes_;
  std::unordered_map<uint64_t, LimitState> limits_;  // bounded: kMaxLimitEntries
  Counters counters_;
};

}  // namespace flowscore
