// The one split rule every engine follows, XGBoost's (src/predictor/
// predict_fn.h, GetNextNode): a missing value (NaN) takes the node's default
// direction; otherwise the row goes left iff x < threshold, compared in
// float32. ±inf and huge values compare like any other float.
//
// Written without a branch so the interleaved engines stay branch-free; since
// `x < t` is false for NaN, this is exactly "isnan(x) ? default_left : x < t".
// The AVX2 engine applies the same formula lane-wise (padded_scorer_avx2.cpp)
// and is tested bit-for-bit against the reference twin that calls this.
#pragma once
#include <cmath>

namespace flowscore::model {

inline bool goes_left(float x, float threshold, bool default_left) {
  return (x < threshold) | (std::isnan(x) & default_left);
}

}  // namespace flowscore::model
