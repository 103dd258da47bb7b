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
    "                         [--feature-spec-version VERSION]\n"
    "\n"
    "Compiles an XGBoost 1.7 JSON model (Booster.save_model(\"m.json\")) into the\n"
    "validated binary form `flowscore run` and `flowscore predict` load.\n"
    "  -o MODEL           output file\n"
    "  --name NAME        model name reported in verdicts (default: JSON file name)\n"
    "  --class-names L    comma-separated class names, one per class (2 for binary);\n"
    "                     default: the model's class_names attribute (scripts/train)\n"
    "  --feature-spec-version V\n"
    "                     the features the model was trained on, as `flowscore\n"
    "                     feature-spec` prints them; `run` refuses the model under\n"
    "                     other feature settings. Default: the model's\n"
    "                     feature_spec_version attribute (scripts/train)\n"
    "Exit status: 0 success, 1 the output cannot be written, 2 bad input or usage.\n";

constexpr const char* kPredictUsage =
    "usage: flowscore predict --model MODEL --in TABLE.csv --out SCORES.csv [--margin]\n"
    "\n"
    "Scores a feature table (header row of feature names, as `flowscore extract`\n"
    "writes it; extra columns are ignored, an empty cell or `nan` is missing).\n"
    "Writes a header line, '#' and the column names (the class names, or class_<i>\n"
    "when the model has none), then one line per row: one value per class,\n"
    "comma-separated, printed so that the float32 value round-trips exactly. A\n"
    "binary model has one column, class 1's.\n"
    "  --model MODEL      compiled model (or an XGBoost JSON model)\n"
    "  --margin           raw margins instead of probabilities\n"
    "Exit status: 0 success, 1 the output cannot be written, 2 bad input or usage.\n";

// Exit statuses, as `flowscore --help` states them for every command.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;   // a failure while running, e.g. a write error
constexpr int kExitBadInput = 2;  // bad input or usage

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

// Every class's name: the model's own, or class_<i> (as in EVE output) when
// it has none. A binary model has two classes and one output, class 1's.
std::vector<std::string> class_labels(const CompiledModel& model) {
  std::vector<std::string> labels;
  for (size_t c = 0; c < model.num_classes(); ++c) labels.push_back(model.class_label(c));
  return labels;
}

std::string describe_classes(const CompiledModel& model) {
  return model.class_names().empty() ? fmt::format("unnamed ({})", fmt::join(class_labels(model), ","))
                                     : fmt::format("{}", fmt::join(model.class_names(), ","));
}

std::string describe_feature_spec(const CompiledModel& model) {
  return model.feature_spec_version().empty()
             ? std::string("no feature spec version: `flowscore run` cannot check the feature settings")
             : fmt::format("features '{}'", model.feature_spec_version());
}

// RFC 4180 quoting, for a name a JSON attribute gave (it may hold a comma).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + '"';
}

// predict's first line: '#', then what each column is the score of. The '#'
// keeps it a comment for numeric readers (numpy.loadtxt, as
// scripts/lib/verify_predict.py reads scores), which skip it.
std::string score_header(const CompiledModel& model) {
  const std::vector<std::string> labels = class_labels(model);
  const size_t first = model.num_outputs() == 1 ? 1 : 0;  // binary: P(class 1) only
  std::vector<std::string> columns;
  for (size_t c = first; c < labels.size(); ++c) columns.push_back(csv_field(labels[c]));
  return fmt::format("# {}\n", fmt::join(columns, ","));
}

