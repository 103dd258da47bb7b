// `flowscore compile` and `flowscore predict` end to end: a CSV table in,
// scores out, compared bit-for-bit with XGBoost on the same rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "flowscore/model_cli.hpp"
#include "xgboost_reference.hpp"

namespace flowscore {
namespace {

using testing::TrainSpec;
constexpr size_t kFeatures = 6;

int run(int (*command)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return command(static_cast<int>(argv.size()), argv.data());
}

// Score lines after predict's header line of column names, which goes to
// `header`.
std::vector<float> read_scores(const std::string& path, size_t& lines, std::string* header = nullptr) {
  std::ifstream in(path);
  std::vector<float> values;
  std::string line;
  lines = 0;
  if (!std::getline(in, line)) ADD_FAILURE() << path << ": no header line";
  if (header) *header = line;
  while (std::getline(in, line)) {
    ++lines;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) values.push_back(std::strtof(cell.c_str(), nullptr));
  }
  return values;
}

struct CliFixture : ::testing::Test {
  static void SetUpTestSuite() {
    const auto rows = testing::make_rows(2000, kFeatures, 31, 0.1);
    for (size_t i = 0; i < kFeatures; ++i) names.push_back("col" + std::to_string(i));
    xgb = new testing::XgbBooster(rows, testing::make_labels(rows, kFeatures, spec, 32), kFeatures, spec, names);
    xgb->save_json(dir() + "/cli.json");
  }
  static void TearDownTestSuite() { delete xgb; }
  static std::string dir() { return testing::temp_dir(); }

  inline static TrainSpec spec{"multi:softprob", 3, 5, 10};
  inline static std::vector<std::string> names;
  inline static testing::XgbBooster* xgb = nullptr;
};

TEST_F(CliFixture, CompileThenPredictMatchesXgboostBitForBit) {
  ASSERT_EQ(run(run_compile_command, {"compile", dir() + "/cli.json", "-o", dir() + "/cli.fsm", "--name", "cli",
                                      "--class-names", "benign,scan,dos"}),
            0);
  // Columns in another order, with extra ones, CRLF line ends, and every
  // spelling of "missing".
  auto rows = testing::make_rows(3000, kFeatures, 33, 0.1);
  rows[5] = INFINITY;
  rows[7] = -INFINITY;
  rows[8] = 3e9f;
  std::ofstream csv(dir() + "/table.csv", std::ios::binary);
  csv << "flow_id,col3,col1,label,col0,col5,col2,col4\r\n";
  const size_t order[] = {3, 1, 0, 5, 2, 4};
  for (size_t r = 0; r < 3000; ++r) {
    csv << "id" << r;
    for (size_t j = 0; j < kFeatures; ++j) {
      if (j == 2) csv << ",x";
      const float v = rows[r * kFeatures + order[j]];
      char text[32] = "";
      if (std::isnan(v))
        std::snprintf(text, sizeof text, "%s", r % 3 == 0 ? "" : r % 3 == 1 ? "nan" : "NaN");
      else
        std::snprintf(text, sizeof text, "%.9g", v);
      csv << ',' << text;
    }
    csv << "\r\n";
  }
  csv.close();

  for (bool margin : {false, true}) {
    std::vector<std::string> args{"predict", "--model", dir() + "/cli.fsm", "--in", dir() + "/table.csv", "--out",
                                  dir() + "/scores.csv"};
    if (margin) args.push_back("--margin");
    ASSERT_EQ(run(run_predict_command, args), 0);
    size_t lines = 0;
    std::string header;
    const std::vector<float> got = read_scores(dir() + "/scores.csv", lines, &header);
    const std::vector<float> want = xgb->predict(rows.data(), 3000, kFeatures, margin ? 1 : 0);
    EXPECT_EQ(header, "benign,scan,dos");  // a CSV row of names, no "# "
    EXPECT_EQ(lines, 3000u);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "margin=" << margin;
  }
}

TEST_F(CliFixture, PredictAcceptsTheJsonModelDirectly) {
  std::ofstream(dir() + "/small.csv") << "col0,col1,col2,col3,col4,col5\n1,2,3,4,5,6\n";
  ASSERT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/small.csv",
                                      "--out", dir() + "/small_scores.csv"}),
            0);
  const float row[kFeatures] = {1, 2, 3, 4, 5, 6};
  size_t lines = 0;
  std::string header;
  const std::vector<float> got = read_scores(dir() + "/small_scores.csv", lines, &header);
  const std::vector<float> want = xgb->predict(row, 1, kFeatures, 0);
  EXPECT_EQ(header, "class_0,class_1,class_2");  // no class names in the model
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
}

