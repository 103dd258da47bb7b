// compile -> save -> load round trip, and the compiled file's defences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "compiled_file.hpp"
#include "flowscore/model.hpp"
#include "xgboost_json.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

using testing::TrainSpec;
constexpr size_t kFeatures = 10;

std::string json_model_path() {
  static const std::string path = [] {
    TrainSpec spec{"multi:softprob", 3, 4, 6};
    const auto rows = testing::make_rows(1500, kFeatures, 21, 0.1);
    std::vector<std::string> names;
    for (size_t i = 0; i < kFeatures; ++i) names.push_back("feat_" + std::to_string(i));
    testing::XgbBooster xgb(rows, testing::make_labels(rows, kFeatures, spec, 22), kFeatures, spec, names);
    const std::string p = testing::temp_dir() + "/roundtrip.json";
    xgb.save_json(p);
    return p;
  }();
  return path;
}

std::string compiled_bytes() {
  std::string error;
  const auto model = CompiledModel::from_xgboost_json(
      json_model_path(), error, {.name = "demo", .class_names = {"a", "b", "c"}, .feature_spec_version = "spec v1"});
  EXPECT_TRUE(model) << error;
  const std::string path = testing::temp_dir() + "/roundtrip.fsm";
  EXPECT_TRUE(model->save(path, error)) << error;
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool parse(const std::string& bytes, std::string& error) {
  model::Forest forest;
  return model::parse_compiled_file(bytes, forest, error);
}

TEST(CompiledFile, RoundTripKeepsMetadataAndPredictions) {
  std::string error;
  const auto source = CompiledModel::from_xgboost_json(
      json_model_path(), error, {.name = "demo", .class_names = {"a", "b", "c"}, .feature_spec_version = "spec v1"});
  ASSERT_TRUE(source) << error;
  const std::string path = testing::temp_dir() + "/roundtrip2.fsm";
  ASSERT_TRUE(source->save(path, error)) << error;
  const auto rows = testing::make_rows(5000, kFeatures, 23, 0.1);
  std::vector<float> want(5000 * 3);
  source->predict_margin(rows.data(), 5000, want.data());
  for (ScoringEngine engine : {ScoringEngine::kReference, ScoringEngine::kSparseInterleaved,
                               ScoringEngine::kPaddedScalar, ScoringEngine::kFastest}) {
    const auto loaded = CompiledModel::load(path, error, engine);
    ASSERT_TRUE(loaded) << error;
    EXPECT_EQ(loaded->name(), "demo");
    EXPECT_EQ(loaded->class_names(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(loaded->feature_spec_version(), "spec v1");
    EXPECT_EQ(loaded->feature_names(), source->feature_names());
    EXPECT_EQ(loaded->feature_names()[9], "feat_9");
    EXPECT_EQ(loaded->hash(), source->hash());
    EXPECT_EQ(loaded->hash().size(), 12u);
    EXPECT_EQ(loaded->objective(), "multi:softprob");
    EXPECT_EQ(loaded->num_trees(), 18u);
    std::vector<float> got(want.size());
    loaded->predict_margin(rows.data(), 5000, got.data());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << loaded->engine_name();
  }
}

// Independent computation with the sha256sum tool.
std::string sha256sum_prefix(const std::string& path) {
  const std::string command = "sha256sum '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  char digest[65] = {};
  const size_t n = pipe ? fread(digest, 1, 64, pipe) : 0;
  if (pipe) pclose(pipe);
  return n == 64 ? std::string(digest, 12) : std::string("sha256sum failed");
}

// The hash names the compiled model (EVE's flowscore.model.hash), not its
// source: one JSON compiled with other class names is another model.
TEST(CompiledFile, HashIsTheCompiledFileSha256) {
  std::string error;
  const auto model = CompiledModel::from_xgboost_json(json_model_path(), error);
  ASSERT_TRUE(model) << error;
  EXPECT_EQ(model->name(), "roundtrip");  // default: JSON file name
  const std::string path = testing::temp_dir() + "/hashed.fsm";
  ASSERT_TRUE(model->save(path, error)) << error;
  EXPECT_EQ(model->hash(), sha256sum_prefix(path));
  const auto loaded = CompiledModel::load(path, error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(loaded->hash(), sha256sum_prefix(path));
  EXPECT_NE(model->hash(), sha256sum_prefix(json_model_path()));

  const auto abc = CompiledModel::from_xgboost_json(json_model_path(), error, {.class_names = {"a", "b", "c"}});
  const auto xyz = CompiledModel::from_xgboost_json(json_model_path(), error, {.class_names = {"x", "y", "z"}});
  ASSERT_TRUE(abc && xyz) << error;
  EXPECT_NE(abc->hash(), xyz->hash());
}

// A copy of the test model with booster attributes, as scripts/train sets
// them (XGBoost stores attributes as strings).
std::string json_with_attributes(const std::string& name, const nlohmann::json& attributes) {
  std::ifstream in(json_model_path());
  nlohmann::json doc = nlohmann::json::parse(in);
  doc["learner"]["attributes"] = attributes;
  const std::string path = testing::temp_dir() + "/" + name + ".json";
  std::ofstream(path) << doc.dump();
  return path;
}

TEST(CompiledFile, TrainingAttributesAreTheDefaults) {
  const std::string version = "flowscore-features v2 first_packets=8 activity_gap_ns=5000000000 pair_window_ns=1";
  const std::string path = json_with_attributes(
      "attributed", {{"class_names", R"(["benign", "scan", "flood"])"}, {"feature_spec_version", version}});
  std::string error;
  const auto model = CompiledModel::from_xgboost_json(path, error);
  ASSERT_TRUE(model) << error;
  EXPECT_EQ(model->class_names(), (std::vector<std::string>{"benign", "scan", "flood"}));
  EXPECT_EQ(model->feature_spec_version(), version);
  const std::string saved = testing::temp_dir() + "/attributed.fsm";
  ASSERT_TRUE(model->save(saved, error)) << error;
  const auto loaded = CompiledModel::load(saved, error);
  ASSERT_TRUE(loaded) << error;
  EXPECT_EQ(loaded->class_names(), model->class_names());
  EXPECT_EQ(loaded->feature_spec_version(), version);

  // The compile options override both.
  const auto overridden =
      CompiledModel::from_xgboost_json(path, error, {.class_names = {"a", "b", "c"}, .feature_spec_version = "v9"});
  ASSERT_TRUE(overridden) << error;
  EXPECT_EQ(overridden->class_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(overridden->feature_spec_version(), "v9");

  // Without attributes: no names, no version (a model trained elsewhere).
  const auto plain = CompiledModel::from_xgboost_json(json_model_path(), error);
  ASSERT_TRUE(plain) << error;
  EXPECT_TRUE(plain->class_names().empty());
  EXPECT_TRUE(plain->feature_spec_version().empty());
}

TEST(CompiledFile, BadTrainingAttributesAreNamed) {
  const std::pair<nlohmann::json, const char*> cases[] = {
      {{{"class_names", "benign,scan,flood"}}, "learner.attributes.class_names is not a JSON list"},
      {{{"class_names", R"(["benign", 1, "flood"])"}}, "learner.attributes.class_names holds a non-string"},
      {{{"class_names", R"(["benign", "scan"])"}}, "2 class names given, the model has 3 classes"},
      {{{"feature_spec_version", std::string(2000, 'v')}}, "feature spec version is too long"},
  };
  for (const auto& [attributes, expected] : cases) {
    std::string error;
    EXPECT_FALSE(CompiledModel::from_xgboost_json(json_with_attributes("bad", attributes), error)) << expected;
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(CompiledFile, EveryTruncationIsRefused) {
  const std::string bytes = compiled_bytes();
  std::string error;
  ASSERT_TRUE(parse(bytes, error)) << error;
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(parse(bytes.substr(0, len), error)) << len;
    EXPECT_FALSE(error.empty());
  }
}

TEST(CompiledFile, EveryFlippedByteIsRefused) {
  const std::string bytes = compiled_bytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= static_cast<char>(1 + i % 255);
    std::string error;
    EXPECT_FALSE(parse(damaged, error)) << "byte " << i;
  }
}

TEST(CompiledFile, NamesWrongMagicAndVersion) {
  std::string bytes = compiled_bytes();
  std::string error;
  EXPECT_FALSE(parse("{\"learner\": 1}", error));
  EXPECT_NE(error.find("not a flowscore compiled model"), std::string::npos) << error;
  bytes[8] = 9;  // format version field
  EXPECT_FALSE(parse(bytes, error));
  EXPECT_NE(error.find("format version 9"), std::string::npos) << error;
  bytes[8] = 1;  // the format before the feature spec version: recompile
  EXPECT_FALSE(parse(bytes, error));
  EXPECT_NE(error.find("format version 1, this flowscore reads version 2 (compile it again"), std::string::npos)
      << error;
}

// Structural damage behind a correct checksum (a buggy or hostile writer)
// must still be caught by the validation on load.
TEST(CompiledFile, ValidatesStructureEvenWithAGoodChecksum) {
  std::ifstream in(json_model_path());
  std::stringstream text;
  text << in.rdbuf();
  model::Forest good;
  std::string error;
  ASSERT_TRUE(model::parse_xgboost_json(text.str(), good, error)) << error;
  const std::pair<const char*, std::function<void(model::Forest&)>> damages[] = {
      {"out of range", [](model::Forest& f) { f.nodes[0].left = 1000; }},
      {"reachable twice", [](model::Forest& f) { f.nodes[0].right = f.nodes[0].left; }},
      {"reachable twice", [](model::Forest& f) { f.nodes[1].left = 0, f.nodes[1].right = 0; }},
      {"splits on feature", [](model::Forest& f) { f.nodes[0].feature = kFeatures; }},
      {"NaN split threshold", [](model::Forest& f) { f.nodes[0].value = std::nanf(""); }},
      {"outputs", [](model::Forest& f) { f.tree_group[0] = 3; }},
      {"tree offsets", [](model::Forest& f) { f.tree_begin.back() -= 1; }},
      // An early offset past the node array: the first tree's walk once sized
      // its bookkeeping from it (4 GiB) before later offsets were checked
      // (found by tests/fuzz).
      {"past the node array", [](model::Forest& f) { f.tree_begin[1] = 0xffff0003u; }},
      {"feature names", [](model::Forest& f) { f.feature_names.pop_back(); }},
      {"objective", [](model::Forest& f) { f.objective = static_cast<model::Objective>(99); }},
  };
  for (const auto& [expected, damage] : damages) {
    model::Forest bad = good;
    damage(bad);
    EXPECT_FALSE(parse(model::serialize_forest(bad), error)) << expected;
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(CompiledFile, LoadRefusesMissingAndNonModelFiles) {
  std::string error;
  EXPECT_FALSE(CompiledModel::load(testing::temp_dir() + "/nothing.fsm", error));
  EXPECT_NE(error.find("nothing.fsm"), std::string::npos);
  EXPECT_FALSE(CompiledModel::load(json_model_path(), error));
  EXPECT_NE(error.find("not a flowscore compiled model"), std::string::npos) << error;
  EXPECT_FALSE(CompiledModel::load("/", error));
}

}  // namespace
}  // namespace flowscore
