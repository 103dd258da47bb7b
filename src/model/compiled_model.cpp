#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "compiled_file.hpp"
#include "flowscore/model.hpp"
#include "forest.hpp"
#include "objective.hpp"
#include "scorer.hpp"
#include "sha256.hpp"
#include "xgboost_json.hpp"

namespace flowscore {

using model::Forest;

struct CompiledModel::Impl {
  Forest forest;
  std::string hash;
  std::unique_ptr<model::Scorer> scorer;
};

namespace {

// Generous for any tree model a sensor would run, small enough that a wrong
// path cannot make a loader swallow the disk.
constexpr size_t kMaxModelFileBytes = size_t{1} << 30;

std::unique_ptr<model::Scorer> make_scorer(const Forest& forest, ScoringEngine engine) {
  switch (engine) {
    case ScoringEngine::kReference:
      return model::make_reference_scorer(forest);
    case ScoringEngine::kSparseInterleaved:
      return model::make_sparse_scorer(forest);
    case ScoringEngine::kPaddedScalar:
      return model::make_padded_scorer(forest, model::PaddedIsa::kScalar);
    case ScoringEngine::kPaddedAvx2:
      return model::make_padded_scorer(forest, model::PaddedIsa::kAvx2);
    case ScoringEngine::kPaddedAvx512:
      return model::make_padded_scorer(forest, model::PaddedIsa::kAvx512);
    case ScoringEngine::kFastest:
      break;
  }
  // Measured order (docs/BENCHMARKS.md): padded AVX-512, AVX2, scalar;
  // trees too deep to pad go to the sparse engine.
  for (auto isa : {model::PaddedIsa::kAvx512, model::PaddedIsa::kAvx2, model::PaddedIsa::kScalar})
    if (auto s = model::make_padded_scorer(forest, isa)) return s;
  return model::make_sparse_scorer(forest);
}

}  // namespace

CompiledModel::CompiledModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledModel::~CompiledModel() = default;

std::shared_ptr<const CompiledModel> CompiledModel::load(const std::string& path, std::string& error,
                                                         ScoringEngine engine) {
  std::string bytes;
  auto impl = std::make_unique<Impl>();
  if (!model::read_file(path, kMaxModelFileBytes, bytes, error)) return nullptr;
  if (!model::parse_compiled_file(bytes, impl->forest, error)) {
    error = fmt::format("{}: {}", path, error);
    return nullptr;
  }
  impl->scorer = make_scorer(impl->forest, engine);
  if (!impl->scorer) {
    error = fmt::format("{}: the requested scoring engine cannot run this model on this CPU", path);
    return nullptr;
  }
  impl->hash = model::to_hex(impl->forest.source_sha256, 12);
  return std::shared_ptr<const CompiledModel>(new CompiledModel(std::move(impl)));
}

std::shared_ptr<const CompiledModel> CompiledModel::from_xgboost_json(const std::string& path, std::string& error,
                                                                      const CompileOptions& options) {
  std::string bytes;
  auto impl = std::make_unique<Impl>();
  Forest& f = impl->forest;
  if (!model::read_file(path, kMaxModelFileBytes, bytes, error)) return nullptr;
  if (!model::parse_xgboost_json(bytes, f, error)) {
    error = fmt::format("{}: {}", path, error);
    return nullptr;
  }
  f.source_sha256 = model::sha256(bytes);
  f.name = options.name.empty() ? std::filesystem::path(path).stem().string() : options.name;
  f.class_names = options.class_names;
  if (!model::validate_forest(f, error)) {
    error = fmt::format("{}: {}", path, error);
    return nullptr;
  }
  impl->scorer = make_scorer(f, options.engine);
  if (!impl->scorer) {
    error = fmt::format("{}: the requested scoring engine cannot run this model on this CPU", path);
    return nullptr;
  }
  impl->hash = model::to_hex(f.source_sha256, 12);
  return std::shared_ptr<const CompiledModel>(new CompiledModel(std::move(impl)));
}

bool CompiledModel::save(const std::string& path, std::string& error) const {
  const std::string bytes = model::serialize_forest(impl_->forest);
  // Write beside the target and rename, so a reader (hot reload) never sees
  // a half-written model.
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush()) {
      error = fmt::format("cannot write '{}'", temp);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    error = fmt::format("cannot rename '{}' to '{}': {}", temp, path, ec.message());
    return false;
  }
  return true;
}

size_t CompiledModel::num_features() const { return impl_->forest.num_features; }
size_t CompiledModel::num_outputs() const { return impl_->forest.num_groups; }
size_t CompiledModel::num_trees() const { return impl_->forest.num_trees(); }
const std::vector<std::string>& CompiledModel::feature_names() const { return impl_->forest.feature_names; }
const std::vector<std::string>& CompiledModel::class_names() const { return impl_->forest.class_names; }
const std::string& CompiledModel::name() const { return impl_->forest.name; }
const std::string& CompiledModel::hash() const { return impl_->hash; }
std::string CompiledModel::objective() const { return model::objective_name(impl_->forest.objective); }
const char* CompiledModel::engine_name() const { return impl_->scorer->name(); }

void CompiledModel::predict_margin(const float* rows, size_t n, float* out) const {
  impl_->scorer->predict_margin(rows, n, out);
}

void CompiledModel::predict(const float* rows, size_t n, float* out) const {
  impl_->scorer->predict_margin(rows, n, out);
  const size_t k = impl_->forest.num_groups;
  for (size_t r = 0; r < n; ++r) model::transform_row(impl_->forest.objective, out + r * k, k);
}

}  // namespace flowscore
