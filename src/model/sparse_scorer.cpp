// Design A: the forest as one flat array of 16-byte nodes, walked for 8 rows
// at once so that the 8 independent load->compare->select chains overlap and
// hide each other's cache latency (the trick of XGBoost's and l3fwd's
// 8-wide unrolled loops).
//
// A leaf points to itself with both children, so every row of a block takes
// exactly depth(tree) steps: no per-row "reached a leaf?" branch.
#include <cstring>

#include "scorer.hpp"
#include "split_rule.hpp"

namespace flowscore::model {
namespace {

constexpr uint32_t kFeatureMask = 0x7fffffffu;
constexpr uint32_t kDefaultLeftBit = 0x80000000u;

struct SparseNode {
  float value;           // threshold, or the leaf value at a leaf
  uint32_t feature_and_default;  // feature index | kDefaultLeftBit
  uint32_t child[2];     // [0] left, [1] right; global indices
};

struct SparseTree {
  uint32_t root;
  uint32_t depth;
};

class SparseScorer final : public Scorer {
 public:
  explicit SparseScorer(const Forest& f)
      : num_features_(f.num_features), num_groups_(f.num_groups), base_margin_(f.base_margin) {
    for (uint32_t t : trees_by_group(f, group_begin_)) {
      const uint32_t offset = static_cast<uint32_t>(nodes_.size());
      trees_.push_back({offset, tree_depth(f, t)});
      for (uint32_t i = f.tree_begin[t]; i < f.tree_begin[t + 1]; ++i) {
        const TreeNode& n = f.nodes[i];
        const uint32_t self = static_cast<uint32_t>(nodes_.size());
        if (n.is_leaf())
          nodes_.push_back({n.value, 0, {self, self}});
        else
          nodes_.push_back({n.value, n.feature | (n.default_left ? kDefaultLeftBit : 0),
                            {offset + uint32_t(n.left), offset + uint32_t(n.right)}});
      }
    }
  }

  void predict_margin(const float* rows, size_t n, float* out) const override {
    constexpr size_t kBlock = 8;
    size_t r = 0;
    for (; r + kBlock <= n; r += kBlock) score_block<kBlock>(rows + r * num_features_, out + r * num_groups_);
    for (; r < n; ++r) score_block<1>(rows + r * num_features_, out + r * num_groups_);
  }
  const char* name() const override { return "sparse-interleaved"; }

 private:
  template <size_t W>
  void score_block(const float* rows, float* out) const {
    for (uint32_t g = 0; g < num_groups_; ++g) {
      float margin[W];
      for (size_t r = 0; r < W; ++r) margin[r] = base_margin_;
      for (uint32_t t = group_begin_[g]; t < group_begin_[g + 1]; ++t) {
        const SparseTree tree = trees_[t];
        uint32_t at[W];
        for (size_t r = 0; r < W; ++r) at[r] = tree.root;
        for (uint32_t d = 0; d < tree.depth; ++d) {
          for (size_t r = 0; r < W; ++r) {
            const SparseNode& node = nodes_[at[r]];
            const float x = rows[r * num_features_ + (node.feature_and_default & kFeatureMask)];
            at[r] = node.child[!goes_left(x, node.value, node.feature_and_default & kDefaultLeftBit)];
          }
        }
        for (size_t r = 0; r < W; ++r) margin[r] += nodes_[at[r]].value;
      }
      for (size_t r = 0; r < W; ++r) out[r * num_groups_ + g] = margin[r];
    }
  }

  size_t num_features_;
  uint32_t num_groups_;
  float base_margin_;
  std::vector<uint32_t> group_begin_;
  std::vector<SparseTree> trees_;  // in visiting order
  std::vector<SparseNode> nodes_;
};

}  // namespace

std::unique_ptr<Scorer> make_sparse_scorer(const Forest& forest) { return std::make_unique<SparseScorer>(forest); }

}  // namespace flowscore::model
