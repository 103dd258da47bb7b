// Design B, AVX2: each 256-bit lane walks one row, so one vector walks 8 rows
// of the same tree in lockstep; kVectors vectors are kept in flight to overlap
// the gathers' latency. Compiled for AVX2 with a function target attribute and
// chosen at run time (__builtin_cpu_supports), so the baseline build still runs
// on x86-64-v2.
//
// Lane-wise the split rule of split_rule.hpp:
//   left = (x < t) | (isnan(x) & default_left)
// with _CMP_LT_OQ (false for NaN) and _CMP_UNORD_Q (true only for NaN).
#include <immintrin.h>

#include <algorithm>

#include "padded_layout.hpp"

namespace flowscore::model {
namespace {

// One level for 8 rows: at -> child, given each lane's node fields.
__attribute__((target("avx2"))) inline __m256i descend(__m256i at, __m256 threshold, __m256i fd, const float* rows,
                                                      __m256i row_start) {
  const __m256i feature = _mm256_and_si256(fd, _mm256_set1_epi32(static_cast<int>(kPaddedFeatureMask)));
  const __m256 x = _mm256_i32gather_ps(rows, _mm256_add_epi32(row_start, feature), 4);
  const __m256 less = _mm256_cmp_ps(x, threshold, _CMP_LT_OQ);
  const __m256 missing = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 default_left = _mm256_castsi256_ps(_mm256_srai_epi32(fd, 31));
  const __m256i left = _mm256_castps_si256(_mm256_or_ps(less, _mm256_and_ps(missing, default_left)));
  // left is all-ones (-1) or 0: child = 2i + 2 - 1 or 2i + 2.
  return _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(at, at), _mm256_set1_epi32(2)), left);
}

template <int kVectors>
__attribute__((target("avx2"))) void score_block_avx2(const PaddedForest& pf, const float* rows, float* out) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i num_features = _mm256_set1_epi32(static_cast<int>(pf.num_features));
  __m256i row_start[kVectors];  // element offset of each lane's row
  for (int v = 0; v < kVectors; ++v)
    row_start[v] = _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(8 * v)), num_features);

  for (uint32_t g = 0; g < pf.num_groups; ++g) {
    __m256 margin[kVectors];
    for (int v = 0; v < kVectors; ++v) margin[v] = _mm256_set1_ps(pf.base_margin);
    for (uint32_t t = pf.group_begin[g]; t < pf.group_begin[g + 1]; ++t) {
      const PaddedTree tree = pf.trees[t];
      const float* thresholds = pf.thresholds.data() + tree.node_offset;
      const int* features = reinterpret_cast<const int*>(pf.feature_and_default.data() + tree.node_offset);
      __m256i at[kVectors];
      for (int v = 0; v < kVectors; ++v) at[v] = _mm256_setzero_si256();
      // Levels 0..3 hold at most 8 nodes: load the whole level and pick each
      // lane's node with a register permute instead of two gathers.
      const uint32_t permuted_levels = std::min<uint32_t>(tree.depth, 4);
      for (uint32_t d = 0; d < permuted_levels; ++d) {
        const int level_begin = (1 << d) - 1;
        const __m256 level_thresholds = _mm256_loadu_ps(thresholds + level_begin);
        const __m256i level_features = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(features + level_begin));
        for (int v = 0; v < kVectors; ++v) {
          const __m256i local = _mm256_sub_epi32(at[v], _mm256_set1_epi32(level_begin));
          at[v] = descend(at[v], _mm256_permutevar8x32_ps(level_thresholds, local),
                          _mm256_permutevar8x32_epi32(level_features, local), rows, row_start[v]);
        }
      }
      for (uint32_t d = permuted_levels; d < tree.depth; ++d) {
        for (int v = 0; v < kVectors; ++v)
          at[v] = descend(at[v], _mm256_i32gather_ps(thresholds, at[v], 4), _mm256_i32gather_epi32(features, at[v], 4),
                          rows, row_start[v]);
      }
      const float* leaves = pf.leaves.data() + tree.leaf_offset;
      const __m256i internal = _mm256_set1_epi32(static_cast<int>((1u << tree.depth) - 1));
      for (int v = 0; v < kVectors; ++v)
        margin[v] = _mm256_add_ps(margin[v], _mm256_i32gather_ps(leaves, _mm256_sub_epi32(at[v], internal), 4));
    }
    for (int v = 0; v < kVectors; ++v) {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, margin[v]);
      for (int r = 0; r < 8; ++r) out[(8 * v + r) * pf.num_groups + g] = lanes[r];
    }
  }
}

}  // namespace

__attribute__((target("avx2"))) void padded_predict_avx2(const PaddedForest& pf, const float* rows, size_t n,
                                                         float* out) {
  constexpr int kVectors = 4;
  const size_t nf = pf.num_features, k = pf.num_groups;
  size_t r = 0;
  for (; r + 8 * kVectors <= n; r += 8 * kVectors) score_block_avx2<kVectors>(pf, rows + r * nf, out + r * k);
  for (; r + 8 <= n; r += 8) score_block_avx2<1>(pf, rows + r * nf, out + r * k);
  padded_predict_scalar(pf, rows + r * nf, n - r, out + r * k);
}

}  // namespace flowscore::model
