// The main lcore's last word on each flow record before it is written:
// counts it in the sensor-wide context (src/context), decides whether its
// verdict is an alert (AlertPolicy) and whether it belongs to a campaign
// (CampaignTracker), whose events it appends to the output.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "flowscore/alert_policy.hpp"
#include "flowscore/campaigns.hpp"
#include "flowscore/config.hpp"
#include "flowscore/context.hpp"
#include "flowscore/eve.hpp"

namespace flowscore {

class RecordJudge {
 public:
  // `per_input`: offline, each capture file is a world of its own (its own
  // clock and hosts), so context and campaigns never mix files; live, every
  // port sees one network.
  RecordJudge(const Config& cfg, bool per_input);

  // The model whose verdicts carry `generation` names its classes so.
  void model_changed(uint64_t generation, const ModelInfo& model);
  // Starts loading the context `r` will need; judge(r) follows within
  // kAhead records, and reuses what was worked out here.
  void prefetch(const FlowRecord& r);
  static constexpr unsigned kAhead = 4;
  // Decides r.verdict.alert and r.judgement; campaign events go to `out`.
  void judge(FlowRecord& r, fmt::memory_buffer& out);
  // Ends every open campaign (end of the run).
  void finish(fmt::memory_buffer& out) { campaigns_.finish(out); }

  const ContextStore& context() const { return context_; }
  const AlertPolicy::Counters& policy_counters() const { return policy_.counters(); }
  const CampaignTracker::Counters& campaign_counters() const { return campaigns_.counters(); }

 private:
  std::vector<ResolvedClassPolicy> resolve(const ModelInfo& model) const;

  // Records prefetched and not yet judged, with their traits and context key.
  struct Pending {
    const FlowRecord* record = nullptr;
    FlowTraits traits;
    ContextStore::Key key;
  };

  const Config& cfg_;
  bool per_input_;
  ContextStore context_;
  AlertPolicy policy_;
  CampaignTracker campaigns_;
  std::map<uint64_t, std::vector<ResolvedClassPolicy>> classes_;  // by model generation, the last few
  uint64_t current_generation_ = UINT64_MAX;  // the policy's classes are of no model yet
  Pending pending_[2 * kAhead];
  unsigned pending_next_ = 0;
};

}  // namespace flowscore
