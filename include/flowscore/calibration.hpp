// `flowscore calibrate`: the context a site's own benign traffic shows, and
// the alert-policy and campaign thresholds that follow from it
// (docs/OUTPUT.md "Calibration").
//
// Run over captures of benign traffic, every record is counted in a context
// store as `run` counts it; the distribution of each context value is kept
// for the flows each threshold applies to (thin flows for evidence, one-sided
// flows for fan-in and fan-out, answered short flows for repeat, unanswered
// SYNs, high-volume one-sided flows for packet_rate). A threshold is proposed
// just above the chosen quantile, so at most (1 - quantile) of those benign
// flows would reach it, and never below a floor that keeps a lone handful of
// flows from being "evidence".
#pragma once
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "flowscore/config.hpp"
#include "flowscore/context.hpp"

namespace flowscore {

class Calibrator {
 public:
  // The flows a threshold applies to.
  enum Group : uint8_t { kThin, kOneSided, kAnsweredShort, kUnansweredSyn, kGroups };
  static constexpr uint32_t kMaxValue = 4095;  // histograms cap here: "4095 or more"
  static constexpr uint32_t kEvidenceFloor = 3, kCampaignFloor = 10;

  Calibrator(const Config& cfg, bool per_input, double quantile);
  void observe(const FlowRecord& r);
  // A config: `config_text` (the configuration the run used, as JSON) with
  // the proposed thresholds in place and the measured distributions under
  // "_calibration" (ignored when the file is loaded as a config).
  std::string proposal(const std::string& config_text, const std::vector<std::string>& inputs) const;

  uint64_t records() const { return records_; }
  // The smallest value v with at most (1 - q) of the group's flows above it.
  uint32_t quantile(Group g, ContextValue v, double q) const;

 private:
  using Histogram = std::array<uint64_t, kMaxValue + 1>;
  const Config& cfg_;
  bool per_input_;
  double quantile_;
  ContextStore context_;
  std::vector<Histogram> hist_;  // [group * kContextValues + value]
  std::array<uint64_t, kGroups> flows_{};
  std::vector<double> rates_;    // packets per second of one-sided flows >= campaigns.rate_min_packets
  uint64_t records_ = 0;
};

}  // namespace flowscore
