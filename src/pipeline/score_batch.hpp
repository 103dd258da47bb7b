// Scores a batch of expiring flows with the current model and turns each
// record into a verdict. One ScoreBatch per scoring thread: each worker's, or
// the writer's (model.score_on). The model can be swapped at any time
// (SIGHUP, control command): the scorer picks the new one up at its next
// batch, so a batch is always scored by exactly one model.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flowscore/config.hpp"
#include "flowscore/features.hpp"
#include "flowscore/flow_record.hpp"
#include "flowscore/model.hpp"
#include "run_stats.hpp"

namespace flowscore {

// The model currently in force, shared by all workers.
class ModelSlot {
 public:
  void set(std::shared_ptr<const CompiledModel> m);
  std::shared_ptr<const CompiledModel> get() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The model and its generation, read together (a swap between two reads
  // would pair one model with the other's generation).
  std::shared_ptr<const CompiledModel> get(uint64_t& generation) const;

 private:
  mutable std::mutex mutex_;  // taken once per model swap per worker, never per packet
  std::shared_ptr<const CompiledModel> model_;
  std::atomic<uint64_t> generation_{0};
};

// Refuses a model `run` cannot use: not a classifier, too many classes,
// wrong feature names or order (names the differences), or trained on other
// feature settings: its recorded feature spec version differs from
// spec.version() (docs/FEATURES.md: the same columns then hold other
// numbers). A model that recorded no version passes with a warning, added to
// `warnings`, that its feature settings cannot be checked.
bool check_model_for_run(const CompiledModel& m, const FeatureSpec& spec, std::string& error,
                         std::vector<std::string>& warnings);
// The same, printing the warnings on stderr (one line each).
bool check_model_for_run(const CompiledModel& m, const FeatureSpec& spec, std::string& error);

// Refuses a model whose classes do not include model.benign_class (alerts
// would be raised on the wrong class). Configured class policies
// (model.classes) the model does not have give one warning: a config may
// serve several models.
bool check_model_for_config(const CompiledModel& m, const Config::Model& cfg, std::string& error,
                            std::vector<std::string>& warnings);

class ScoreBatch {
 public:
  ScoreBatch(const FeatureSpec& spec, const Config& cfg, const ModelSlot& slot);
  // At most cfg.model.batch_size records.
  void score(FlowRecord* const* recs, unsigned n);
  const ScoreCounters& counters() const { return counters_; }

 private:
  void adopt_current_model();

  const FeatureSpec& spec_;
  const Config& cfg_;
  const ModelSlot& slot_;
  std::shared_ptr<const CompiledModel> model_;
  uint64_t generation_ = UINT64_MAX;
  int benign_class_ = 0;
  float thresholds_[Verdict::kMaxClasses] = {};
  std::vector<float> rows_;
  std::vector<float> out_;
  ScoreCounters counters_;
};

}  // namespace flowscore
