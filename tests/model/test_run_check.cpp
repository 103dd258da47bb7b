// What `flowscore run` asks of a model before it scores with it
// (src/pipeline/score_batch.hpp): the feature settings it was trained on, and
// classes that fit the configured alert policy.
#include <gtest/gtest.h>

#include "../../src/pipeline/score_batch.hpp"
#include "flowscore/eve.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

// A small real model over flowscore's own feature names, compiled with the
// given feature spec version and class names.
std::shared_ptr<const CompiledModel> model_over_flowscore_features(const std::string& spec_version,
                                                                   std::vector<std::string> class_names) {
  static const std::string json = [] {
    const FeatureSpec spec{FeatureConfig{}};
    const testing::TrainSpec train{"multi:softprob", 3, 3, 2};
    const auto rows = testing::make_rows(300, spec.count(), 51, 0.1);
    testing::XgbBooster xgb(rows, testing::make_labels(rows, spec.count(), train, 52), spec.count(), train,
                            spec.names());
    const std::string path = testing::temp_dir() + "/flowscore_features.json";
    xgb.save_json(path);
    return path;
  }();
  std::string error;
  auto m = CompiledModel::from_xgboost_json(
      json, error, {.name = "m", .class_names = std::move(class_names), .feature_spec_version = spec_version});
  EXPECT_TRUE(m) << error;
  return m;
}

TEST(RunCheck, RefusesAModelTrainedOnOtherFeatureSettings) {
  const FeatureSpec trained{FeatureConfig{}};
  FeatureConfig other_window;
  other_window.pair_window_ns = 1'000'000'000;
  FeatureConfig other_gap;
  other_gap.activity_gap_ns = 10'000'000;
  const auto m = model_over_flowscore_features(trained.version(), {"benign", "scan", "flood"});
  for (const FeatureConfig& running : {other_window, other_gap}) {
    const FeatureSpec spec(running);
    ASSERT_EQ(spec.names(), trained.names());  // the columns alone cannot tell
    std::string error;
    std::vector<std::string> warnings;
    EXPECT_FALSE(check_model_for_run(*m, spec, error, warnings));
    EXPECT_NE(error.find(trained.version()), std::string::npos) << error;
    EXPECT_NE(error.find(spec.version()), std::string::npos) << error;
  }
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_TRUE(check_model_for_run(*m, trained, error, warnings)) << error;
  EXPECT_TRUE(warnings.empty());
}

TEST(RunCheck, AModelWithoutAVersionPassesWithAWarning) {
  const FeatureSpec spec{FeatureConfig{}};
  const auto m = model_over_flowscore_features("", {"benign", "scan", "flood"});
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_TRUE(check_model_for_run(*m, spec, error, warnings)) << error;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("records no feature spec version"), std::string::npos) << warnings[0];
}

TEST(RunCheck, BenignClassMustBeAClassOfTheModel) {
  const auto m = model_over_flowscore_features("", {"benign", "scan", "flood"});
  Config::Model cfg;
  cfg.benign_class = "nope";
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_FALSE(check_model_for_config(*m, cfg, error, warnings));
  EXPECT_NE(error.find("model.benign_class 'nope'"), std::string::npos) << error;
  EXPECT_NE(error.find("benign, scan, flood"), std::string::npos) << error;

  cfg.benign_class = "scan";
  EXPECT_TRUE(check_model_for_config(*m, cfg, error, warnings)) << error;
  EXPECT_TRUE(warnings.empty());

  // Without class names the classes are class_0.. (as EVE names them).
  const auto unnamed = model_over_flowscore_features("", {});
  cfg.benign_class = "benign";
  EXPECT_FALSE(check_model_for_config(*unnamed, cfg, error, warnings));
  EXPECT_NE(error.find("class_0, class_1, class_2"), std::string::npos) << error;
  cfg.benign_class = "class_0";
  EXPECT_TRUE(check_model_for_config(*unnamed, cfg, error, warnings)) << error;
}

TEST(RunCheck, PoliciesForClassesTheModelLacksGiveOneWarning) {
  const auto m = model_over_flowscore_features("", {"benign", "scan", "flood"});
  Config::Model cfg;
  cfg.classes = {{.name = "scan"}, {.name = "slowloris"}, {.name = "c2_beacon"}};
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_TRUE(check_model_for_config(*m, cfg, error, warnings)) << error;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("left unused: slowloris, c2_beacon (its classes"), std::string::npos) << warnings[0];
}

// Two classes may not share an alert.signature_id: a configured id that
// takes another class's derived one is refused, naming the fix.
TEST(RunCheck, ClassesNeedDistinctSignatureIds) {
  const auto m = model_over_flowscore_features("", {"benign", "scan", "flood"});
  Config::Model cfg;
  cfg.classes = {{.name = "flood", .signature_id = class_signature_id("scan")}};
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_FALSE(check_model_for_config(*m, cfg, error, warnings));
  EXPECT_NE(error.find("'scan' and 'flood'"), std::string::npos) << error;
  EXPECT_NE(error.find("model.classes.flood.signature_id"), std::string::npos) << error;
  cfg.classes[0].signature_id = 2'000'000;
  EXPECT_TRUE(check_model_for_config(*m, cfg, error, warnings)) << error;
}

// scripts/pipeline's defaults train the generator's 18 attack classes and
// benign: run must take such a model (issue 13 §3), and refuse one it could
// not hold.
TEST(RunCheck, TakesNineteenClassesAndRefusesMoreThanItHolds) {
  const FeatureSpec spec{FeatureConfig{}};
  const auto rows = testing::make_rows(400, spec.count(), 61, 0.1);
  for (const int classes : {19, Verdict::kMaxClasses + 1}) {
    const testing::TrainSpec train{"multi:softprob", classes, 2, 1};
    testing::XgbBooster xgb(rows, testing::make_labels(rows, spec.count(), train, 62), spec.count(), train,
                            spec.names());
    const std::string path = testing::temp_dir() + "/classes.json";
    xgb.save_json(path);
    std::vector<std::string> names = {"benign"};
    for (int c = 1; c < classes; ++c) names.push_back("attack_" + std::to_string(c));
    std::string error;
    const auto m = CompiledModel::from_xgboost_json(path, error, {.name = "m", .class_names = names});
    ASSERT_TRUE(m) << error;
    std::vector<std::string> warnings;
    const bool ok = check_model_for_run(*m, spec, error, warnings);
    EXPECT_EQ(ok, classes <= Verdict::kMaxClasses) << classes << ": " << error;
    if (!ok) {
      EXPECT_NE(error.find("at most 32 are supported"), std::string::npos) << error;
    }
  }
}

}  // namespace

}  // namespace flowscore
