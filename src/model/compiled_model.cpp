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

// What EVE's flowscore.model.hash shows: it names the compiled bytes, so two
// compilations of one JSON (other class names, say) are told apart, and
// `sha256sum MODEL` confirms it.
std::string compiled_hash(std::string_view compiled_file) { return model::to_hex(model::sha256(compiled_file), 12); }

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
  impl->hash = compiled_hash(bytes);
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
  if (!options.class_names.empty()) f.class_names = options.class_names;
  if (!options.feature_spec_version.empty()) f.feature_spec_version = options.feature_spec_version;
  if (!model::validate_forest(f, error)) {
    error = fmt::format("{}: {}", path, error);
    return nullptr;
  }
  impl->scorer = make_scorer(f, options.engine);
  if (!impl->scorer) {
    error = fmt::format("{}: the requested scoring engine cannot run this model on this CPU", path);
    return nullptr;
  }
  impl->hash = compiled_hash(model::serialize_forest(f));
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
size_t CompiledModel::num_classes() const { return num_outputs() == 1 ? 2 : num_outputs(); }
std::string CompiledModel::class_label(size_t c) const {
  return c < class_names().size() ? class_names()[c] : fmt::format("class_{}", c);
}
const std::string& CompiledModel::name() const { return impl_->forest.name; }
const std::string& CompiledModel::hash() const { return impl_->hash; }
const std::string& CompiledModel::feature_spec_version() const { return impl_->forest.feature_spec_version; }
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
