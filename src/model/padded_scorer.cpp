#include <algorithm>
#include <memory>

#include "padded_layout.hpp"
#include "scorer.hpp"
#include "split_rule.hpp"

namespace flowscore::model {
namespace {

// Fills the perfect-tree slot `slot` (breadth-first index, at `level`) from
// real node `node`; recursion depth is bounded by kMaxPaddedDepth.
void fill(const TreeNode* tree, const TreeNode& node, uint32_t slot, uint32_t level, uint32_t depth,
          PaddedForest& pf, const PaddedTree& out) {
  const uint32_t internal = (1u << depth) - 1;
  if (level == depth) {
    pf.leaves[out.leaf_offset + slot - internal] = node.value;  // node is a leaf here
    return;
  }
  const bool leaf = node.is_leaf();
  pf.thresholds[out.node_offset + slot] = leaf ? 0.0f : node.value;
  pf.feature_and_default[out.node_offset + slot] =
      leaf ? 0 : node.feature | (node.default_left ? kPaddedDefaultLeftBit : 0);
  fill(tree, leaf ? node : tree[node.left], 2 * slot + 1, level + 1, depth, pf, out);
  fill(tree, leaf ? node : tree[node.right], 2 * slot + 2, level + 1, depth, pf, out);
}

// Rows walk one tree together, 8 at a time: their dependent load chains
// overlap.
template <size_t W>
void score_block(const PaddedForest& pf, const float* rows, float* out) {
  const size_t nf = pf.num_features;
  for (uint32_t g = 0; g < pf.num_groups; ++g) {
    float margin[W];
    for (size_t r = 0; r < W; ++r) margin[r] = pf.base_margin;
    for (uint32_t t = pf.group_begin[g]; t < pf.group_begin[g + 1]; ++t) {
      const PaddedTree tree = pf.trees[t];
      const float* thresholds = &pf.thresholds[tree.node_offset];
      const uint32_t* features = &pf.feature_and_default[tree.node_offset];
      uint32_t at[W] = {};
      for (uint32_t d = 0; d < tree.depth; ++d) {
        for (size_t r = 0; r < W; ++r) {
          const uint32_t fd = features[at[r]];
          const float x = rows[r * nf + (fd & kPaddedFeatureMask)];
          at[r] = 2 * at[r] + 2 - goes_left(x, thresholds[at[r]], fd & kPaddedDefaultLeftBit);
        }
      }
      const float* leaves = &pf.leaves[tree.leaf_offset];
      const uint32_t internal = (1u << tree.depth) - 1;
      for (size_t r = 0; r < W; ++r) margin[r] += leaves[at[r] - internal];
    }
    for (size_t r = 0; r < W; ++r) out[r * pf.num_groups + g] = margin[r];
  }
}

// A lone row's walk is one chain of dependent loads, so a row outside any
// block walks kTreeLanes trees side by side instead; their leaves are still
// added in tree order.
void score_row(const PaddedForest& pf, const float* row, float* out) {
  constexpr uint32_t kTreeLanes = 8;
  for (uint32_t g = 0; g < pf.num_groups; ++g) {
    float margin = pf.base_margin;
    uint32_t t = pf.group_begin[g];
    const uint32_t end = pf.group_begin[g + 1];
    for (; t < end; t += kTreeLanes) {
      const uint32_t lanes = std::min(kTreeLanes, end - t);
      const PaddedTree* trees = &pf.trees[t];
      uint32_t at[kTreeLanes] = {};
      uint32_t max_depth = 0;
      for (uint32_t j = 0; j < lanes; ++j) max_depth = std::max(max_depth, trees[j].depth);
      for (uint32_t d = 0; d < max_depth; ++d) {
        for (uint32_t j = 0; j < lanes; ++j) {
          if (d >= trees[j].depth) continue;  // this tree's walk is done
          const uint32_t node = trees[j].node_offset + at[j];
          const uint32_t fd = pf.feature_and_default[node];
          at[j] = 2 * at[j] + 2 -
                  goes_left(row[fd & kPaddedFeatureMask], pf.thresholds[node], fd & kPaddedDefaultLeftBit);
        }
      }
      for (uint32_t j = 0; j < lanes; ++j)
        margin += pf.leaves[trees[j].leaf_offset + at[j] - ((1u << trees[j].depth) - 1)];
    }
    out[g] = margin;
  }
}

class PaddedScorer final : public Scorer {
 public:
  PaddedScorer(PaddedForest pf, PaddedIsa isa) : pf_(std::move(pf)), isa_(isa) {}
  void predict_margin(const float* rows, size_t n, float* out) const override {
    switch (isa_) {
      case PaddedIsa::kScalar: return padded_predict_scalar(pf_, rows, n, out);
      case PaddedIsa::kAvx2: return padded_predict_avx2(pf_, rows, n, out);
      case PaddedIsa::kAvx512: return padded_predict_avx512(pf_, rows, n, out);
    }
  }
  const char* name() const override {
    switch (isa_) {
      case PaddedIsa::kScalar: return "padded-scalar";
      case PaddedIsa::kAvx2: return "padded-avx2";
      case PaddedIsa::kAvx512: return "padded-avx512";
    }
    return "padded";
  }

 private:
  PaddedForest pf_;
  PaddedIsa isa_;
};

}  // namespace

bool PaddedForest::build(const Forest& f) {
  num_features = f.num_features;
  num_groups = f.num_groups;
  base_margin = f.base_margin;
  trees.clear();
  const std::vector<uint32_t> order = trees_by_group(f, group_begin);
  size_t nodes = 0, leaf_count = 0;
  for (uint32_t t : order) {
    const uint32_t depth = tree_depth(f, t);
    if (depth > kMaxPaddedDepth) return false;
    trees.push_back({static_cast<uint32_t>(nodes), static_cast<uint32_t>(leaf_count), depth});
    nodes += (size_t{1} << depth) - 1;
    leaf_count += size_t{1} << depth;
    if (leaf_count > kMaxNodes) return false;  // padding must not blow memory up
  }
  // kLevelLoadSlack spare entries: the SIMD engines load a whole level (or
  // all leaves) of up to 16 entries at once, which for a shallow last tree
  // reaches past its end.
  thresholds.assign(nodes + kLevelLoadSlack, 0.0f);
  feature_and_default.assign(nodes + kLevelLoadSlack, 0);
  leaves.assign(leaf_count + kLevelLoadSlack, 0.0f);
  for (size_t i = 0; i < order.size(); ++i) {
    const TreeNode* root = &f.nodes[f.tree_begin[order[i]]];
    fill(root, *root, 0, 0, trees[i].depth, *this, trees[i]);
  }
  return true;
}

void padded_predict_scalar(const PaddedForest& pf, const float* rows, size_t n, float* out) {
  constexpr size_t kBlock = 8;
  size_t r = 0;
  for (; r + kBlock <= n; r += kBlock) score_block<kBlock>(pf, rows + r * pf.num_features, out + r * pf.num_groups);
  for (; r < n; ++r) score_row(pf, rows + r * pf.num_features, out + r * pf.num_groups);
}

std::unique_ptr<Scorer> make_padded_scorer(const Forest& forest, PaddedIsa isa) {
  if (isa == PaddedIsa::kAvx2 && !__builtin_cpu_supports("avx2")) return nullptr;
  if (isa == PaddedIsa::kAvx512 && !(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2")))
    return nullptr;
  PaddedForest pf;
  if (!pf.build(forest)) return nullptr;
  return std::make_unique<PaddedScorer>(std::move(pf), isa);
}

}  // namespace flowscore::model
