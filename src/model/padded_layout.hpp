// Design B: every tree padded to a perfect binary tree of its own depth D and
// stored breadth-first, so node i's children are 2i+1 and 2i+2 and a row's
// walk is exactly D branch-free steps with no child pointers to load:
//   i = 2i + 2 - goes_left(...)
// Where the real tree ends early, the leaf is copied to every padded slot
// below it and the padding nodes (feature 0, threshold 0) may send a row
// either way. Structure-of-arrays, so the AVX2 engine gathers each field with
// one instruction. Padding costs 2^D slots per tree; deeper trees than
// kMaxPaddedDepth fall back to design A.
#pragma once
#include <cstdint>
#include <vector>

#include "forest.hpp"

namespace flowscore::model {

inline constexpr uint32_t kMaxPaddedDepth = 12;
inline constexpr uint32_t kPaddedFeatureMask = 0x7fffffffu;
inline constexpr uint32_t kPaddedDefaultLeftBit = 0x80000000u;
inline constexpr size_t kLevelLoadSlack = 16;

struct PaddedTree {
  uint32_t node_offset;  // into thresholds / feature_and_default (2^D - 1 nodes)
  uint32_t leaf_offset;  // into leaves (2^D leaves)
  uint32_t depth;
};

struct PaddedForest {
  size_t num_features = 0;
  uint32_t num_groups = 1;
  float base_margin = 0;
  std::vector<uint32_t> group_begin;  // trees of output g: trees[group_begin[g] .. group_begin[g+1])
  std::vector<PaddedTree> trees;
  std::vector<float> thresholds;
  std::vector<uint32_t> feature_and_default;
  std::vector<float> leaves;

  // False when some tree is deeper than kMaxPaddedDepth.
  bool build(const Forest& forest);
};

// Scalar kernel over rows [0, n); also the AVX2 engine's tail.
void padded_predict_scalar(const PaddedForest& pf, const float* rows, size_t n, float* out);
// AVX2 kernel; defined in padded_scorer_avx2.cpp. Call only if the CPU has AVX2.
void padded_predict_avx2(const PaddedForest& pf, const float* rows, size_t n, float* out);
// AVX-512F kernel; padded_scorer_avx512.cpp. Call only if the CPU has AVX-512F.
void padded_predict_avx512(const PaddedForest& pf, const float* rows, size_t n, float* out);

}  // namespace flowscore::model
