#include "flowscore/model_cli.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "csv_blocks.hpp"
#include "table_scoring.hpp"
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
    "                         [--keep COLUMN,... | --keep-other]\n"
    "\n"
    "Scores a feature table (header row of feature names, as `flowscore extract`\n"
    "writes it; extra columns are ignored, an empty cell or `nan` is missing).\n"
    "Writes a CSV header of column names, then one line per row, in input order:\n"
    "the kept columns as they were, then one value per class (named after the\n"
    "class, or class_<i> when the model has none), printed so that the float32\n"
    "value round-trips exactly. A binary model has one score column, class 1's.\n"
    "Rows are parsed and scored in parallel blocks (oneTBB, every core).\n"
    "  --model MODEL      compiled model (or an XGBoost JSON model)\n"
    "  --in, --out FILE   \"-\" = standard input or output\n"
    "  --margin           raw margins instead of probabilities\n"
    "  --keep COLUMNS     copy these input columns ahead of the scores, e.g.\n"
    "                     --keep flow_id,input, to join the scores back\n"
    "  --keep-other       copy every column the model does not read\n"
    "  --threads N        parse and score on N threads (default: every core)\n"
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

// predict's header: the kept columns' names, then what each score column is
// the score of, as one CSV row (csv.reader and pandas read it as names).
std::string score_header(const CompiledModel& model, const std::vector<std::string>& kept_names) {
  const std::vector<std::string> labels = class_labels(model);
  const size_t first = model.num_outputs() == 1 ? 1 : 0;  // binary: P(class 1) only
  std::vector<std::string> columns;
  for (const std::string& name : kept_names) columns.push_back(csv_field(name));
  for (size_t c = first; c < labels.size(); ++c) columns.push_back(csv_field(labels[c]));
  return fmt::format("{}\n", fmt::join(columns, ","));
}

// The table's columns as the model reads them (matched by name) and the
// columns kept (--keep names, or every other column). False + error naming
// every feature the table lacks, or a kept column it lacks.
bool lay_out_table(const CompiledModel& model, const std::vector<std::string>& header,
                   const std::vector<std::string>& keep, bool keep_other, model::TableLayout& layout,
                   std::string& error) {
  std::unordered_map<std::string, size_t> column_by_name;
  for (size_t c = 0; c < header.size(); ++c) column_by_name.emplace(header[c], c);
  layout.columns = header.size();
  layout.feature_of_column.assign(header.size(), -1);
  layout.feature_names = model.feature_names();
  std::vector<std::string> missing;
  for (size_t f = 0; f < model.feature_names().size(); ++f) {
    auto it = column_by_name.find(model.feature_names()[f]);
    if (it == column_by_name.end())
      missing.push_back(model.feature_names()[f]);
    else
      layout.feature_of_column[it->second] = static_cast<int>(f);
  }
  if (!missing.empty()) {
    error = fmt::format("no column for model feature(s): {}", fmt::join(missing, ", "));
    return false;
  }
  layout.kept_columns.clear();
  for (const std::string& name : keep) {
    auto it = column_by_name.find(name);
    if (it == column_by_name.end()) {
      error = fmt::format("--keep: no column '{}'", name);
      return false;
    }
    if (std::find(layout.kept_columns.begin(), layout.kept_columns.end(), it->second) != layout.kept_columns.end()) {
      error = fmt::format("--keep: column '{}' is named twice", name);
      return false;
    }
    layout.kept_columns.push_back(it->second);
  }
  if (keep_other)
    for (size_t c = 0; c < header.size(); ++c)
      if (layout.feature_of_column[c] < 0) layout.kept_columns.push_back(c);
  return true;
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
  std::string model_path, in_path, out_path, keep_list;
  bool margin = false, keep_other = false;
  size_t threads = 0;  // 0: oneTBB's default, every core
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
    } else if (arg == "--keep") {
      if (!take_value(argc, argv, i, keep_list, kPredictUsage)) return kExitBadInput;
    } else if (arg == "--threads") {
      std::string value;
      if (!take_value(argc, argv, i, value, kPredictUsage)) return kExitBadInput;
      char* end = nullptr;
      threads = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end || threads == 0 || threads > 1024) {
        fmt::print(stderr, "flowscore predict: --threads: '{}' is not a thread count (1-1024)\n", value);
        return kExitBadInput;
      }
    } else if (arg == "--keep-other") {
      keep_other = true;
    } else if (arg == "--margin") {
      margin = true;
    } else {
      fmt::print(stderr, "{}: unexpected argument '{}'\n{}", argv[0], arg, kPredictUsage);
      return kExitBadInput;
    }
  }
  if (model_path.empty() || in_path.empty() || out_path.empty() || (keep_other && !keep_list.empty())) {
    fmt::print(stderr, "{}", kPredictUsage);
    return kExitBadInput;
  }
  std::string error;
  const auto model = load_any(model_path, error);
  if (!model) {
    fmt::print(stderr, "flowscore predict: {}\n", error);
    return kExitBadInput;
  }
  const bool from_stdin = in_path == "-";
  const int in_fd = from_stdin ? STDIN_FILENO : ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    fmt::print(stderr, "flowscore predict: cannot open '{}': {}\n", in_path, std::strerror(errno));
    return kExitBadInput;
  }
  struct CloseOnReturn {
    int fd;
    ~CloseOnReturn() { if (fd != STDIN_FILENO) ::close(fd); }
  } in_closer{in_fd};
  model::CsvBlockReader reader(in_fd);
  std::vector<std::string> header;
  model::TableLayout layout;
  if (!reader.read_header(header, error) ||
      !lay_out_table(*model, header, keep_list.empty() ? std::vector<std::string>{} : split_list(keep_list),
                     keep_other, layout, error)) {
    fmt::print(stderr, "flowscore predict: {}: {}\n", in_path, error);
    return kExitBadInput;
  }
  std::vector<std::string> kept_names;
  for (size_t c : layout.kept_columns) kept_names.push_back(header[c]);

  const bool to_stdout = out_path == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(out_path.c_str(), "wb");
  if (!out) {
    fmt::print(stderr, "flowscore predict: cannot open '{}': {}\n", out_path, std::strerror(errno));
    return kExitFailure;
  }
  const std::string score_names = score_header(*model, kept_names);
  std::optional<tbb::global_control> thread_limit;
  if (threads) thread_limit.emplace(tbb::global_control::max_allowed_parallelism, threads);
  model::TableScoringResult result;
  if (std::fwrite(score_names.data(), 1, score_names.size(), out) != score_names.size())
    result.status = model::TableScoringResult::Status::kWriteFailed;
  else
    result = model::score_table(*model, reader, layout, margin, out);
  const bool closed = to_stdout ? std::fflush(out) == 0 : std::fclose(out) == 0;
  if (result.status == model::TableScoringResult::Status::kBadInput) {
    fmt::print(stderr, "flowscore predict: {}: {}\n", in_path, result.error);
    return kExitBadInput;
  }
  if (result.status == model::TableScoringResult::Status::kWriteFailed || !closed) {
    fmt::print(stderr, "flowscore predict: cannot write '{}'\n", out_path);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace flowscore
