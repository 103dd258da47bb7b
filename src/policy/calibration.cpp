// Calibrator: context distributions of benign traffic and the thresholds they
// suggest (include/flowscore/calibration.hpp).
#include "flowscore/calibration.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace flowscore {

namespace {
constexpr const char* kGroupNames[] = {"thin", "one_sided", "answered_short", "unanswered_syn"};
}

Calibrator::Calibrator(const Config& cfg, bool per_input, double quantile)
    : cfg_(cfg),
      per_input_(per_input),
      quantile_(quantile),
      context_(cfg.context),
      hist_(size_t{kGroups} * kContextValues) {}

void Calibrator::observe(const FlowRecord& r) {
  const FlowTraits t = flow_traits(r);
  const ContextValues ctx = context_.observe(r, t, per_input_ ? r.input_index : 0);
  ++records_;
  const auto count = [&](Group g) {
    ++flows_[g];
    for (size_t v = 0; v < kContextValues; ++v) ++hist_[g * kContextValues + v][std::min(ctx.v[v], kMaxValue)];
  };
  if (thin_flow(r, t, cfg_.alerting.thin_packets)) count(kThin);
  if (t.one_sided) count(kOneSided);
  if (!t.one_sided && r.stats.packets() <= cfg_.campaigns.repeat_max_packets) count(kAnsweredShort);
  if (t.syn_unanswered) count(kUnansweredSyn);
  const uint64_t sent = sender_packets(r, t);
  if (t.one_sided && sent >= cfg_.campaigns.rate_min_packets) {
    const double span = std::max<double>(double(r.stats.last_ts_ns - r.stats.first_ts_ns) / 1e9, 1e-6);
    rates_.push_back(double(sent) / span);
  }
}

uint32_t Calibrator::quantile(Group g, ContextValue v, double q) const {
  const Histogram& h = hist_[g * kContextValues + static_cast<size_t>(v)];
  const uint64_t n = flows_[g];
  if (n == 0) return 0;
  // The smallest value whose share of flows above it is at most 1 - q.
  const double allowed_above = (1.0 - q) * double(n);
  uint64_t at_or_below = 0;
  for (uint32_t value = 0; value <= kMaxValue; ++value) {
    at_or_below += h[value];
    if (double(n - at_or_below) <= allowed_above) return value;
  }
  return kMaxValue;
}

std::string Calibrator::proposal(const std::string& config_text, const std::vector<std::string>& inputs) const {
  using nlohmann::json;
  json doc = json::parse(config_text, nullptr, true, /*ignore_comments=*/true);
  // Just above the quantile, never below the floor.
  const auto above = [&](Group g, ContextValue v, uint32_t floor) {
    return std::max(quantile(g, v, quantile_) + 1, floor);
  };
  // Evidence: every class's configured evidence values, from thin flows.
  for (const ClassPolicy& p : cfg_.model.classes)
    for (const EvidenceRule& e : p.evidence)
      doc["model"]["classes"][p.name]["evidence"][std::string(context_value_name(e.value))] =
          above(kThin, e.value, kEvidenceFloor);
  json& c = doc["campaigns"];
  c["fan_in_sources"] = above(kOneSided, ContextValue::kDstSources, kCampaignFloor);
  c["fan_in_one_sided"] = above(kOneSided, ContextValue::kDstOneSided, kCampaignFloor);
  c["fan_out_targets"] = above(kOneSided, ContextValue::kSrcTargets, kCampaignFloor);
  c["fan_out_one_sided"] = above(kOneSided, ContextValue::kSrcOneSided, kCampaignFloor);
  c["repeat_flows"] = above(kAnsweredShort, ContextValue::kRepeat, kCampaignFloor);
  c["syn_unanswered"] = above(kUnansweredSyn, ContextValue::kSynUnanswered, kCampaignFloor);
  if (!rates_.empty()) {
    std::vector<double> r = rates_;
    std::sort(r.begin(), r.end());
    const double q = r[std::min(r.size() - 1, static_cast<size_t>(std::ceil(quantile_ * double(r.size()))) - 1)];
    c["rate_pps"] = std::max<uint64_t>(static_cast<uint64_t>(std::ceil(q)) + 1, cfg_.campaigns.rate_pps);
  }

  json measured = json::object();
  for (int g = 0; g < kGroups; ++g) {
    json group = {{"flows", flows_[g]}};
    for (size_t v = 0; v < kContextValues; ++v) {
      const auto cv = static_cast<ContextValue>(v);
      group[std::string(context_value_name(cv))] = {{"p50", quantile(Group(g), cv, 0.5)},
                                                    {"p99", quantile(Group(g), cv, 0.99)},
                                                    {"p999", quantile(Group(g), cv, 0.999)},
                                                    {"max", quantile(Group(g), cv, 1.0)}};
    }
    measured[kGroupNames[g]] = group;
  }
  doc["_calibration"] = {
      {"_comment", "flowscore calibrate: thresholds just above this quantile of the inputs' benign flows "
                   "(evidence: thin flows; campaigns: the flows each rule counts), never below 3 (evidence) "
                   "or 10 (campaigns); histograms cap at 4095. Ignored when this file is loaded as a config."},
      {"quantile", quantile_},
      {"inputs", inputs},
      {"records", records_},
      {"high_volume_one_sided_flows", rates_.size()},
      {"distributions", measured}};
  return doc.dump(2) + "\n";
}

}  // namespace flowscore
