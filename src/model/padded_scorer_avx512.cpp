// Design B, AVX-512: the AVX2 engine's walk with 16 rows per vector, mask
// registers for the split rule, and register permutes instead of gathers for
// the top 6 levels (up to 32 nodes) and up to 64 leaves, so a depth-6 tree
// costs only the feature-value gathers. Same layout, same rule
// (split_rule.hpp):
//   left = (x < t) | (isnan(x) & default_left)
// Chosen at run time when the CPU has AVX-512F.
// GCC 12's AVX-512 intrinsics pass an intentionally undefined vector
// (_mm512_undefined_*) as the unused merge source, which -Wmaybe-uninitialized
// reports at every inlined call; nothing in this file reads it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>

#include "padded_layout.hpp"

namespace flowscore::model {
namespace {

#define FLOWSCORE_AVX512 __attribute__((target("avx512f")))

// One level for 16 rows: at -> child, given each lane's node fields.
FLOWSCORE_AVX512 inline __m512i descend(__m512i at, __m512 threshold, __m512i fd, const float* rows,
                                        __m512i row_start) {
  const __m512i feature = _mm512_and_si512(fd, _mm512_set1_epi32(static_cast<int>(kPaddedFeatureMask)));
  const __m512 x = _mm512_i32gather_ps(_mm512_add_epi32(row_start, feature), rows, 4);
  const __mmask16 less = _mm512_cmp_ps_mask(x, threshold, _CMP_LT_OQ);
  const __mmask16 missing = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __mmask16 default_left =
      _mm512_test_epi32_mask(fd, _mm512_set1_epi32(static_cast<int>(kPaddedDefaultLeftBit)));
  const __mmask16 left = less | (missing & default_left);
  const __m512i right_child = _mm512_add_epi32(_mm512_add_epi32(at, at), _mm512_set1_epi32(2));
  return _mm512_mask_sub_epi32(right_child, left, right_child, _mm512_set1_epi32(1));
}

// Entries [local] of a 32-entry table, by register permute (bits 0..4).
FLOWSCORE_AVX512 inline __m512 lookup32(const float* table, __m512i local) {
  return _mm512_permutex2var_ps(_mm512_loadu_ps(table), local, _mm512_loadu_ps(table + 16));
}
FLOWSCORE_AVX512 inline __m512i lookup32(const int* table, __m512i local) {
  return _mm512_permutex2var_epi32(_mm512_loadu_si512(table), local, _mm512_loadu_si512(table + 16));
}

// Leaf values [local] of a tree of this depth: permutes up to 64 leaves,
// a gather beyond.
FLOWSCORE_AVX512 inline __m512 leaf_values(const float* leaves, __m512i local, uint32_t depth) {
  if (depth <= 4) return _mm512_permutexvar_ps(local, _mm512_loadu_ps(leaves));
  if (depth == 5) return lookup32(leaves, local);
  if (depth == 6) {
    const __mmask16 upper = _mm512_test_epi32_mask(local, _mm512_set1_epi32(32));
    return _mm512_mask_blend_ps(upper, lookup32(leaves, local), lookup32(leaves + 32, local));
  }
  return _mm512_i32gather_ps(local, leaves, 4);
}

template <int kVectors>
FLOWSCORE_AVX512 void score_block_avx512(const PaddedForest& pf, const float* rows, float* out) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i num_features = _mm512_set1_epi32(static_cast<int>(pf.num_features));
  __m512i row_start[kVectors];  // element offset of each lane's row
  for (int v = 0; v < kVectors; ++v)
    row_start[v] = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(16 * v)), num_features);

  for (uint32_t g = 0; g < pf.num_groups; ++g) {
    __m512 margin[kVectors];
    for (int v = 0; v < kVectors; ++v) margin[v] = _mm512_set1_ps(pf.base_margin);
    for (uint32_t t = pf.group_begin[g]; t < pf.group_begin[g + 1]; ++t) {
      const PaddedTree tree = pf.trees[t];
      const float* thresholds = pf.thresholds.data() + tree.node_offset;
      const int* features = reinterpret_cast<const int*>(pf.feature_and_default.data() + tree.node_offset);
      __m512i at[kVectors];
      for (int v = 0; v < kVectors; ++v) at[v] = _mm512_setzero_si512();
      // Levels 0..4 hold at most 16 nodes: load the level, permute per lane.
      const uint32_t permuted_levels = std::min<uint32_t>(tree.depth, 5);
      for (uint32_t d = 0; d < permuted_levels; ++d) {
        const int level_begin = (1 << d) - 1;
        const __m512 level_thresholds = _mm512_loadu_ps(thresholds + level_begin);
        const __m512i level_features = _mm512_loadu_si512(features + level_begin);
        for (int v = 0; v < kVectors; ++v) {
          const __m512i local = _mm512_sub_epi32(at[v], _mm512_set1_epi32(level_begin));
          at[v] = descend(at[v], _mm512_permutexvar_ps(local, level_thresholds),
                          _mm512_permutexvar_epi32(local, level_features), rows, row_start[v]);
        }
      }
      if (tree.depth > 5) {  // level 5: 32 nodes, a two-register permute
        const __m512i local_begin = _mm512_set1_epi32(31);
        for (int v = 0; v < kVectors; ++v) {
          const __m512i local = _mm512_sub_epi32(at[v], local_begin);
          at[v] = descend(at[v], lookup32(thresholds + 31, local), lookup32(features + 31, local), rows, row_start[v]);
        }
      }
      for (uint32_t d = 6; d < tree.depth; ++d) {
        for (int v = 0; v < kVectors; ++v)
          at[v] = descend(at[v], _mm512_i32gather_ps(at[v], thresholds, 4), _mm512_i32gather_epi32(at[v], features, 4),
                          rows, row_start[v]);
      }
      const float* leaves = pf.leaves.data() + tree.leaf_offset;
      const __m512i internal = _mm512_set1_epi32(static_cast<int>((1u << tree.depth) - 1));
      for (int v = 0; v < kVectors; ++v)
        margin[v] = _mm512_add_ps(margin[v], leaf_values(leaves, _mm512_sub_epi32(at[v], internal), tree.depth));
    }
    for (int v = 0; v < kVectors; ++v) {
      alignas(64) float lanes[16];
      _mm512_store_ps(lanes, margin[v]);
      for (int r = 0; r < 16; ++r) out[(16 * v + r) * pf.num_groups + g] = lanes[r];
    }
  }
}

}  // namespace

FLOWSCORE_AVX512 void padded_predict_avx512(const PaddedForest& pf, const float* rows, size_t n, float* out) {
  constexpr int kVectors = 2;
  const size_t nf = pf.num_features, k = pf.num_groups;
  size_t r = 0;
  for (; r + 16 * kVectors <= n; r += 16 * kVectors) score_block_avx512<kVectors>(pf, rows + r * nf, out + r * k);
  for (; r + 16 <= n; r += 16) score_block_avx512<1>(pf, rows + r * nf, out + r * k);
  padded_predict_avx2(pf, rows + r * nf, n - r, out + r * k);  // AVX-512F CPUs all have AVX2
}

}  // namespace flowscore::model
