#include "forest.hpp"

#include <fmt/format.h>

#include <cmath>
#include <unordered_set>
#include <utility>

namespace flowscore::model {
namespace {

struct ObjectiveName {
  Objective objective;
  const char* name;
};
constexpr ObjectiveName kObjectives[] = {
    {Objective::kBinaryLogistic, "binary:logistic"},
    {Objective::kRegLogistic, "reg:logistic"},
    {Objective::kBinaryLogitRaw, "binary:logitraw"},
    {Objective::kRegSquaredError, "reg:squarederror"},
    {Objective::kMultiSoftprob, "multi:softprob"},
    {Objective::kMultiSoftmax, "multi:softmax"},
};

bool is_multiclass(Objective o) {
  return o == Objective::kMultiSoftprob || o == Objective::kMultiSoftmax;
}

// Walks tree t from its root with an explicit stack (a hostile chain of
// nodes must not overflow the call stack) and checks it is a proper tree.
bool validate_tree(const Forest& f, size_t t, std::vector<uint8_t>& seen, std::string& error) {
  const uint32_t begin = f.tree_begin[t];
  const uint32_t count = f.tree_begin[t + 1] - begin;
  if (count == 0) {
    error = fmt::format("tree {} has no nodes", t);
    return false;
  }
  seen.assign(count, 0);
  std::vector<uint32_t> stack{0};
  uint32_t reached = 0;
  while (!stack.empty()) {
    const uint32_t local = stack.back();
    stack.pop_back();
    if (seen[local]) {
      error = fmt::format("tree {}: node {} is reachable twice (cycle or shared subtree)", t, local);
      return false;
    }
    seen[local] = 1;
    ++reached;
    const TreeNode& node = f.nodes[begin + local];
    if (node.is_leaf()) {
      if (node.left != -1 || node.right != -1) {
        error = fmt::format("tree {}: node {} has invalid child indices (left {}, right {})", t, local,
                            node.left, node.right);
        return false;
      }
      if (!std::isfinite(node.value)) {
        error = fmt::format("tree {}: leaf {} has non-finite value {}", t, local, node.value);
        return false;
      }
      continue;
    }
    if (node.left >= static_cast<int64_t>(count) || node.right < 0 ||
        node.right >= static_cast<int64_t>(count)) {
      error = fmt::format("tree {}: node {} has child index out of range (left {}, right {}, tree has {} nodes)",
                          t, local, node.left, node.right, count);
      return false;
    }
    if (node.feature >= f.num_features) {
      error = fmt::format("tree {}: node {} splits on feature {} but the model has {} features", t, local,
                          node.feature, f.num_features);
      return false;
    }
    if (std::isnan(node.value)) {
      error = fmt::format("tree {}: node {} has a NaN split threshold", t, local);
      return false;
    }
    stack.push_back(static_cast<uint32_t>(node.right));
    stack.push_back(static_cast<uint32_t>(node.left));
  }
  if (reached != count) {
    error = fmt::format("tree {}: {} of its {} nodes are unreachable from the root", t, count - reached, count);
    return false;
  }
  return true;
}

bool validate_names(const std::vector<std::string>& names, const char* what, std::string& error) {
  std::unordered_set<std::string> unique;
  for (const auto& n : names) {
    if (n.empty() || n.size() > kMaxNameLength) {
      error = fmt::format("{} name '{}' is empty or longer than {} bytes", what, n, kMaxNameLength);
      return false;
    }
    if (!unique.insert(n).second) {
      error = fmt::format("{} name '{}' appears twice", what, n);
      return false;
    }
  }
  return true;
}

}  // namespace

const char* objective_name(Objective objective) {
  for (const auto& o : kObjectives)
    if (o.objective == objective) return o.name;
  return "unknown";
}

bool objective_from_name(const std::string& name, Objective& objective) {
  for (const auto& o : kObjectives) {
    if (name == o.name) {
      objective = o.objective;
      return true;
    }
  }
  return false;
}

bool validate_forest(const Forest& f, std::string& error) {
  if (std::string(objective_name(f.objective)) == "unknown") {
    error = fmt::format("unknown objective code {}", static_cast<uint32_t>(f.objective));
    return false;
  }
  if (f.num_features == 0 || f.num_features > kMaxFeatures) {
    error = fmt::format("feature count {} is outside 1..{}", f.num_features, kMaxFeatures);
    return false;
  }
  const bool multi = is_multiclass(f.objective);
  if (multi ? (f.num_groups < 2 || f.num_groups > kMaxGroups) : f.num_groups != 1) {
    error = fmt::format("objective {} cannot have {} outputs", objective_name(f.objective), f.num_groups);
    return false;
  }
  if (!std::isfinite(f.base_margin)) {
    error = "base margin is not finite";
    return false;
  }
  if (f.feature_names.size() != f.num_features) {
    error = fmt::format("{} feature names for {} features", f.feature_names.size(), f.num_features);
    return false;
  }
  if (!validate_names(f.feature_names, "feature", error)) return false;
  const size_t classes = multi ? f.num_groups : 2;
  if (!f.class_names.empty() && f.class_names.size() != classes) {
    error = fmt::format("{} class names given, the model has {} classes", f.class_names.size(), classes);
    return false;
  }
  if (!validate_names(f.class_names, "class", error)) return false;
  if (f.name.size() > kMaxNameLength) {
    error = "model name is too long";
    return false;
  }
  if (f.feature_spec_version.size() > kMaxNameLength) {
    error = "feature spec version is too long";
    return false;
  }
  if (f.tree_group.empty()) {
    error = "model has no trees (empty forest)";
    return false;
  }
  if (f.nodes.size() > kMaxNodes) {
    error = fmt::format("model has {} nodes, more than the limit {}", f.nodes.size(), kMaxNodes);
    return false;
  }
  if (f.tree_begin.size() != f.tree_group.size() + 1 || f.tree_begin.front() != 0 ||
      f.tree_begin.back() != f.nodes.size()) {
    error = "tree offsets do not cover the node array";
    return false;
  }
  // Every offset in order before any tree is walked: a tree's node count
  // sizes validate_tree's bookkeeping, so one offset past the node array
  // would cost gigabytes and read past it (found by tests/fuzz).
  for (size_t t = 0; t < f.num_trees(); ++t)
    if (f.tree_begin[t + 1] < f.tree_begin[t] || f.tree_begin[t + 1] > f.nodes.size()) {
      error = fmt::format("tree {} ends before it begins or past the node array", t);
      return false;
    }
  std::vector<uint8_t> seen;
  for (size_t t = 0; t < f.num_trees(); ++t) {
    if (f.tree_group[t] >= f.num_groups) {
      error = fmt::format("tree {} adds to output {} but the model has {} outputs", t, f.tree_group[t],
                          f.num_groups);
      return false;
    }
    if (!validate_tree(f, t, seen, error)) return false;
  }
  return true;
}

uint32_t tree_depth(const Forest& f, size_t t) {
  const uint32_t begin = f.tree_begin[t];
  uint32_t depth = 0;
  std::vector<std::pair<uint32_t, uint32_t>> stack{{0, 0}};  // (node, its depth)
  while (!stack.empty()) {
    const auto [local, d] = stack.back();
    stack.pop_back();
    depth = std::max(depth, d);
    const TreeNode& node = f.nodes[begin + local];
    if (node.is_leaf()) continue;
    stack.push_back({static_cast<uint32_t>(node.left), d + 1});
    stack.push_back({static_cast<uint32_t>(node.right), d + 1});
  }
  return depth;
}

}  // namespace flowscore::model
