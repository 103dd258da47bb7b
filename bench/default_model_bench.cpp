// What the shipped default model costs per flow, on real feature rows:
// ns per flow at the worker's batch sizes. Rows come from a feature table
// written by `flowscore extract` (FLOWSCORE_BENCH_ROWS=table.csv), else from
// tests/data (extracted at benchmark start by the caller, see BENCHMARKS.md).
//   FLOWSCORE_BENCH_ROWS=t.csv default_model_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "../src/model/csv_table.hpp"
#include "flowscore/model.hpp"

using namespace flowscore;

namespace {

struct Rows {
  std::shared_ptr<const CompiledModel> model;
  std::vector<float> values;  // n x num_features
  size_t n = 0;
  std::string error;
};

const Rows& rows() {
  static const Rows r = [] {
    Rows r;
    const char* model_path = std::getenv("FLOWSCORE_BENCH_MODEL");
    r.model = CompiledModel::load(model_path ? model_path : FLOWSCORE_SOURCE_DIR "/conf/models/default.fsm", r.error);
    const char* table = std::getenv("FLOWSCORE_BENCH_ROWS");
    if (!r.model || !table) {
      if (r.error.empty()) r.error = "set FLOWSCORE_BENCH_ROWS to a feature table from flowscore extract";
      return r;
    }
    model::CsvTableReader csv;
    if (!csv.open(table, r.error)) return r;
    std::vector<size_t> column;  // model feature -> CSV column
    for (const auto& name : r.model->feature_names()) {
      const auto it = std::find(csv.header().begin(), csv.header().end(), name);
      if (it == csv.header().end()) {
        r.error = "table lacks feature " + name;
        return r;
      }
      column.push_back(size_t(it - csv.header().begin()));
    }
    std::vector<std::string_view> cells;
    while (csv.next_row(cells, r.error)) {
      for (size_t c : column) {
        float v = NAN;
        model::parse_feature_cell(cells[c], v);
        r.values.push_back(v);
      }
      ++r.n;
    }
    return r;
  }();
  return r;
}

void BM_DefaultModel(benchmark::State& state) {
  const Rows& r = rows();
  if (r.n == 0) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  const size_t batch = size_t(state.range(0)), nf = r.model->num_features();
  std::vector<float> out(batch * r.model->num_outputs());
  size_t start = 0;
  for (auto _ : state) {
    if (start + batch > r.n) start = 0;
    r.model->predict(r.values.data() + start * nf, std::min(batch, r.n), out.data());
    benchmark::DoNotOptimize(out.data());
    start += batch;
  }
  state.SetItemsProcessed(state.iterations() * int64_t(std::min(batch, r.n)));
  state.counters["trees"] = double(r.model->num_trees());
  state.counters["rows_in_table"] = double(r.n);
}
BENCHMARK(BM_DefaultModel)->Arg(1)->Arg(32)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
