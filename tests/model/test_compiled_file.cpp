// compile -> save -> load round trip, and the compiled file's defences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

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
  const auto model =
      CompiledModel::from_xgboost_json(json_model_path(), error, {.name = "demo", .class_names = {"a", "b", "c"}});
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
  const auto source =
      CompiledModel::from_xgboost_json(json_model_path(), error, {.name = "demo", .class_names = {"a", "b", "c"}});
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

TEST(CompiledFile, HashIsTheSourceJsonSha256) {
  std::string error;
  const auto model = CompiledModel::from_xgboost_json(json_model_path(), error);
  ASSERT_TRUE(model) << error;
  // Independent computation with the sha256sum tool.
  const std::string command = "sha256sum '" + json_model_path() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_TRUE(pipe);
  char digest[65] = {};
  ASSERT_EQ(fread(digest, 1, 64, pipe), 64u);
  pclose(pipe);
  EXPECT_EQ(model->hash(), std::string(digest, 12));
  EXPECT_EQ(model->name(), "roundtrip");  // default: JSON file name
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
