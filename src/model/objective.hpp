// What an XGBoost 1.7 objective does at prediction time: the margin every
// output starts from, and the transform from margins to the reported values.
// Both follow XGBoost's float32 arithmetic exactly (src/objective/
// regression_loss.h, src/common/math.h), because "identical probabilities"
// means identical bits.
#pragma once
#include <cstddef>
#include <string>

#include "forest.hpp"

namespace flowscore::model {

// XGBoost stores base_score in the model in the objective's output space
// (a probability for logistic objectives); predictions start from its margin.
bool base_score_to_margin(Objective objective, float base_score, float& margin, std::string& error);

// Margins of one row (num_groups values) -> reported values, in place.
void transform_row(Objective objective, float* row, size_t num_groups);

}  // namespace flowscore::model
