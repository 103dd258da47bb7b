// XGBoost itself, through its C API: the reference every engine is compared
// with. Trains small models in-test and predicts with
// XGBoosterPredictFromDense (nthread=1).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace flowscore::testing {

struct TrainSpec {
  std::string objective = "binary:logistic";
  int num_class = 0;
  int max_depth = 6;
  int rounds = 10;
  std::string booster = "gbtree";
  std::string tree_method = "hist";
  std::string base_score;  // empty: XGBoost's default
  std::vector<std::pair<std::string, std::string>> extra;  // more parameters
};

// Feature table with realistic flow-feature shapes: heavy-tailed sizes and
// durations (lognormal, Pareto), small counts, byte totals above 2^24,
// signed ratios, and a share of missing (NaN) cells.
std::vector<float> make_rows(size_t n, size_t num_features, uint64_t seed, double missing_rate);
// Labels from a fixed "teacher" function of the rows, so trees split on
// many features at many depths.
std::vector<float> make_labels(const std::vector<float>& rows, size_t num_features, const TrainSpec& spec,
                               uint64_t seed);

class XgbBooster {
 public:
  XgbBooster(const std::vector<float>& rows, const std::vector<float>& labels, size_t num_features,
             const TrainSpec& spec, const std::vector<std::string>& feature_names = {});
  ~XgbBooster();
  XgbBooster(const XgbBooster&) = delete;
  XgbBooster& operator=(const XgbBooster&) = delete;

  void save_json(const std::string& path) const;
  // type 0 = transformed prediction, 1 = margin. Output n x groups (for
  // multi:softmax type 0 gives one class index per row).
  std::vector<float> predict(const float* rows, size_t n, size_t num_features, int type) const;

 private:
  void* booster_ = nullptr;
};

std::string temp_dir();  // a fresh directory for this test process

}  // namespace flowscore::testing
