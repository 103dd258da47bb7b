// Scoring speed: every flowscore engine side by side with XGBoost 1.7's own
// XGBoosterPredictFromDense (nthread=1), in one run, on models trained here
// (64 features, depth 6 and 8, 100 and 300 trees) and batches of 1..1024 rows.
//
// Counters: ns_per_row, ns_per_row_tree, and for flowscore engines
// x_vs_xgboost = XGBoost's ns/row at the same model and batch divided by the
// engine's (XGBoost's benchmark for that case is registered, so runs, first).
// Command and results: docs/BENCHMARKS.md, "Scoring".
#include <benchmark/benchmark.h>

#include <time.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "flowscore/model.hpp"
#include "../tests/model/xgboost_reference.hpp"

namespace {

using flowscore::CompiledModel;
using flowscore::ScoringEngine;

constexpr size_t kFeatures = 64;
constexpr size_t kPoolRows = 16384;

struct BenchModel {
  std::unique_ptr<flowscore::testing::XgbBooster> xgb;
  std::string json_path;
};

// Trained once per (depth, trees) on heavy-tailed synthetic flow features.
// Freed before main returns: XGBoost's own statics are gone by static
// destruction time.
std::map<std::pair<int, int>, BenchModel> models;

BenchModel& bench_model(int depth, int trees) {
  BenchModel& m = models[{depth, trees}];
  if (!m.xgb) {
    const flowscore::testing::TrainSpec spec{"binary:logistic", 0, depth, trees};
    const auto rows = flowscore::testing::make_rows(20000, kFeatures, 101, 0.05);
    m.xgb = std::make_unique<flowscore::testing::XgbBooster>(
        rows, flowscore::testing::make_labels(rows, kFeatures, spec, 102), kFeatures, spec);
    m.json_path = flowscore::testing::temp_dir() + "/bench_d" + std::to_string(depth) + "_t" +
                  std::to_string(trees) + ".json";
    m.xgb->save_json(m.json_path);
  }
  return m;
}

const std::vector<float>& row_pool() {
  static const std::vector<float> pool = flowscore::testing::make_rows(kPoolRows, kFeatures, 103, 0.05);
  return pool;
}

// XGBoost's ns/row per (depth, trees, batch), for the ratio counter.
std::map<std::tuple<int, int, int>, double>& xgboost_ns_per_row() {
  static std::map<std::tuple<int, int, int>, double> m;
  return m;
}

double thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

// Runs `score(rows, batch)` over successive slices of the row pool and sets
// the counters; returns ns/row. Counters use this thread's CPU time, like
// the CPU column, so other load on the machine does not skew the ratios.
template <typename Score>
double run(benchmark::State& state, int trees, Score score) {
  const int batch = static_cast<int>(state.range(2));
  const std::vector<float>& pool = row_pool();
  size_t offset = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    score(pool.data() + offset * kFeatures, batch);
    offset = (offset + batch) % (kPoolRows - 1024);
  }
  const double ns_per_row = (thread_cpu_ns() - start) / (static_cast<double>(state.iterations()) * batch);
  state.counters["ns_per_row"] = ns_per_row;
  state.counters["ns_per_row_tree"] = ns_per_row / trees;
  state.SetItemsProcessed(state.iterations() * batch);
  return ns_per_row;
}

void BM_xgboost(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0)), trees = static_cast<int>(state.range(1));
  const auto& xgb = *bench_model(depth, trees).xgb;
  const double ns = run(state, trees, [&](const float* rows, int batch) {
    auto out = xgb.predict(rows, batch, kFeatures, 0);
    benchmark::DoNotOptimize(out.data());
  });
  xgboost_ns_per_row()[{depth, trees, static_cast<int>(state.range(2))}] = ns;
}

template <ScoringEngine kEngine>
void BM_flowscore(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0)), trees = static_cast<int>(state.range(1));
  std::string error;
  const auto model =
      CompiledModel::from_xgboost_json(bench_model(depth, trees).json_path, error, {.engine = kEngine});
  if (!model) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<float> out(1024);
  const double ns = run(state, trees, [&](const float* rows, int batch) {
    model->predict(rows, batch, out.data());
    benchmark::DoNotOptimize(out.data());
  });
  state.SetLabel(model->engine_name());
  const auto xgb = xgboost_ns_per_row().find({depth, trees, static_cast<int>(state.range(2))});
  if (xgb != xgboost_ns_per_row().end()) state.counters["x_vs_xgboost"] = xgb->second / ns;
}

void cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"depth", "trees", "batch"});
  for (int depth : {6, 8})
    for (int trees : {100, 300})
      for (int batch : {1, 32, 256, 1024}) b->Args({depth, trees, batch});
}

BENCHMARK(BM_xgboost)->Apply(cases);
BENCHMARK(BM_flowscore<ScoringEngine::kSparseInterleaved>)->Apply(cases);
BENCHMARK(BM_flowscore<ScoringEngine::kPaddedScalar>)->Apply(cases);
BENCHMARK(BM_flowscore<ScoringEngine::kPaddedAvx2>)->Apply(cases);
BENCHMARK(BM_flowscore<ScoringEngine::kPaddedAvx512>)->Apply(cases);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  models.clear();
  return 0;
}
