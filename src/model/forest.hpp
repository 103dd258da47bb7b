// The canonical in-memory form of a model: what the JSON loader produces,
// what the compiled file stores, and what every scoring engine is built from.
// validate_forest() is the single gate both loaders pass through, so an
// engine may index these arrays without checks.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flowscore::model {

enum class Objective : uint32_t {
  kBinaryLogistic = 1,
  kRegLogistic = 2,
  kBinaryLogitRaw = 3,
  kRegSquaredError = 4,
  kMultiSoftprob = 5,
  kMultiSoftmax = 6,
};

// Node of one tree; children are indices local to the tree, -1 at a leaf.
struct TreeNode {
  uint32_t feature = 0;   // split feature (0 at a leaf)
  float value = 0;        // split threshold, or the leaf's contribution
  int32_t left = -1;
  int32_t right = -1;
  bool default_left = false;  // where a missing value goes
  bool is_leaf() const { return left < 0; }
};

struct Forest {
  Objective objective = Objective::kRegSquaredError;
  uint32_t num_features = 0;
  uint32_t num_groups = 1;   // outputs per row
  float base_margin = 0;     // starting margin of every output, margin space
  std::vector<std::string> feature_names;  // num_features entries
  std::vector<std::string> class_names;    // empty, or one per class
  std::string name;
  // FeatureSpec::version() of the features the model was trained on
  // (docs/FEATURES.md); empty when training did not record it.
  std::string feature_spec_version;
  std::array<uint8_t, 32> source_sha256{};
  // Tree t owns nodes[tree_begin[t] .. tree_begin[t+1]), root first.
  std::vector<uint32_t> tree_begin;  // num_trees + 1 entries
  std::vector<uint32_t> tree_group;  // output each tree adds to
  // Leaf values already carry dart's per-tree weight (see xgboost_json.cpp).
  std::vector<TreeNode> nodes;

  size_t num_trees() const { return tree_group.size(); }
};

// Limits that keep a hostile file from costing unbounded memory or time.
inline constexpr uint32_t kMaxFeatures = 1u << 16;
inline constexpr uint32_t kMaxGroups = 1u << 12;
inline constexpr uint32_t kMaxNodes = 1u << 26;
inline constexpr size_t kMaxNameLength = 1024;

// Every structural property the engines rely on: sizes agree, each tree is a
// proper binary tree rooted at its first node with every node reached exactly
// once (no cycle, no shared subtree, no orphan), split features in range,
// thresholds not NaN, leaves finite, names unique. True or false + error.
bool validate_forest(const Forest& forest, std::string& error);

// Depth of tree t (0 for a lone leaf). Only for a validated forest.
uint32_t tree_depth(const Forest& forest, size_t t);

const char* objective_name(Objective objective);
bool objective_from_name(const std::string& name, Objective& objective);

}  // namespace flowscore::model
