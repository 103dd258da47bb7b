// The main lcore's last word on each flow record before it is written:
// counts it in the sensor-wide context (src/context), decides whether its
// verdict is an alert (AlertPolicy) and whether it belongs to a campaign
// (CampaignTracker), whose events it appends to the output.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <span>
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
  // Counts the records the writer is about to judge, in their order, in the
  // context in one pass (ContextStore::observe(span): their cache misses
  // overlap). judge() then takes each record's values from here; counting
  // ahead changes no value, because nothing judge() does feeds the context.
  void prepare(std::span<FlowRecord* const> batch);
  // Decides r.verdict.alert and r.judgement; campaign events go to `out`.
  // A record not prepared is counted here, alone.
  void judge(FlowRecord& r, fmt::memory_buffer& out);
  // Ends every open campaign (end of the run).
  void finish(fmt::memory_buffer& out) { campaigns_.finish(out); }

  const ContextStore& context() const { return context_; }
  const AlertPolicy::Counters& policy_counters() const { return policy_.counters(); }
  const CampaignTracker::Counters& campaign_counters() const { return campaigns_.counters(); }

 private:
  std::vector<ResolvedClassPolicy> resolve(const ModelInfo& model) const;


  const Config& cfg_;
  bool per_input_;
  ContextStore context_;
  AlertPolicy policy_;
  CampaignTracker campaigns_;
  std::map<uint64_t, std::vector<ResolvedClassPolicy>> classes_;  // by model generation, the last few
  uint64_t current_generation_ = UINT64_MAX;  // the policy's classes are of no model yet
  std::vector<ContextStore::Observation> prepared_;  // the batch prepare() counted
  size_t next_prepared_ = 0;                         // the first not yet judged
};

}  // namespace flowscore
