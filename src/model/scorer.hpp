// A scoring engine: margins for a batch of rows. Every engine is built from a
// validated Forest and must give bit-identical margins (tests/model compares
// each with XGBoost and with the reference twin).
//
// Margin accumulation order is XGBoost's: each output starts at the base
// margin and adds its trees' leaves in float32, in tree order. Outputs are
// independent sums, so engines may visit the groups one after another.
#pragma once
#include <cstddef>
#include <memory>

#include "forest.hpp"

namespace flowscore::model {

class Scorer {
 public:
  virtual ~Scorer() = default;
  // rows: n x num_features, out: n x num_groups. Must not allocate.
  virtual void predict_margin(const float* rows, size_t n, float* out) const = 0;
  virtual const char* name() const = 0;
};

std::unique_ptr<Scorer> make_reference_scorer(const Forest& forest);
std::unique_ptr<Scorer> make_sparse_scorer(const Forest& forest);
enum class PaddedIsa { kScalar, kAvx2, kAvx512 };
// nullptr when a tree is too deep to pad (see padded_layout.hpp) or the CPU
// lacks the instruction set.
std::unique_ptr<Scorer> make_padded_scorer(const Forest& forest, PaddedIsa isa);

// Trees of each output in model order: the visiting order all engines use.
std::vector<uint32_t> trees_by_group(const Forest& forest, std::vector<uint32_t>& group_begin);

}  // namespace flowscore::model
