// Reader for models saved by XGBoost 1.7's Booster.save_model("m.json")
// (schema: doc/model.schema in the XGBoost source tree).
#pragma once
#include <string>
#include <string_view>

#include "forest.hpp"

namespace flowscore::model {

// Fills everything in `forest` the JSON defines (objective, features, base
// margin, trees, and the training attributes class_names and
// feature_spec_version when present); leaves name and hash to the caller. Refuses,
// with a message naming the problem, anything it cannot score exactly as
// XGBoost would: other versions, objectives or boosters, categorical splits,
// multi-target models, and any structural damage. The result still has to
// pass validate_forest().
bool parse_xgboost_json(std::string_view text, Forest& forest, std::string& error);

}  // namespace flowscore::model
