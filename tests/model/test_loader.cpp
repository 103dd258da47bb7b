// The XGBoost JSON loader on bad input: every kind of damage gets an error
// that names it, and thousands of random mutations never crash it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "flowscore/model.hpp"
#include "forest.hpp"
#include "scorer.hpp"
#include "xgboost_json.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

using nlohmann::json;
using testing::TrainSpec;

constexpr size_t kFeatures = 8;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small valid model of each booster, trained once.
const std::string& valid_model(bool dart) {
  static const std::string gbtree = [] {
    TrainSpec spec{"binary:logistic", 0, 3, 4, "gbtree", "exact"};
    const auto rows = testing::make_rows(600, kFeatures, 1, 0.1);
    std::vector<std::string> names;
    for (size_t i = 0; i < kFeatures; ++i) names.push_back("feature_" + std::to_string(i));
    testing::XgbBooster xgb(rows, testing::make_labels(rows, kFeatures, spec, 2), kFeatures, spec, names);
    xgb.save_json(testing::temp_dir() + "/loader_gbtree.json");
    return read_text(testing::temp_dir() + "/loader_gbtree.json");
  }();
  static const std::string dart_model = [] {
    TrainSpec spec{"multi:softprob", 3, 3, 3, "dart", "hist", "", {{"rate_drop", "0.5"}}};
    const auto rows = testing::make_rows(600, kFeatures, 3, 0.1);
    testing::XgbBooster xgb(rows, testing::make_labels(rows, kFeatures, spec, 4), kFeatures, spec);
    xgb.save_json(testing::temp_dir() + "/loader_dart.json");
    return read_text(testing::temp_dir() + "/loader_dart.json");
  }();
  return dart ? dart_model : gbtree;
}

json& first_tree(json& doc) { return doc["learner"]["gradient_booster"]["model"]["trees"][0]; }

// Parses text and runs the result through the same validation as the public loader.
bool load(const std::string& text, std::string& error) {
  model::Forest forest;
  return model::parse_xgboost_json(text, forest, error) && model::validate_forest(forest, error);
}

void expect_refused(const std::function<void(json&)>& damage, const std::string& expected, bool dart = false) {
  json doc = json::parse(valid_model(dart));
  damage(doc);
  std::string error;
  EXPECT_FALSE(load(doc.dump(), error));
  EXPECT_NE(error.find(expected), std::string::npos) << "error was: " << error;
}

TEST(Loader, AcceptsTheValidModelsAndTheirNames) {
  for (bool dart : {false, true}) {
    model::Forest forest;
    std::string error;
    ASSERT_TRUE(model::parse_xgboost_json(valid_model(dart), forest, error)) << error;
    ASSERT_TRUE(model::validate_forest(forest, error)) << error;
    EXPECT_EQ(forest.num_features, kFeatures);
    EXPECT_EQ(forest.feature_names[3], dart ? "f3" : "feature_3");  // positional without names
    EXPECT_EQ(forest.num_groups, dart ? 3u : 1u);
  }
}

TEST(Loader, TruncatedJsonIsRefusedAtEveryLength) {
  const std::string& text = valid_model(false);
  for (size_t len = 0; len < text.size(); len += 1 + len / 50) {
    std::string error;
    EXPECT_FALSE(load(text.substr(0, len), error));
    EXPECT_FALSE(error.empty());
  }
}

TEST(Loader, DeeplyNestedJsonIsRefusedWithoutExhaustingTheStack) {
  std::string error;
  EXPECT_FALSE(load(std::string(1'000'000, '['), error));
  std::string nested_version = "{\"version\": ";
  nested_version.append(1'000'000, '[').append(1'000'000, ']').append("}");
  EXPECT_FALSE(load(nested_version, error));
  EXPECT_FALSE(error.empty());
}

TEST(Loader, NamesEachKindOfDamage) {
  expect_refused([](json& d) { d["version"] = {2, 0, 0}; }, "version");
  expect_refused([](json& d) { d["version"] = {1, 5, 1}; }, "XGBoost 1.7");
  expect_refused([](json& d) { d.erase("version"); }, "'version'");
  expect_refused([](json& d) { d["learner"]["learner_model_param"]["base_score"] = "nan"; }, "base_score");
  expect_refused([](json& d) { d["learner"]["learner_model_param"]["base_score"] = "1.5"; }, "base_score");
  expect_refused([](json& d) { first_tree(d)["split_conditions"][0] = "NaN"; }, "split_conditions[0] is not a number");
  expect_refused([](json& d) { first_tree(d)["left_children"][0] = 999; }, "out of range");
  expect_refused([](json& d) { first_tree(d)["left_children"][0] = -7; }, "outside");
  expect_refused([](json& d) { first_tree(d)["left_children"][1] = 0; }, "reachable twice");
  expect_refused(  // two parents share one subtree
      [](json& d) {
        json& t = first_tree(d);
        t["right_children"][0] = t["left_children"][0];
      },
      "reachable twice");
  expect_refused([](json& d) { first_tree(d)["split_indices"][0] = kFeatures; }, "splits on feature 8");
  expect_refused(
      [](json& d) {
        json& m = d["learner"]["gradient_booster"]["model"];
        m["trees"] = json::array();
        m["tree_info"] = json::array();
        m["gbtree_model_param"]["num_trees"] = "0";
      },
      "no trees");
  expect_refused([](json& d) { first_tree(d)["split_conditions"].erase(0); }, "node arrays have");
  expect_refused([](json& d) { first_tree(d)["split_type"][0] = 1; }, "categorical");
  expect_refused([](json& d) { d["learner"]["objective"]["name"] = "reg:gamma"; }, "objective 'reg:gamma'");
  expect_refused([](json& d) { d["learner"]["gradient_booster"]["name"] = "gblinear"; }, "booster 'gblinear'");
  expect_refused([](json& d) { d["learner"]["learner_model_param"]["num_target"] = "2"; }, "multi-target");
  expect_refused([](json& d) { d["learner"]["learner_model_param"]["num_feature"] = "-3"; }, "num_feature");
  expect_refused([](json& d) { d["learner"]["gradient_booster"]["model"]["tree_info"][0] = 1; }, "output 1");
  expect_refused([](json& d) { d["learner"]["feature_names"].erase(0); }, "features but num_feature");
  expect_refused([](json& d) { d["learner"]["feature_names"][1] = "feature_0"; }, "appears twice");
  expect_refused([](json& d) { d["learner"]["gradient_booster"]["weight_drop"].erase(0); }, "weight_drop", true);
  expect_refused([](json& d) { d["learner"]["learner_model_param"]["num_class"] = "1"; }, "num_class", true);
}