// Model feature i is read from CSV column column_of[i], matched by name.
// False + error naming every feature the table lacks.
bool map_feature_columns(const CompiledModel& model, const std::vector<std::string>& header,
                         std::vector<size_t>& column_of, std::string& error) {
  std::unordered_map<std::string, size_t> column_by_name;
  for (size_t c = 0; c < header.size(); ++c) column_by_name.emplace(header[c], c);
  column_of.clear();
  std::vector<std::string> missing;
  for (const std::string& feature : model.feature_names()) {
    auto it = column_by_name.find(feature);
    if (it == column_by_name.end())
      missing.push_back(feature);
    else
      column_of.push_back(it->second);
  }
  if (missing.empty()) return true;
  error = fmt::format("no column for model feature(s): {}", fmt::join(missing, ", "));
  return false;
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
      return kExitOk;
    } else if (arg == "-o" || arg == "--out") {
      if (!take_value(argc, argv, i, output, kCompileUsage)) return kExitBadInput;
    } else if (arg == "--name") {
      if (!take_value(argc, argv, i, options.name, kCompileUsage)) return kExitBadInput;
    } else if (arg == "--class-names") {
      if (!take_value(argc, argv, i, value, kCompileUsage)) return kExitBadInput;
      options.class_names = split_list(value);
    } else if (arg == "--feature-spec-version") {
      if (!take_value(argc, argv, i, options.feature_spec_version, kCompileUsage)) return kExitBadInput;
    } else if (arg.starts_with("-") || !input.empty()) {
      fmt::print(stderr, "{}: unexpected argument '{}'\n{}", argv[0], arg, kCompileUsage);
      return kExitBadInput;
    } else {
      input = arg;
    }
  }
  if (input.empty() || output.empty()) {
    fmt::print(stderr, "{}", kCompileUsage);
    return kExitBadInput;
  }
  std::string error;
  auto model = CompiledModel::from_xgboost_json(input, error, options);
  if (!model) {
    fmt::print(stderr, "flowscore compile: {}\n", error);
    return kExitBadInput;
  }
  if (!model->save(output, error)) {
    fmt::print(stderr, "flowscore compile: {}\n", error);
    return kExitFailure;
  }
  fmt::print("compiled '{}' ({}, {} trees, {} features, classes {}; {}) -> {} (hash {})\n", model->name(),
             model->objective(), model->num_trees(), model->num_features(), describe_classes(*model),
             describe_feature_spec(*model), output, model->hash());
  return kExitOk;
}

int run_predict_command(int argc, char** argv) {
  std::string model_path, in_path, out_path;
  bool margin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (is_help(argv[i])) {
      fmt::print("{}", kPredictUsage);
      return kExitOk;
    } else if (arg == "--model") {
      if (!take_value(argc, argv, i, model_path, kPredictUsage)) return kExitBadInput;
    } else if (arg == "--in") {
      if (!take_value(argc, argv, i, in_path, kPredictUsage)) return kExitBadInput;
    } else if (arg == "--out") {
      if (!take_value(argc, argv, i, out_path, kPredictUsage)) return kExitBadInput;
    } else if (arg == "--margin") {
      margin = true;
    } else {
      fmt::print(stderr, "{}: unexpected argument '{}'\n{}", argv[0], arg, kPredictUsage);
      return kExitBadInput;
    }
  }
  if (model_path.empty() || in_path.empty() || out_path.empty()) {
    fmt::print(stderr, "{}", kPredictUsage);
    return kExitBadInput;
  }
  std::string error;
  const auto model = load_any(model_path, error);
  model::CsvTableReader table;
  if (!model || !table.open(in_path, error)) {
    fmt::print(stderr, "flowscore predict: {}\n", error);
    return kExitBadInput;
  }
  std::vector<size_t> column_of;
  if (!map_feature_columns(*model, table.header(), column_of, error)) {
    fmt::print(stderr, "flowscore predict: {}: {}\n", in_path, error);
    return kExitBadInput;
  }

  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) {
    fmt::print(stderr, "flowscore predict: cannot open '{}': {}\n", out_path, std::strerror(errno));
    return kExitFailure;
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
  const std::string header = score_header(*model);
  bool written = std::fwrite(header.data(), 1, header.size(), out) == header.size();
  bool bad_input = false;
  size_t n = 0;
  while (written && !bad_input && table.next_row(cells, error)) {
    for (size_t i = 0; i < nf && !bad_input; ++i) {
      if (!model::parse_feature_cell(cells[column_of[i]], rows[n * nf + i])) {
        error = fmt::format("line {}, column '{}': '{}' is not a number", table.line_number(),
                            model->feature_names()[i], cells[column_of[i]]);
        bad_input = true;
      }
    }
    if (!bad_input && ++n == kBatch) {
      written = flush(n);
      n = 0;
    }
  }
  bad_input = bad_input || !error.empty();  // next_row() names a ragged row or a read error
  written = written && (bad_input || flush(n));
  written = std::fclose(out) == 0 && written;
  if (bad_input) {
    fmt::print(stderr, "flowscore predict: {}: {}\n", in_path, error);
    return kExitBadInput;
  }
  if (!written) {
    fmt::print(stderr, "flowscore predict: cannot write '{}'\n", out_path);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace flowscore
