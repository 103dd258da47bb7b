// Shared by the model fuzz targets: a Forest that a loader accepted must be
// safe to score with every engine, and every engine must give the margins
// the reference twin gives, bit for bit (the contract in scorer.hpp).
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "forest.hpp"
#include "scorer.hpp"

namespace flowscore::fuzz {

// Rows that probe every split: values exactly on a threshold, one float to
// either side, NaN (missing) and the infinities, chosen per (row, feature)
// by a fixed mix so each row takes a different path.
inline std::vector<float> probe_rows(const model::Forest& forest, size_t rows) {
  const size_t width = forest.num_features;
  std::vector<std::vector<float>> candidates(width);
  for (const model::TreeNode& n : forest.nodes)
    if (!n.is_leaf() && candidates[n.feature].size() < 64) {
      candidates[n.feature].push_back(n.value);
      candidates[n.feature].push_back(std::nextafter(n.value, -INFINITY));
      candidates[n.feature].push_back(std::nextafter(n.value, INFINITY));
    }
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY, 0.0f, -0.0f};
  std::vector<float> out(rows * width);
  for (size_t r = 0; r < rows; ++r)
    for (size_t f = 0; f < width; ++f) {
      const size_t mix = (r * 2654435761u + f * 40503u) >> 3;
      const auto& c = candidates[f];
      out[r * width + f] = (c.empty() || mix % 5 == 0) ? specials[mix % std::size(specials)] : c[mix % c.size()];
    }
  return out;
}

inline void check_engines_agree(const model::Forest& forest) {
  // Rows cost width floats each; a fuzzed forest may declare 65536 features.
  constexpr size_t kRows = 19;  // not a multiple of any engine's block of rows
  const std::vector<float> rows = probe_rows(forest, kRows);
  const size_t outputs = kRows * forest.num_groups;
  std::vector<float> expected(outputs), got(outputs);
  model::make_reference_scorer(forest)->predict_margin(rows.data(), kRows, expected.data());

  std::vector<std::unique_ptr<model::Scorer>> engines;
  engines.push_back(model::make_sparse_scorer(forest));
  for (auto isa : {model::PaddedIsa::kScalar, model::PaddedIsa::kAvx2, model::PaddedIsa::kAvx512})
    if (auto s = model::make_padded_scorer(forest, isa)) engines.push_back(std::move(s));
  for (const auto& engine : engines) {
    engine->predict_margin(rows.data(), kRows, got.data());
    if (std::memcmp(got.data(), expected.data(), outputs * sizeof(float)) != 0) {
      for (size_t i = 0; i < outputs; ++i)
        if (std::memcmp(&got[i], &expected[i], sizeof(float)) != 0) {
          std::fprintf(stderr, "engine %s: margin %zu is %a, the reference gives %a\n", engine->name(), i,
                       double(got[i]), double(expected[i]));
          break;
        }
      std::abort();
    }
  }
}

}  // namespace flowscore::fuzz
