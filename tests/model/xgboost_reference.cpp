#include "xgboost_reference.hpp"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>

namespace flowscore::testing {
namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + XGBGetLastError());
}

}  // namespace

std::vector<float> make_rows(size_t n, size_t nf, uint64_t seed, double missing_rate) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::geometric_distribution<int> small_count(0.3);
  std::vector<float> rows(n * nf);
  for (size_t r = 0; r < n; ++r) {
    for (size_t f = 0; f < nf; ++f) {
      double v = 0;
      switch (f % 6) {
        case 0: v = std::exp(2.0 * normal(rng)); break;                          // sizes, durations
        case 1: v = small_count(rng); break;                                      // flag / packet counts
        case 2: v = 1e6 * std::pow(uniform(rng) + 1e-9, -1.3); break;             // byte totals, > 2^24
        case 3: v = normal(rng); break;                                           // signed ratios
        case 4: v = uniform(rng) < 0.3 ? 0.0 : 65535 * uniform(rng); break;       // ports, windows
        case 5: v = std::floor(1e3 * std::exp(3.0 * normal(rng))) / 1e3; break;  // µs gaps
      }
      rows[r * nf + f] = uniform(rng) < missing_rate ? std::numeric_limits<float>::quiet_NaN()
                                                     : static_cast<float>(v);
    }
  }
  return rows;
}

std::vector<float> make_labels(const std::vector<float>& rows, size_t nf, const TrainSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> weight(nf);
  for (auto& w : weight) w = normal(rng);
  const size_t n = rows.size() / nf;
  std::vector<float> labels(n);
  for (size_t r = 0; r < n; ++r) {
    double score = 0.5 * normal(rng);
    for (size_t f = 0; f < nf; ++f) {
      const double x = rows[r * nf + f];
      if (!std::isnan(x)) score += weight[f] * std::tanh(std::log1p(std::fabs(x)) - 2.0) * (x < 0 ? -1 : 1);
    }
    if (spec.num_class > 1)
      labels[r] = static_cast<float>(std::clamp<int>(static_cast<int>(std::floor(score + spec.num_class / 2.0)),
                                                     0, spec.num_class - 1));
    else if (spec.objective.starts_with("reg:squared"))
      labels[r] = static_cast<float>(score);
    else
      labels[r] = score > 0 ? 1.0f : 0.0f;
  }
  return labels;
}

XgbBooster::XgbBooster(const std::vector<float>& rows, const std::vector<float>& labels, size_t nf,
                       const TrainSpec& spec, const std::vector<std::string>& feature_names) {
  const size_t n = labels.size();
  DMatrixHandle dtrain = nullptr;
  check(XGDMatrixCreateFromMat(rows.data(), n, nf, std::numeric_limits<float>::quiet_NaN(), &dtrain),
        "XGDMatrixCreateFromMat");
  check(XGDMatrixSetFloatInfo(dtrain, "label", labels.data(), n), "XGDMatrixSetFloatInfo");
  BoosterHandle booster = nullptr;
  check(XGBoosterCreate(&dtrain, 1, &booster), "XGBoosterCreate");
  booster_ = booster;
  if (!feature_names.empty()) {
    std::vector<const char*> names;
    for (const auto& s : feature_names) names.push_back(s.c_str());
    check(XGBoosterSetStrFeatureInfo(booster, "feature_name", names.data(), names.size()), "feature_name");
  }
  auto set = [&](const std::string& k, const std::string& v) {
    check(XGBoosterSetParam(booster, k.c_str(), v.c_str()), k.c_str());
  };
  set("nthread", "1");
  set("seed", "7");
  set("objective", spec.objective);
  set("max_depth", std::to_string(spec.max_depth));
  set("booster", spec.booster);
  set("tree_method", spec.tree_method);
  set("min_child_weight", "0");  // let small data still grow deep trees
  set("eta", "0.3");
  if (spec.num_class > 1) set("num_class", std::to_string(spec.num_class));
  if (!spec.base_score.empty()) set("base_score", spec.base_score);
  for (const auto& [k, v] : spec.extra) set(k, v);
  for (int i = 0; i < spec.rounds; ++i) check(XGBoosterUpdateOneIter(booster, i, dtrain), "UpdateOneIter");
  XGDMatrixFree(dtrain);
}

XgbBooster::~XgbBooster() { XGBoosterFree(booster_); }

void XgbBooster::save_json(const std::string& path) const {
  check(XGBoosterSaveModel(booster_, path.c_str()), "XGBoosterSaveModel");
}

std::vector<float> XgbBooster::predict(const float* rows, size_t n, size_t nf, int type) const {
  char array[256], config[256];
  std::snprintf(array, sizeof array,
                R"({"data": [%llu, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(rows)), n, nf);
  std::snprintf(config, sizeof config,
                R"({"type": %d, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
                R"("strict_shape": false, "missing": NaN, "cache_id": 0})",
                type);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDense(booster_, array, config, nullptr, &shape, &dims, &result),
        "XGBoosterPredictFromDense");
  size_t size = 1;
  for (bst_ulong d = 0; d < dims; ++d) size *= shape[d];
  return std::vector<float>(result, result + size);
}

std::string temp_dir() {
  // Created on first use, removed with everything in it at process exit.
  struct TempDir {
    std::string path;
    TempDir() {
      char pattern[] = "/tmp/flowscore-model-test-XXXXXX";
      if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
      path = pattern;
    }
    ~TempDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const TempDir dir;
  return dir.path;
}

}  // namespace flowscore::testing
