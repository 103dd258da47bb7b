#include "score_batch.hpp"

#include "flowscore/eve.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace flowscore {

void ModelSlot::set(std::shared_ptr<const CompiledModel> m) {
  std::lock_guard lock(mutex_);
  model_ = std::move(m);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const CompiledModel> ModelSlot::get(uint64_t& generation) const {
  std::lock_guard lock(mutex_);
  generation = generation_.load(std::memory_order_relaxed);
  return model_;
}

std::shared_ptr<const CompiledModel> ModelSlot::get() const {
  std::lock_guard lock(mutex_);
  return model_;
}

namespace {

bool check_is_classifier(const CompiledModel& m, std::string& error) {
  const std::string obj = m.objective();
  if (obj != "binary:logistic" && obj != "multi:softprob" && obj != "multi:softmax") {
    error = fmt::format("model '{}' has objective {}: flowscore run needs a classifier "
                        "(binary:logistic, multi:softprob or multi:softmax)", m.name(), obj);
    return false;
  }
  if (m.num_outputs() > size_t{Verdict::kMaxClasses}) {
    error = fmt::format("model '{}' has {} classes; at most {} are supported", m.name(), m.num_outputs(),
                        Verdict::kMaxClasses);
    return false;
  }
  return true;
}

bool check_feature_names(const CompiledModel& m, const FeatureSpec& spec, std::string& error) {
  const auto& want = spec.names();
  const auto& have = m.feature_names();
  if (want == have) return true;
  std::vector<std::string> missing, extra;
  for (const auto& n : want)
    if (std::find(have.begin(), have.end(), n) == have.end()) missing.push_back(n);
  for (const auto& n : have)
    if (std::find(want.begin(), want.end(), n) == want.end()) extra.push_back(n);
  error = fmt::format("model '{}' was trained on other features than flowscore computes ({}): ", m.name(), spec.version());
  if (missing.empty() && extra.empty()) {
    error += "same names in another order";
  } else {
    error += fmt::format("{} missing from the model [{}], {} unknown to flowscore [{}]", missing.size(),
                         fmt::join(missing, ", "), extra.size(), fmt::join(extra, ", "));
  }
  return false;
}

// Same names, other numbers: features.activity_gap or pair_window change
// values without changing a column (docs/FEATURES.md).
bool check_feature_spec_version(const CompiledModel& m, const FeatureSpec& spec, std::string& error,
                                std::vector<std::string>& warnings) {
  if (m.feature_spec_version().empty()) {
    warnings.push_back(fmt::format("model '{}' records no feature spec version, so flowscore cannot check that it "
                                   "was trained with this run's feature settings ({})",
                                   m.name(), spec.version()));
    return true;
  }
  if (m.feature_spec_version() == spec.version()) return true;
  error = fmt::format("model '{}' was trained on features '{}', this run computes '{}': run it with the "
                      "features.* settings it was trained with, or train a model for these",
                      m.name(), m.feature_spec_version(), spec.version());
  return false;
}

}  // namespace

bool check_model_for_run(const CompiledModel& m, const FeatureSpec& spec, std::string& error,
                         std::vector<std::string>& warnings) {
  return check_is_classifier(m, error) && check_feature_names(m, spec, error) &&
         check_feature_spec_version(m, spec, error, warnings);
}

bool check_model_for_run(const CompiledModel& m, const FeatureSpec& spec, std::string& error) {
  std::vector<std::string> warnings;
  const bool ok = check_model_for_run(m, spec, error, warnings);
  for (const auto& w : warnings) fmt::print(stderr, "flowscore: warning: {}\n", w);
  return ok;
}

bool check_model_for_config(const CompiledModel& m, const Config::Model& cfg, std::string& error,
                            std::vector<std::string>& warnings) {
  std::vector<std::string> classes;
  for (size_t c = 0; c < m.num_classes(); ++c) classes.push_back(m.class_label(c));
  const auto has = [&](const std::string& name) { return std::find(classes.begin(), classes.end(), name) != classes.end(); };
  if (!has(cfg.benign_class)) {
    error = fmt::format("model.benign_class '{}' is not a class of model '{}' (its classes: {})", cfg.benign_class,
                        m.name(), fmt::join(classes, ", "));
    return false;
  }
  // Two classes under one alert.signature_id would merge two rules in a SIEM.
  std::map<uint32_t, std::string> by_sid;
  for (const std::string& name : classes) {
    uint32_t sid = class_signature_id(name);
    for (const ClassPolicy& p : cfg.classes)
      if (p.name == name && p.signature_id) sid = p.signature_id;
    if (const auto [it, fresh] = by_sid.emplace(sid, name); !fresh) {
      error = fmt::format("classes '{}' and '{}' of model '{}' would share alert.signature_id {}: set "
                          "model.classes.{}.signature_id", it->second, name, m.name(), sid, name);
      return false;
    }
  }
  std::vector<std::string> unknown;
  for (const ClassPolicy& p : cfg.classes)
    if (!has(p.name)) unknown.push_back(p.name);
  if (!unknown.empty())
    warnings.push_back(fmt::format("model.classes has policies for classes model '{}' does not have, left unused: {} "
                                   "(its classes: {})",
                                   m.name(), fmt::join(unknown, ", "), fmt::join(classes, ", ")));
  return true;
}

ScoreBatch::ScoreBatch(const FeatureSpec& spec, const Config& cfg, const ModelSlot& slot)
    : spec_(spec), cfg_(cfg), slot_(slot) {
  rows_.resize(size_t{cfg.model.batch_size} * spec.count());
  out_.resize(size_t{cfg.model.batch_size} * Verdict::kMaxClasses);
}

void ScoreBatch::adopt_current_model() {
  model_ = slot_.get(generation_);
  ++counters_.model_swaps;
  std::fill(std::begin(thresholds_), std::end(thresholds_), cfg_.model.default_threshold);
  benign_class_ = 0;
  if (!model_) return;
  // check_model_for_config() has refused a model without the benign class
  // (class 0 stays the fallback for a model swapped in unchecked).
  for (size_t c = 0; c < model_->num_classes() && c < size_t{Verdict::kMaxClasses}; ++c) {
    const std::string name = model_->class_label(c);
    if (name == cfg_.model.benign_class) benign_class_ = static_cast<int>(c);
    for (const ClassPolicy& p : cfg_.model.classes)
      if (p.name == name) thresholds_[c] = p.threshold;
  }
}

void ScoreBatch::score(FlowRecord* const* recs, unsigned n) {
  if (slot_.generation() != generation_) adopt_current_model();
  if (!model_ || n == 0) return;
  const size_t nf = spec_.count();
  uint64_t oldest_tsc = UINT64_MAX;
  for (unsigned i = 0; i < n; ++i) {
    const FlowRecord& r = *recs[i];
    oldest_tsc = std::min(oldest_tsc, r.ended_tsc);
    spec_.compute(r.stats, {r.first, r.first_count}, {rows_.data() + i * nf, nf});
  }
  const size_t k = model_->num_outputs();
  model_->predict(rows_.data(), n, out_.data());

  for (unsigned i = 0; i < n; ++i) {
    Verdict& v = recs[i]->verdict;
    v.scored = true;
    v.model_generation = generation_;
    const float* p = out_.data() + i * k;
    if (k == 1) {  // binary: P(class 1); class 0 is the other outcome
      v.num_classes = 2;
      v.proba[1] = p[0];
      v.proba[0] = 1.0f - p[0];
    } else {
      v.num_classes = static_cast<uint8_t>(k);
      std::copy(p, p + k, v.proba);
    }
    v.label = static_cast<uint8_t>(std::max_element(v.proba, v.proba + v.num_classes) - v.proba);
    v.score = v.proba[v.label];
    v.alert = v.label != benign_class_ && v.score >= thresholds_[v.label];
    counters_.alerts += v.alert;
  }
  counters_.flows_scored += n;
  ++counters_.batches;
  const uint64_t latency = rte_rdtsc() - oldest_tsc;
  counters_.latency_max_tsc = std::max(counters_.latency_max_tsc, latency);
  counters_.latency_sum_tsc += latency;
}

}  // namespace flowscore
