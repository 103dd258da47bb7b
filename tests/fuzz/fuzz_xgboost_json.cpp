// libFuzzer target: the XGBoost JSON model reader (src/model/xgboost_json.cpp),
// then every scoring engine on whatever it accepts, as fuzz_compiled_model does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "forest_differential.hpp"
#include "xgboost_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  flowscore::model::Forest forest;
  std::string error;
  if (!flowscore::model::parse_xgboost_json(text, forest, error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  // The same gate CompiledModel::from_xgboost_json passes a parsed forest through.
  if (!flowscore::model::validate_forest(forest, error)) return 0;
  flowscore::fuzz::check_engines_agree(forest);
  return 0;
}