TEST(Loader, RawNanTokenIsNotJson) {
  std::string text = valid_model(false);
  const size_t at = text.find("\"split_conditions\":[") + 20;
  text.insert(at, "NaN,");
  std::string error;
  EXPECT_FALSE(load(text, error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
}

TEST(Loader, PublicLoaderNamesTheFileAndRefusesMissingFiles) {
  std::string error;
  EXPECT_FALSE(CompiledModel::from_xgboost_json(testing::temp_dir() + "/absent.json", error));
  EXPECT_NE(error.find("absent.json"), std::string::npos);
  const std::string path = testing::temp_dir() + "/garbage.json";
  std::ofstream(path) << "{\"version\": [1, 7, 4], \"learner\": 3}";
  EXPECT_FALSE(CompiledModel::from_xgboost_json(path, error));
  EXPECT_NE(error.find("garbage.json"), std::string::npos);
}

// Any model the loader accepts must be safe to score, and every engine must
// agree bit for bit with the reference twin on it, however odd its trees
// (mutated thresholds, default directions, shapes).
void score_with_every_engine(const model::Forest& forest) {
  constexpr size_t kRows = 45;  // a 32-row SIMD block, an 8-row block, a 5-row tail
  std::vector<float> rows = testing::make_rows(kRows, forest.num_features, 5, 0.2);
  rows[3] = INFINITY;
  rows[4] = -INFINITY;
  std::vector<float> want(kRows * forest.num_groups), got(want.size());
  model::make_reference_scorer(forest)->predict_margin(rows.data(), kRows, want.data());
  std::vector<std::unique_ptr<model::Scorer>> engines;
  engines.push_back(model::make_sparse_scorer(forest));
  for (auto isa : {model::PaddedIsa::kScalar, model::PaddedIsa::kAvx2, model::PaddedIsa::kAvx512})
    engines.push_back(model::make_padded_scorer(forest, isa));
  for (const auto& engine : engines) {
    if (!engine) continue;  // CPU without that ISA
    engine->predict_margin(rows.data(), kRows, got.data());
    ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << engine->name();
  }
}

// Byte-level mutations of the JSON text (fixed seed): flips, deletions,
// insertions of JSON-significant characters and digits, chunk duplication.
TEST(LoaderFuzz, ByteMutationsNeverCrash) {
  std::mt19937_64 rng(20240501);
  const std::string alphabet = "{}[]\",:-0123456789eE.nNaul ";
  size_t accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string text = valid_model(i % 2);
    for (int m = 1 + rng() % 4; m > 0; --m) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[at] = static_cast<char>(rng()); break;
        case 1: text.erase(at, 1 + rng() % 8); break;
        case 2: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: text.insert(at, text.substr(rng() % text.size(), rng() % 64)); break;
      }
      if (text.empty()) text.push_back('{');
    }
    model::Forest forest;
    std::string error;
    if (model::parse_xgboost_json(text, forest, error) && model::validate_forest(forest, error)) {
      ++accepted;
      score_with_every_engine(forest);
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
  RecordProperty("accepted", static_cast<int>(accepted));
}

// Structure-aware mutations: valid JSON whose tree arrays get random, often
// hostile, integers and floats, which byte flips rarely produce.
TEST(LoaderFuzz, TreeArrayMutationsNeverCrash) {
  std::mt19937_64 rng(777);
  const char* fields[] = {"left_children", "right_children", "split_indices", "default_left", "split_conditions"};
  const json values[] = {-1, -2, 0, 1, 2, 3, 7, 8, 2147483647, 4294967295u, -2147483648LL, 1e30, -0.0, "x", nullptr,
                         json::array()};
  size_t accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    json doc = json::parse(valid_model(i % 2));
    json& trees = i % 2 ? doc["learner"]["gradient_booster"]["gbtree"]["model"]["trees"]
                        : doc["learner"]["gradient_booster"]["model"]["trees"];
    for (int m = 1 + rng() % 3; m > 0; --m) {
      json& tree = trees[rng() % trees.size()];
      json& array = tree[fields[rng() % std::size(fields)]];
      if (array.empty()) continue;
      if (rng() % 8 == 0)
        array.erase(rng() % array.size());
      else
        array[rng() % array.size()] = values[rng() % std::size(values)];
    }
    model::Forest forest;
    std::string error;
    if (model::parse_xgboost_json(doc.dump(), forest, error) && model::validate_forest(forest, error)) {
      ++accepted;
      score_with_every_engine(forest);
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
  RecordProperty("accepted", static_cast<int>(accepted));
}

}  // namespace
}  // namespace flowscore
