// Bit-exactness of every scoring engine against XGBoost 1.7 itself
// (XGBoosterPredictFromDense, nthread=1) on models trained here through the
// C API: margins compared with memcmp, probabilities likewise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "flowscore/model.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

using testing::TrainSpec;
using testing::XgbBooster;

constexpr size_t kFeatures = 24;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Thresholds per feature, read straight from the JSON (not through the code
// under test) so adversarial rows can sit exactly on them.
std::map<uint32_t, std::vector<float>> thresholds_from_json(const std::string& path) {
  using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;
  std::ifstream in(path);
  const Json doc = Json::parse(in);
  const Json& booster = doc["learner"]["gradient_booster"];
  const Json& model = booster.contains("gbtree") ? booster["gbtree"]["model"] : booster["model"];
  std::map<uint32_t, std::set<float>> unique;
  for (const Json& tree : model["trees"]) {
    for (size_t i = 0; i < tree["left_children"].size(); ++i)
      if (tree["left_children"][i].get<int64_t>() != -1)
        unique[tree["split_indices"][i].get<uint32_t>()].insert(tree["split_conditions"][i].get<float>());
  }
  std::map<uint32_t, std::vector<float>> out;
  for (auto& [f, s] : unique) out[f] = std::vector<float>(s.begin(), s.end());
  return out;
}

// Rows that sit on every decision boundary: for each (feature, threshold),
// one row exactly at it and one float below and above, the rest of the row
// random; then rows mixing thresholds with NaN, ±inf, ±0, huge and tiny values.
std::vector<float> adversarial_rows(const std::map<uint32_t, std::vector<float>>& thresholds, size_t max_pairs,
                                    size_t mixed_rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<uint32_t, float>> pairs;
  for (const auto& [f, ts] : thresholds)
    for (float t : ts) pairs.push_back({f, t});
  std::shuffle(pairs.begin(), pairs.end(), rng);
  if (pairs.size() > max_pairs) pairs.resize(max_pairs);
  const std::vector<float> base = testing::make_rows(pairs.size() * 3 + mixed_rows, kFeatures, seed + 1, 0.05);
  std::vector<float> rows(base);
  size_t r = 0;
  for (const auto& [f, t] : pairs) {
    rows[r++ * kFeatures + f] = t;
    rows[r++ * kFeatures + f] = std::nextafter(t, -kInf);
    rows[r++ * kFeatures + f] = std::nextafter(t, kInf);
  }
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 16777216.0f /* 2^24 */, 16777218.0f, 33554436.0f,
                            3e9f, -3e9f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f};
  std::uniform_int_distribution<int> pick(0, 3);
  for (; r < rows.size() / kFeatures; ++r) {
    for (uint32_t f = 0; f < kFeatures; ++f) {
      float& x = rows[r * kFeatures + f];
      const auto it = thresholds.find(f);
      const int kind = pick(rng);
      if (kind == 0 || it == thresholds.end()) {
        x = specials[rng() % std::size(specials)];
      } else {
        const float t = it->second[rng() % it->second.size()];
        x = kind == 1 ? t : std::nextafter(t, kind == 2 ? -kInf : kInf);
      }
    }
  }
  return rows;
}

