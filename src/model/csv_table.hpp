// Minimal line-at-a-time reader for the feature tables `flowscore extract`
// writes: a header row of column names, then one row of comma-separated
// cells per flow. The same cell rules as CsvBlockReader (csv_blocks.hpp),
// read the plain way: the serial twin the block reader is tested against,
// and what the benchmarks use to load tables.
#pragma once
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "csv_blocks.hpp"

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

}  // namespace flowscore::model
