#include "objective.hpp"

#include <fmt/format.h>

#include <cmath>

namespace flowscore::model {
namespace {

// XGBoost 1.7 common::Sigmoid.
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// XGBoost 1.7 common::Softmax: max-shifted exps in float, summed in double,
// each divided by the sum rounded to float.
void softmax(float* row, size_t k) {
  float max = row[0];
  for (size_t i = 1; i < k; ++i) max = std::fmax(row[i], max);
  double sum = 0;
  for (size_t i = 0; i < k; ++i) {
    row[i] = std::exp(row[i] - max);
    sum += row[i];
  }
  const float total = static_cast<float>(sum);
  for (size_t i = 0; i < k; ++i) row[i] /= total;
}

bool is_logistic(Objective o) { return o == Objective::kBinaryLogistic || o == Objective::kRegLogistic; }

}  // namespace

bool base_score_to_margin(Objective objective, float base_score, float& margin, std::string& error) {
  if (!std::isfinite(base_score)) {
    error = fmt::format("base_score {} is not a finite number", base_score);
    return false;
  }
  if (is_logistic(objective)) {
    // LogisticRegression::ProbToMargin.
    if (!(base_score > 0.0f && base_score < 1.0f)) {
      error = fmt::format("base_score {} must be in (0, 1) for {}", base_score, objective_name(objective));
      return false;
    }
    margin = -std::log(1.0f / base_score - 1.0f);
    return true;
  }
  // Identity for squared error, softmax, and binary:logitraw (whose
  // base_score XGBoost 1.7 already takes as a margin; tested against it).
  margin = base_score;
  return true;
}

void transform_row(Objective objective, float* row, size_t num_groups) {
  switch (objective) {
    case Objective::kBinaryLogistic:
    case Objective::kRegLogistic:
      row[0] = sigmoid(row[0]);
      return;
    case Objective::kMultiSoftprob:
    case Objective::kMultiSoftmax:
      softmax(row, num_groups);
      return;
    case Objective::kBinaryLogitRaw:
    case Objective::kRegSquaredError:
      return;
  }
}

}  // namespace flowscore::model
