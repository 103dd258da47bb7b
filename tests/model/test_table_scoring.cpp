// The parallel table scorer behind `flowscore predict` (table_scoring.hpp)
// against slow, obviously-correct twins: strtof for every cell, the
// line-at-a-time CsvTableReader for the blocks, one serial predict() call for
// the scores, and XGBoost for the values.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "csv_blocks.hpp"
#include "csv_table.hpp"
#include "flowscore/model_cli.hpp"
#include "table_scoring.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

// The cell rule as it was before the fast path: strtof on the whole cell.
bool strtof_cell(const std::string& cell, float& value) {
  if (cell.empty() || cell.size() >= 64) return !cell.empty() ? false : (value = NAN, true);
  std::string lower;
  for (char c : cell) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan") return value = NAN, true;
  char* end = nullptr;
  value = std::strtof(cell.c_str(), &end);
  return end == cell.c_str() + cell.size() && !std::isspace(static_cast<unsigned char>(cell[0])) &&
         !std::isnan(value);
}

std::vector<std::string> cell_corpus() {
  std::vector<std::string> cells = {"", "nan", "NaN", "NAN", "nan(12)", "-nan", "inf", "-inf", "+inf", "Infinity",
                                    "-INFINITY", "infinit", "0", "-0", "+0", "+1.5", "1e", "1e+", ".5", "5.",
                                    "1.5.2", " 1", "1 ", "\t2", "0x1p3", "0X1.8P-2", "-0x10", "1e39", "-1e39",
                                    "3.4028235e38", "3.4028236e38", "1e-39", "1e-46", "1.4e-45", "7e-46",
                                    "1,2", "abc", "1e-1000", "1e1000", std::string(63, '1'), std::string(64, '1'),
                                    "0." + std::string(61, '0') + "1", "16777217", "16777217.0000001",
                                    "0.1000000000000000055511151231257827", "1_0", "١", "1e5f"};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  char text[80];
  for (int i = 0; i < 20000; ++i) {
    uint32_t pattern = bits(rng);
    float f;
    std::memcpy(&f, &pattern, sizeof f);
    const double d = std::ldexp(static_cast<double>(bits(rng)) / 4294967296.0, static_cast<int>(bits(rng) % 300) - 150);
    switch (i % 6) {
      case 0: std::snprintf(text, sizeof text, "%.9g", f); break;
      case 1: std::snprintf(text, sizeof text, "%.17g", d); break;   // double-rounding cases
      case 2: std::snprintf(text, sizeof text, "%a", f); break;      // hex: strtof only
      case 3: std::snprintf(text, sizeof text, "%+.6e", d); break;   // leading '+'
      case 4: std::snprintf(text, sizeof text, "%.40f", d); break;   // long digit strings
      default: std::snprintf(text, sizeof text, "%u", pattern); break;
    }
    cells.push_back(text);
  }
  return cells;
}

TEST(FeatureCell, FastPathAgreesWithStrtofOnEveryCell) {
  size_t compared = 0;
  for (const std::string& cell : cell_corpus()) {
    float fast = 1234.5f, slow = 1234.5f;
    const bool fast_ok = model::parse_feature_cell(cell, fast);
    const bool slow_ok = strtof_cell(cell, slow);
    ASSERT_EQ(fast_ok, slow_ok) << "cell '" << cell << "'";
    if (!fast_ok) continue;
    ++compared;
    if (std::isnan(slow))
      EXPECT_TRUE(std::isnan(fast)) << cell;
    else
      EXPECT_EQ(std::memcmp(&fast, &slow, sizeof fast), 0) << "cell '" << cell << "': " << fast << " vs " << slow;
  }
  EXPECT_GT(compared, 15000u);  // the corpus is mostly numbers
}

// A table with what real files have: CRLF and LF, blank lines, a header
// after blank lines, no newline at the end.
std::string messy_table(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string text = "\n\r\nid,a,b,c\r\n";
  for (size_t r = 0; r < rows; ++r) {
    text += fmt::format("row{},{},{:.9g},{}", r, rng() % 1000, std::ldexp(double(rng() % 100000), -7),
                        r % 5 == 0 ? std::string() : std::to_string(rng() % 7));
    text += r % 3 == 0 ? "\r\n" : "\n";
    if (r % 17 == 0) text += "\n";
  }
  text += "last,1,2,3";
  return text;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CsvBlockReader, SameRowsAsTheLineReaderAtEveryBlockSize) {
  const std::string path = write_temp("messy.csv", messy_table(3000, 3));
  model::CsvTableReader twin;
  std::string error;
  ASSERT_TRUE(twin.open(path, error)) << error;
  std::vector<std::vector<std::string>> want;
  std::vector<std::string_view> cells;
  while (twin.next_row(cells, error)) want.emplace_back(cells.begin(), cells.end());
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(want.size(), 3001u);

  for (size_t block_bytes : {1, 7, 64, 4096, 1 << 22}) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    model::CsvBlockReader reader(fd, block_bytes);
    std::vector<std::string> header;
    ASSERT_TRUE(reader.read_header(header, error)) << error;
    EXPECT_EQ(header, twin.header());
    EXPECT_EQ(reader.header_line(), 3u);
    std::vector<std::vector<std::string>> got;
    std::string block;
    while (reader.next_block(block, error)) {
      ASSERT_EQ(block.back(), '\n');
      std::istringstream lines(block);
      std::string line;
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        model::split_csv_line(line, cells);
        got.emplace_back(cells.begin(), cells.end());
      }
    }
    ::close(fd);
    EXPECT_TRUE(error.empty()) << error;
    EXPECT_EQ(got, want) << "block_bytes " << block_bytes;
  }
}