TEST_F(CliFixture, MissingColumnIsNamed) {
  std::ofstream(dir() + "/partial.csv") << "col0,col1,col2,col4,col5\n1,2,3,4,5\n";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/partial.csv",
                                      "--out", dir() + "/partial_scores.csv"}),
            2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("col3"), std::string::npos) << err;
}

TEST_F(CliFixture, BadCellsAndRaggedRowsAreNamed) {
  std::ofstream(dir() + "/bad.csv") << "col0,col1,col2,col3,col4,col5\n1,2,3,4,5,6\n1,2,abc,4,5,6\n";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/bad.csv",
                                      "--out", dir() + "/bad_scores.csv"}),
            2);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("line 3, column 'col2': 'abc'"), std::string::npos) << err;

  std::ofstream(dir() + "/ragged.csv") << "col0,col1,col2,col3,col4,col5\n1,2,3,4,5\n";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/ragged.csv",
                                      "--out", dir() + "/ragged_scores.csv"}),
            2);
  err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("line 2 has 5 cells"), std::string::npos) << err;
}

TEST_F(CliFixture, UsageAndHelp) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run(run_compile_command, {"compile", "--help"}), 0);
  EXPECT_EQ(run(run_predict_command, {"predict", "--help"}), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("usage: flowscore predict"), std::string::npos);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(run_compile_command, {"compile", dir() + "/cli.json"}), 2);  // no -o
  EXPECT_EQ(run(run_predict_command, {"predict", "--model"}), 2);
  ::testing::internal::GetCapturedStderr();
}

// As `flowscore --help` says for every command: 2 for bad input, 1 for a
// failure while running.
TEST_F(CliFixture, ExitStatusSaysBadInputOrFailure) {
  std::ofstream(dir() + "/invalid.json") << "{\"learner\": ";
  std::ofstream(dir() + "/ok.csv") << "col0,col1,col2,col3,col4,col5\n1,2,3,4,5,6\n";
  const std::string nowhere = dir() + "/no/such/dir/out";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(run_compile_command, {"compile", dir() + "/cli.json", "-o", dir() + "/x.fsm", "--class-names", "a,b"}),
            2);  // 2 names for 3 classes
  EXPECT_EQ(run(run_compile_command, {"compile", dir() + "/invalid.json", "-o", dir() + "/x.fsm"}), 2);
  EXPECT_EQ(run(run_compile_command, {"compile", dir() + "/absent.json", "-o", dir() + "/x.fsm"}), 2);
  EXPECT_EQ(run(run_compile_command, {"compile", dir() + "/cli.json", "-o", nowhere}), 1);
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/invalid.json", "--in", dir() + "/ok.csv",
                                      "--out", dir() + "/x.csv"}),
            2);
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/absent.csv",
                                      "--out", dir() + "/x.csv"}),
            2);
  EXPECT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/cli.json", "--in", dir() + "/ok.csv",
                                      "--out", nowhere}),
            1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("2 class names given, the model has 3 classes"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
}

// The header names each column: a binary model's one column is class 1's.
TEST_F(CliFixture, BinaryModelHeaderNamesClassOne) {
  const TrainSpec binary{"binary:logistic", 0, 3, 4};
  const auto rows = testing::make_rows(500, kFeatures, 41, 0.1);
  testing::XgbBooster booster(rows, testing::make_labels(rows, kFeatures, binary, 42), kFeatures, binary, names);
  booster.save_json(dir() + "/binary.json");
  std::ofstream(dir() + "/one.csv") << "col0,col1,col2,col3,col4,col5\n1,2,3,4,5,6\n";
  ASSERT_EQ(run(run_compile_command, {"compile", dir() + "/binary.json", "-o", dir() + "/binary.fsm", "--class-names",
                                      "benign,attack"}),
            0);
  ASSERT_EQ(run(run_predict_command, {"predict", "--model", dir() + "/binary.fsm", "--in", dir() + "/one.csv",
                                      "--out", dir() + "/binary_scores.csv", "--margin"}),
            0);
  size_t lines = 0;
  std::string header;
  EXPECT_EQ(read_scores(dir() + "/binary_scores.csv", lines, &header).size(), 1u);
  EXPECT_EQ(header, "attack");
}

}  // namespace
}  // namespace flowscore
