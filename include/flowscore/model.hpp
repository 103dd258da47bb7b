// Compiled XGBoost model: what the workers score expiring flows with.
//
// A model is read from an XGBoost 1.7 JSON file (Booster.save_model) or from
// the compiled file `flowscore compile` writes, validated completely (every
// index bounds-checked, every tree a proper tree), and is immutable after
// that: workers share one instance read-only through shared_ptr<const>.
//
// Predictions are bit-identical to XGBoost 1.7's own CPU predictor
// (XGBoosterPredictFromDense, nthread=1): tests/model checks that against the
// library itself. predict*() never allocates; the caller owns both buffers.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace flowscore {

// How the forest is walked. All engines give bit-identical results; they
// differ only in speed (docs/BENCHMARKS.md, "Scoring").
enum class ScoringEngine {
  kFastest,            // the measured-fastest engine this CPU supports (default)
  kReference,          // one row, one node at a time: the slow obviously-correct twin
  kSparseInterleaved,  // flat node arrays, 8 rows walked together (scalar)
  kPaddedScalar,       // trees padded to perfect depth, branch-free descent (scalar)
  kPaddedAvx2,         // same layout, 8 rows per AVX2 vector with gathers
  kPaddedAvx512,       // same layout, 16 rows per AVX-512 vector
};

struct CompileOptions {
  std::string name;  // model name; default: JSON file name without ".json"
  // One per class (2 for a binary model); default: the JSON's class_names
  // attribute, which scripts/train writes.
  std::vector<std::string> class_names;
  // FeatureSpec::version() the model was trained on; default: the JSON's
  // feature_spec_version attribute.
  std::string feature_spec_version;
  ScoringEngine engine = ScoringEngine::kFastest;
};

class CompiledModel {
 public:
  // A compiled file written by save()/`flowscore compile`. nullptr + error on
  // any problem (the message names it).
  static std::shared_ptr<const CompiledModel> load(const std::string& path, std::string& error,
                                                   ScoringEngine engine = ScoringEngine::kFastest);
  static std::shared_ptr<const CompiledModel> from_xgboost_json(const std::string& path,
                                                                std::string& error,
                                                                const CompileOptions& options = {});
  // Writes the compiled form. False + error when the file cannot be written.
  bool save(const std::string& path, std::string& error) const;

  ~CompiledModel();
  CompiledModel(const CompiledModel&) = delete;
  CompiledModel& operator=(const CompiledModel&) = delete;

  size_t num_features() const;
  size_t num_outputs() const;  // 1 for binary/regression, K for K-class models
  size_t num_trees() const;
  const std::vector<std::string>& feature_names() const;  // f0..fN-1 when the model had none
  const std::vector<std::string>& class_names() const;    // may be empty
  size_t num_classes() const;                             // 2 for binary, else num_outputs()
  // Class c's name, or class_<c> when the model has none (as EVE names it).
  std::string class_label(size_t c) const;
  const std::string& name() const;
  // First 12 hex digits of the compiled file's SHA-256 (`sha256sum MODEL`);
  // a model read from JSON has the hash its compiled file will have.
  const std::string& hash() const;
  // The feature spec version it was trained on; empty when not recorded.
  const std::string& feature_spec_version() const;
  std::string objective() const;    // XGBoost's name, e.g. "binary:logistic"
  const char* engine_name() const;  // the engine actually in use

  // rows: n x num_features() row-major float32, NaN = missing.
  // out:  n x num_outputs().
  void predict_margin(const float* rows, size_t n, float* out) const;
  // Margins through the objective's transform: sigmoid for logistic
  // objectives, softmax for multi:softprob and multi:softmax (class
  // probabilities; XGBoost's multi:softmax label is their argmax), identity
  // for regression and binary:logitraw.
  void predict(const float* rows, size_t n, float* out) const;

 private:
  struct Impl;
  explicit CompiledModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowscore
