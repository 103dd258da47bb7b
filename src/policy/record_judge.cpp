#include "flowscore/record_judge.hpp"

#include <algorithm>
#include <iterator>

namespace flowscore {

namespace {

// Records in flight name at most this many models back (EveFormatter keeps
// as many names).
constexpr size_t kGenerationsKept = EveFormatter::kModelsKept;

std::unordered_map<std::string, CampaignClassInfo> campaign_classes(const Config& cfg) {
  std::unordered_map<std::string, CampaignClassInfo> out;
  for (const ClassPolicy& p : cfg.model.classes) out[p.name] = CampaignClassInfo{p.category, p.severity};
  return out;
}

}  // namespace

RecordJudge::RecordJudge(const Config& cfg, bool per_input)
    : cfg_(cfg),
      per_input_(per_input),
      context_(cfg.context),
      policy_(cfg.alerting),
      campaigns_(cfg.campaigns, cfg.output.sensor_name, campaign_classes(cfg)) {}

std::vector<ResolvedClassPolicy> RecordJudge::resolve(const ModelInfo& model) const {
  std::vector<ResolvedClassPolicy> out(model.classes.size());
  for (size_t c = 0; c < model.classes.size(); ++c) {
    ResolvedClassPolicy& r = out[c];
    r.benign = model.classes[c].name == cfg_.model.benign_class;
    r.policy.threshold = r.policy.thin_threshold = cfg_.model.default_threshold;
    for (const ClassPolicy& p : cfg_.model.classes)
      if (p.name == model.classes[c].name) r.policy = p;
    for (const EvidenceRule& e : r.policy.evidence) r.evidence_mask |= uint16_t(1u << static_cast<unsigned>(e.value));
  }
  return out;
}

void RecordJudge::model_changed(uint64_t generation, const ModelInfo& model) {
  classes_[generation] = resolve(model);
  while (classes_.size() > kGenerationsKept) classes_.erase(classes_.begin());
}

void RecordJudge::prepare(std::span<FlowRecord* const> batch) {
  prepared_.resize(batch.size());  // allocates only when a batch is larger than any before
  for (size_t i = 0; i < batch.size(); ++i) {
    ContextStore::Observation& o = prepared_[i];
    o.record = batch[i];
    o.traits = flow_traits(*batch[i]);
    o.key = ContextStore::key_of(*batch[i], o.traits, per_input_ ? batch[i]->input_index : 0);
  }
  context_.observe(prepared_);
  next_prepared_ = 0;
}

void RecordJudge::judge(FlowRecord& r, fmt::memory_buffer& out) {
  const uint32_t scope = per_input_ ? r.input_index : 0;
  FlowTraits traits;
  ContextValues ctx;
  if (next_prepared_ < prepared_.size() && prepared_[next_prepared_].record == &r) {
    traits = prepared_[next_prepared_].traits;
    ctx = prepared_[next_prepared_++].values;
  } else {
    traits = flow_traits(r);
    ctx = context_.observe(r, traits, scope);
  }
  if (r.verdict.model_generation != current_generation_) {
    const auto it = classes_.find(r.verdict.model_generation);
    policy_.set_classes(it != classes_.end() ? it->second : std::vector<ResolvedClassPolicy>{});
    current_generation_ = r.verdict.model_generation;
  }
  policy_.judge(r, traits, ctx, scope);
  // A suppressed address is known to the SOC (its scanner, its resolver):
  // its flows make no campaign either.
  if (cfg_.alerting.suppress.empty() || !policy_.suppressed(r))
    r.judgement.campaign_id = campaigns_.observe(r, traits, ctx, scope, out);
}

}  // namespace flowscore