TEST(CsvBlockReader, ALineWithoutEndIsBounded) {
  const std::string path = write_temp("long.csv", "a,b\n" + std::string(model::kMaxCsvLineBytes + 10, '1'));
  const int fd = ::open(path.c_str(), O_RDONLY);
  model::CsvBlockReader reader(fd, 4096);
  std::vector<std::string> header;
  std::string error, block;
  ASSERT_TRUE(reader.read_header(header, error));
  EXPECT_FALSE(reader.next_block(block, error));
  EXPECT_TRUE(reader.line_too_long());
  EXPECT_NE(error.find("longer than"), std::string::npos) << error;
  ::close(fd);
}

struct TableScoring : ::testing::Test {
  static void SetUpTestSuite() {
    const auto rows = testing::make_rows(3000, kFeatures, 51, 0.1);
    std::vector<std::string> names;
    for (size_t i = 0; i < kFeatures; ++i) names.push_back(fmt::format("f{}", i));
    const testing::TrainSpec spec{"multi:softprob", 4, 6, 20};
    booster = new testing::XgbBooster(rows, testing::make_labels(rows, kFeatures, spec, 52), kFeatures, spec, names);
    booster->save_json(testing::temp_dir() + "/table.json");
    std::string error;
    model = CompiledModel::from_xgboost_json(testing::temp_dir() + "/table.json", error);
    ASSERT_TRUE(model) << error;
    // 20,000 rows, the features in another order, an id and a label column.
    table_rows = testing::make_rows(kRows, kFeatures, 53, 0.1);
    std::string text = "id,f3,f1,label,f0,f4,f2\n";
    const size_t order[] = {3, 1, 0, 4, 2};
    for (size_t r = 0; r < kRows; ++r) {
      text += fmt::format("id{}", r);
      for (size_t j = 0; j < 5; ++j) {
        if (j == 2) text += r % 2 ? ",attack" : ",benign";
        const float v = table_rows[r * kFeatures + order[j]];
        text += std::isnan(v) ? std::string(",") : fmt::format(",{:.9g}", v);
      }
      text += "\n";
    }
    table_path = write_temp("big.csv", text);
  }
  static void TearDownTestSuite() { delete booster; }

  static model::TableLayout layout(std::vector<size_t> kept) {
    model::TableLayout l;
    l.columns = 7;
    l.feature_of_column = {-1, 3, 1, -1, 0, 4, 2};
    l.kept_columns = std::move(kept);
    l.feature_names = model->feature_names();
    return l;
  }
  // score_table's output at this block size, as text.
  static std::string score(const std::string& path, size_t block_bytes, const model::TableLayout& l, bool margin,
                           model::TableScoringResult& result) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    model::CsvBlockReader reader(fd, block_bytes);
    std::vector<std::string> header;
    std::string error;
    EXPECT_TRUE(reader.read_header(header, error)) << error;
    char* buffer = nullptr;
    size_t size = 0;
    std::FILE* out = open_memstream(&buffer, &size);
    result = model::score_table(*model, reader, l, margin, out);
    std::fclose(out);
    ::close(fd);
    std::string text(buffer, size);
    std::free(buffer);
    return text;
  }

  static constexpr size_t kFeatures = 5, kRows = 20000;
  inline static testing::XgbBooster* booster = nullptr;
  inline static std::shared_ptr<const CompiledModel> model;
  inline static std::vector<float> table_rows;
  inline static std::string table_path;
};

