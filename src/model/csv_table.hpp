// Minimal reader for the feature tables `flowscore extract` writes: a header
// row of column names, then one row of comma-separated cells per flow.
// Accepts \n and \r\n line ends and skips blank lines. No quoting: feature
// names and numbers never need it, and a quoted cell fails as "not a number"
// with its line and column named.
#pragma once
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace flowscore::model {

class CsvTableReader {
 public:
  // Opens the file and reads the header row.
  bool open(const std::string& path, std::string& error);
  const std::vector<std::string>& header() const { return header_; }
  // Next data row; false at end of file or on error (then error is set).
  // The views stay valid until the next call.
  bool next_row(std::vector<std::string_view>& cells, std::string& error);
  size_t line_number() const { return line_number_; }

 private:
  bool next_line();

  std::ifstream in_;
  std::string line_;
  std::vector<std::string> header_;
  size_t line_number_ = 0;
  bool too_long_ = false;
};

// A cell as a feature value: empty or "nan" (any case) is missing (NaN);
// otherwise the whole cell must be a number strtof accepts (incl. inf).
bool parse_feature_cell(std::string_view cell, float& value);

}  // namespace flowscore::model
