#include "flowscore/model_cli.hpp"

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "csv_table.hpp"
#include "flowscore/model.hpp"

namespace flowscore {
namespace {

constexpr const char* kCompileUsage =
    "usage: flowscore compile MODEL.json -o MODEL [--name NAME] [--class-names a,b,...]\n"
    "\n"
    "Compiles an XGBoost 1.7 JSON model (Booster.save_model(\"m.json\")) into the\n"
    "validated binary form `flowscore run` and `flowscore predict` load.\n"
    "  -o MODEL           output file\n"
    "  --name NAME        model name reported in verdicts (default: JSON file name)\n"
    "  --class-names L    comma-separated class names, one per class (2 for binary)\n";

constexpr const char* kPredictUsage =
    "usage: flowscore predict --model MODEL --in TABLE.csv --out SCORES.csv [--margin]\n"
    "\n"
    "Scores a feature table (header row of feature names, as `flowscore extract`\n"
    "writes it; extra columns are ignored, an empty cell or `nan` is missing).\n"
    "Writes one line per row: one value per class, comma-separated, printed so\n"
    "that the float32 value round-trips exactly.\n"
    "  --model MODEL      compiled model (or an XGBoost JSON model)\n"
    "  --margin           raw margins instead of probabilities\n";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// Yields the value after a flag, or reports a usage error.
bool take_value(int argc, char** argv, int& i, std::string& out, const char* usage) {
  if (i + 1 >= argc) {
    fmt::print(stderr, "{}: {} needs a value\n{}", argv[0], argv[i], usage);
    return false;
  }
  out = argv[++i];
  return true;
}

bool is_help(const char* arg) { return !std::strcmp(arg, "--help") || !std::strcmp(arg, "-h"); }

std::shared_ptr<const CompiledModel> load_any(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  char first = 0;
  while (in.get(first) && std::isspace(static_cast<unsigned char>(first))) {
  }
  if (first == '{') return CompiledModel::from_xgboost_json(path, error);
  return CompiledModel::load(path, error);
}

}  // namespace

int run_compile_command(int argc, char** argv) {
  std::string input, output;
  CompileOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string value;
    if (is_help(argv[i])) {
      fmt::print("{}", kCompileUsage);
      return 0;
    } else if (arg == "-o" || arg == "--out") {
      if (!take_value(argc, argv, i, output, kCompileUsage)) return 2;
    } else if (arg == "--name") {
      if (!take_value(argc, argv, i, options.name, kCompileUsage)) return 2;
    } else if (arg == "--class-names") {
      if (!take_value(argc, argv, i, value, kCompileUsage)) return 2;
      options.class_names = split_list(value);
    } else if (arg.starts_with("-") || !input.empty()) {
      fmt::print(stderr, "{}: unexpected argument '{}'\n{}", argv[0], arg, kCompileUsage);
      return 2;
    } else {
      input = arg;
    }
  }
  if (input.empty() || output.empty()) {
    fmt::print(stderr, "{}", kCompileUsage);
    return 2;
  }
  std::string error;
  auto model = CompiledModel::from_xgboost_json(input, error, options);
  if (!model || !model->save(output, error)) {
    fmt::print(stderr, "flowscore compile: {}\n", error);
    return 1;
  }
  fmt::print("compiled '{}' ({}, {} trees, {} features, {} outputs, source sha256 {}) -> {}\n", model->name(),
             model->objective(), model->num_trees(), model->num_features(), model->num_outputs(), model->hash(),
             output);
  return 0;
}

