// The slow, obviously-correct twin: one row, one tree, one node at a time,
// exactly as XGBoost's CPU predictor walks (cpu_predictor.cc): out starts at
// the base margin and each tree's leaf is added in tree order.
#include "scorer.hpp"
#include "split_rule.hpp"

namespace flowscore::model {
namespace {

class ReferenceScorer final : public Scorer {
 public:
  explicit ReferenceScorer(const Forest& forest) : f_(forest) {}

  void predict_margin(const float* rows, size_t n, float* out) const override {
    for (size_t r = 0; r < n; ++r) {
      const float* x = rows + r * f_.num_features;
      float* margins = out + r * f_.num_groups;
      for (uint32_t g = 0; g < f_.num_groups; ++g) margins[g] = f_.base_margin;
      for (size_t t = 0; t < f_.num_trees(); ++t) margins[f_.tree_group[t]] += leaf_value(t, x);
    }
  }
  const char* name() const override { return "reference"; }

 private:
  float leaf_value(size_t t, const float* x) const {
    const TreeNode* tree = &f_.nodes[f_.tree_begin[t]];
    const TreeNode* node = tree;
    while (!node->is_leaf())
      node = tree + (goes_left(x[node->feature], node->value, node->default_left) ? node->left : node->right);
    return node->value;
  }

  Forest f_;
};

}  // namespace

std::unique_ptr<Scorer> make_reference_scorer(const Forest& forest) {
  return std::make_unique<ReferenceScorer>(forest);
}

std::vector<uint32_t> trees_by_group(const Forest& forest, std::vector<uint32_t>& group_begin) {
  std::vector<uint32_t> order;
  order.reserve(forest.num_trees());
  group_begin.assign(1, 0);
  for (uint32_t g = 0; g < forest.num_groups; ++g) {
    for (uint32_t t = 0; t < forest.num_trees(); ++t)
      if (forest.tree_group[t] == g) order.push_back(t);
    group_begin.push_back(static_cast<uint32_t>(order.size()));
  }
  return order;
}

}  // namespace flowscore::model