// Every block size gives XGBoost's values, in input order, with the kept
// cells ahead of them.
TEST_F(TableScoring, EqualsXgboostInInputOrderAtEveryBlockSize) {
  for (bool margin : {false, true}) {
    const std::vector<float> want = booster->predict(table_rows.data(), kRows, kFeatures, margin ? 1 : 0);
    for (size_t block_bytes : {13, 333, 65536, 4 << 20}) {
      model::TableScoringResult result;
      const std::string text = score(table_path, block_bytes, layout({0, 3}), margin, result);
      ASSERT_EQ(result.status, model::TableScoringResult::Status::kOk) << result.error;
      EXPECT_EQ(result.rows, kRows);
      std::istringstream lines(text);
      std::string line;
      size_t r = 0, differing = 0;
      for (; std::getline(lines, line); ++r) {
        std::vector<std::string_view> cells;
        model::split_csv_line(line, cells);
        ASSERT_EQ(cells.size(), 2 + 4u) << line;
        EXPECT_EQ(cells[0], fmt::format("id{}", r));
        EXPECT_EQ(cells[1], r % 2 ? "attack" : "benign");
        for (size_t g = 0; g < 4; ++g) {
          const float got = std::strtof(std::string(cells[2 + g]).c_str(), nullptr);
          differing += std::memcmp(&got, &want[r * 4 + g], sizeof got) != 0;
        }
      }
      EXPECT_EQ(r, kRows);
      EXPECT_EQ(differing, 0u) << "block_bytes " << block_bytes << " margin " << margin;
    }
  }
}

// A bad cell deep in the file is named by its line, whichever block it fell
// in, and every row before it is written.
TEST_F(TableScoring, FirstBadRowIsNamedByLineAcrossBlocks) {
  std::ifstream in(table_path);
  std::stringstream copy;
  copy << in.rdbuf();
  std::string text = copy.str();
  // Line 12,346 (the header is line 1): its f3 cell gets an "x9" prefix.
  size_t pos = 0;
  for (int line = 1; line < 12346; ++line) pos = text.find('\n', pos) + 1;
  text.insert(text.find(',', pos) + 1, "x9");
  // and line 15,000 loses a cell: the first error is the one reported.
  pos = 0;
  for (int line = 1; line < 15000; ++line) pos = text.find('\n', pos) + 1;
  text.erase(pos, text.find(',', pos) + 1 - pos);
  const std::string path = write_temp("bad_big.csv", text);
  for (size_t block_bytes : {13, 4096, 4 << 20}) {
    model::TableScoringResult result;
    const std::string out = score(path, block_bytes, layout({}), false, result);
    EXPECT_EQ(result.status, model::TableScoringResult::Status::kBadInput);
    EXPECT_EQ(result.error.substr(0, 28), "line 12346, column 'f3': 'x9") << result.error;
    EXPECT_EQ(result.rows, 12344u);
    EXPECT_EQ(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')), 12344u);
  }
}

int run_cli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return run_predict_command(static_cast<int>(argv.size()), argv.data());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --keep names the columns copied; --keep-other copies all the model does
// not read; the header is a CSV row of names either way.
TEST_F(TableScoring, KeptColumnsLeadTheScoresUnderTheirNames) {
  const std::string model_path = testing::temp_dir() + "/table.json", out = testing::temp_dir() + "/kept.csv";
  ASSERT_EQ(run_cli({"predict", "--model", model_path, "--in", table_path, "--out", out, "--keep", "label,id"}), 0);
  std::string text = read_file(out);
  EXPECT_EQ(text.substr(0, text.find('\n')), "label,id,class_0,class_1,class_2,class_3");
  EXPECT_EQ(text.substr(text.find('\n') + 1, 12), "benign,id0,0");
  ASSERT_EQ(run_cli({"predict", "--model", model_path, "--in", table_path, "--out", out, "--keep-other"}), 0);
  text = read_file(out);
  EXPECT_EQ(text.substr(0, text.find('\n')), "id,label,class_0,class_1,class_2,class_3");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"predict", "--model", model_path, "--in", table_path, "--out", out, "--keep", "id,nope"}), 2);
  EXPECT_EQ(run_cli({"predict", "--model", model_path, "--in", table_path, "--out", out, "--keep", "id,id"}), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("no column 'nope'"), std::string::npos) << err;
  EXPECT_NE(err.find("'id' is named twice"), std::string::npos) << err;
}

// "-" reads standard input (a pipe: short reads) and writes standard output.
TEST_F(TableScoring, StandardInputAndOutput) {
  const std::string model_path = testing::temp_dir() + "/table.json", file_out = testing::temp_dir() + "/file.csv";
  ASSERT_EQ(run_cli({"predict", "--model", model_path, "--in", table_path, "--out", file_out}), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const std::string input = read_file(table_path);
  std::thread feeder([&] {
    for (size_t at = 0; at < input.size();) at += ::write(pipe_fds[1], input.data() + at, std::min<size_t>(4000, input.size() - at));
    ::close(pipe_fds[1]);
  });
  const int saved_stdin = ::dup(STDIN_FILENO);
  ::dup2(pipe_fds[0], STDIN_FILENO);
  ::close(pipe_fds[0]);
  ::testing::internal::CaptureStdout();
  const int status = run_cli({"predict", "--model", model_path, "--in", "-", "--out", "-"});
  const std::string piped = ::testing::internal::GetCapturedStdout();
  feeder.join();
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(piped, read_file(file_out));
}

}  // namespace
}  // namespace flowscore