int run_predict_command(int argc, char** argv) {
  std::string model_path, in_path, out_path;
  bool margin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (is_help(argv[i])) {
      fmt::print("{}", kPredictUsage);
      return 0;
    } else if (arg == "--model") {
      if (!take_value(argc, argv, i, model_path, kPredictUsage)) return 2;
    } else if (arg == "--in") {
      if (!take_value(argc, argv, i, in_path, kPredictUsage)) return 2;
    } else if (arg == "--out") {
      if (!take_value(argc, argv, i, out_path, kPredictUsage)) return 2;
    } else if (arg == "--margin") {
      margin = true;
    } else {
      fmt::print(stderr, "{}: unexpected argument '{}'\n{}", argv[0], arg, kPredictUsage);
      return 2;
    }
  }
  if (model_path.empty() || in_path.empty() || out_path.empty()) {
    fmt::print(stderr, "{}", kPredictUsage);
    return 2;
  }
  std::string error;
  const auto model = load_any(model_path, error);
  model::CsvTableReader table;
  if (!model || !table.open(in_path, error)) {
    fmt::print(stderr, "flowscore predict: {}\n", error);
    return 1;
  }

  // Model feature i is read from CSV column column_of[i], matched by name.
  std::unordered_map<std::string, size_t> column_by_name;
  for (size_t c = 0; c < table.header().size(); ++c) column_by_name.emplace(table.header()[c], c);
  std::vector<size_t> column_of;
  std::string missing;
  for (const std::string& feature : model->feature_names()) {
    auto it = column_by_name.find(feature);
    if (it == column_by_name.end())
      missing += (missing.empty() ? "" : ", ") + feature;
    else
      column_of.push_back(it->second);
  }
  if (!missing.empty()) {
    fmt::print(stderr, "flowscore predict: {} has no column for model feature(s): {}\n", in_path, missing);
    return 1;
  }

  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) {
    fmt::print(stderr, "flowscore predict: cannot open '{}': {}\n", out_path, std::strerror(errno));
    return 1;
  }
  // Rows are parsed serially (one CSV stream), then scored and printed by
  // oneTBB in parallel chunks, written back in input order. The model is
  // immutable, so its predict() runs concurrently without locks.
  constexpr size_t kBatch = 16384, kChunk = 1024;
  const size_t nf = model->num_features(), k = model->num_outputs();
  std::vector<float> rows(kBatch * nf), scores(kBatch * k);
  std::vector<std::string_view> cells;
  std::vector<fmt::memory_buffer> text(kBatch / kChunk);
  auto flush = [&](size_t n) {
    const size_t chunks = (n + kChunk - 1) / kChunk;
    tbb::parallel_for(size_t{0}, chunks, [&](size_t c) {
      const size_t first = c * kChunk, count = std::min(kChunk, n - first);
      margin ? model->predict_margin(rows.data() + first * nf, count, scores.data() + first * k)
             : model->predict(rows.data() + first * nf, count, scores.data() + first * k);
      fmt::memory_buffer& t = text[c];
      t.clear();
      for (size_t r = first; r < first + count; ++r) {
        for (size_t g = 0; g < k; ++g) {
          if (g) t.push_back(',');
          fmt::format_to(std::back_inserter(t), "{:.9g}", scores[r * k + g]);
        }
        t.push_back('\n');
      }
    });
    for (size_t c = 0; c < chunks; ++c)
      if (std::fwrite(text[c].data(), 1, text[c].size(), out) != text[c].size()) return false;
    return true;
  };
  size_t n = 0;
  bool ok = true;
  while (ok && table.next_row(cells, error)) {
    for (size_t i = 0; i < nf && ok; ++i) {
      if (!model::parse_feature_cell(cells[column_of[i]], rows[n * nf + i])) {
        error = fmt::format("line {}, column '{}': '{}' is not a number", table.line_number(),
                            model->feature_names()[i], cells[column_of[i]]);
        ok = false;
      }
    }
    if (ok && ++n == kBatch) {
      ok = flush(n);
      n = 0;
      if (!ok) error = fmt::format("cannot write '{}'", out_path);
    }
  }
  ok = ok && error.empty() && flush(n);
  if (std::fclose(out) != 0) ok = false;
  if (!ok) {
    fmt::print(stderr, "flowscore predict: {}: {}\n", in_path, error.empty() ? "write failed" : error);
    return 1;
  }
  return 0;
}

}  // namespace flowscore