struct Case {
  const char* name;
  TrainSpec spec;
  size_t train_rows;
  size_t random_rows;    // test rows drawn like the training data
  size_t max_boundary_pairs;  // (feature, threshold) pairs swept at, below, above
  size_t mixed_rows;          // rows of thresholds mixed with NaN, ±inf, huge values
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Row counts keep the suite inside its time budget: the 100k-row runs are
// on mid-size models, the 1000-tree model sees fewer rows.
const Case kCases[] = {
    {"binary_d6_t100", {"binary:logistic", 0, 6, 100}, 4000, 100000, 10000, 20000},
    {"binary_d1_t1", {"binary:logistic", 0, 1, 1}, 1000, 20000, 1000, 5000},
    {"binary_d10_t40_exact_base03", {"binary:logistic", 0, 10, 40, "gbtree", "exact", "0.3"}, 3000, 10000, 5000, 5000},
    {"binary_d6_t1000", {"binary:logistic", 0, 6, 1000}, 600, 2000, 1000, 2000},
    {"binary_d4_t20_approx", {"binary:logistic", 0, 4, 20, "gbtree", "approx"}, 2000, 20000, 2000, 5000},
    {"softprob_k3_d6_t150", {"multi:softprob", 3, 6, 50}, 4000, 100000, 3000, 10000},
    {"softmax_k5_d4_t100", {"multi:softmax", 5, 4, 20}, 3000, 20000, 3000, 5000},
    {"squarederror_d8_t200_base12", {"reg:squarederror", 0, 8, 200, "gbtree", "hist", "12.5"}, 2500, 10000, 3000, 5000},
    {"reglogistic_d3_t30_base02", {"reg:logistic", 0, 3, 30, "gbtree", "hist", "0.2"}, 2000, 20000, 2000, 5000},
    {"logitraw_d5_t20_base07", {"binary:logitraw", 0, 5, 20, "gbtree", "hist", "0.7"}, 2000, 20000, 2000, 5000},
    {"dart_binary_d5_t30_base03",
     {"binary:logistic", 0, 5, 30, "dart", "hist", "0.3", {{"rate_drop", "0.2"}}},
     2000, 20000, 2000, 5000},
    {"dart_softprob_k4_d4_t60",
     {"multi:softprob", 4, 4, 15, "dart", "hist", "", {{"rate_drop", "0.3"}, {"normalize_type", "forest"}}},
     2000, 20000, 2000, 5000},
};

// kFastest last: the engine production uses also gets its probabilities checked
// (the transform after the margins is shared by all engines).
constexpr ScoringEngine kEngines[] = {ScoringEngine::kReference, ScoringEngine::kSparseInterleaved,
                                      ScoringEngine::kPaddedScalar, ScoringEngine::kPaddedAvx2,
                                      ScoringEngine::kPaddedAvx512, ScoringEngine::kFastest};

// Calls predict in uneven chunks so every block size and tail path runs.
template <typename Predict>
void predict_in_chunks(size_t n, size_t nf, size_t k, const float* rows, float* out, Predict predict) {
  constexpr size_t kChunks[] = {1, 3, 8, 13, 32, 33, 100, 1024, 4099};
  for (size_t r = 0, i = 0; r < n; ++i) {
    const size_t m = std::min(kChunks[i % std::size(kChunks)], n - r);
    predict(rows + r * nf, m, out + r * k);
    r += m;
  }
}

size_t count_mismatches(const std::vector<float>& got, const std::vector<float>& want, size_t k, size_t& first) {
  size_t bad = 0;
  first = SIZE_MAX;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      if (first == SIZE_MAX) first = i / k;
      ++bad;
    }
  }
  return bad;
}

class Exactness : public ::testing::TestWithParam<Case> {};

TEST_P(Exactness, MarginsAndProbabilitiesBitIdenticalToXgboost) {
  const Case& c = GetParam();
  const std::vector<float> train = testing::make_rows(c.train_rows, kFeatures, 11, 0.05);
  const XgbBooster xgb(train, testing::make_labels(train, kFeatures, c.spec, 12), kFeatures, c.spec);
  const std::string path = testing::temp_dir() + "/" + c.name + ".json";
  xgb.save_json(path);

  std::vector<float> rows = testing::make_rows(c.random_rows, kFeatures, 13, 0.1);
  const std::vector<float> edge = adversarial_rows(thresholds_from_json(path), c.max_boundary_pairs, c.mixed_rows, 14);
  rows.insert(rows.end(), edge.begin(), edge.end());
  const size_t n = rows.size() / kFeatures;
  const std::vector<float> want_margin = xgb.predict(rows.data(), n, kFeatures, 1);
  const std::vector<float> want_output = xgb.predict(rows.data(), n, kFeatures, 0);
  const bool softmax_label = c.spec.objective == "multi:softmax";

  for (ScoringEngine engine : kEngines) {
    std::string error;
    const auto model = CompiledModel::from_xgboost_json(path, error, {.engine = engine});
    if (!model && ((engine == ScoringEngine::kPaddedAvx2 && !__builtin_cpu_supports("avx2")) ||
                   (engine == ScoringEngine::kPaddedAvx512 && !__builtin_cpu_supports("avx512f"))))
      continue;  // this CPU cannot run that engine
    ASSERT_TRUE(model) << error;
    SCOPED_TRACE(model->engine_name());
    const size_t k = model->num_outputs();
    ASSERT_EQ(k, std::max(1, c.spec.num_class));
    ASSERT_EQ(want_margin.size(), n * k);

    std::vector<float> margin(n * k), output(n * k);
    predict_in_chunks(n, kFeatures, k, rows.data(), margin.data(),
                      [&](const float* x, size_t m, float* o) { model->predict_margin(x, m, o); });
    size_t first = 0;
    EXPECT_EQ(count_mismatches(margin, want_margin, k, first), 0u)
        << n << " rows; first differing row " << first << ": got " << margin[first * k] << " want "
        << want_margin[first * k];
    if (engine != ScoringEngine::kFastest) continue;

    predict_in_chunks(n, kFeatures, k, rows.data(), output.data(),
                      [&](const float* x, size_t m, float* o) { model->predict(x, m, o); });
    if (softmax_label) {
      // XGBoost reports the class: the first maximal margin.
      size_t bad = 0;
      for (size_t r = 0; r < n; ++r) {
        const float* row = &margin[r * k];
        bad += static_cast<float>(std::max_element(row, row + k) - row) != want_output[r];
      }
      EXPECT_EQ(bad, 0u);
    } else {
      EXPECT_EQ(count_mismatches(output, want_output, k, first), 0u)
          << "first differing row " << first << ": got " << output[first * k] << " want "
          << want_output[first * k];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Exactness, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace flowscore
