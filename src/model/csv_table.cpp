#include "csv_table.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace flowscore::model {

// Reads the next non-blank line into line_, stopping at kMaxCsvLineBytes so a
// file without newlines cannot take unbounded memory.
bool CsvTableReader::next_line() {
  std::streambuf* in = in_.rdbuf();
  while (true) {
    line_.clear();
    int c = 0;
    while ((c = in->sbumpc()) != std::char_traits<char>::eof() && c != '\n') {
      if (line_.size() == kMaxCsvLineBytes) {
        too_long_ = true;
        return false;
      }
      line_ += static_cast<char>(c);
    }
    if (c == std::char_traits<char>::eof() && line_.empty()) return false;
    ++line_number_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!line_.empty()) return true;
  }
}

bool CsvTableReader::open(const std::string& path, std::string& error) {
  in_.open(path, std::ios::binary);
  if (!in_) {
    error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return false;
  }
  if (!next_line()) {
    error = too_long_ ? fmt::format("'{}': header line is longer than {} bytes", path, kMaxCsvLineBytes)
                      : fmt::format("'{}' is empty: expected a header row of feature names", path);
    return false;
  }
  std::vector<std::string_view> cells;
  split_csv_line(line_, cells);
  header_.assign(cells.begin(), cells.end());
  return true;
}

bool CsvTableReader::next_row(std::vector<std::string_view>& cells, std::string& error) {
  if (!next_line()) {
    if (too_long_) error = fmt::format("line {} is longer than {} bytes", line_number_ + 1, kMaxCsvLineBytes);
    return false;
  }
  split_csv_line(line_, cells);
  if (cells.size() != header_.size()) {
    error = fmt::format("line {} has {} cells, the header has {}", line_number_, cells.size(), header_.size());
    return false;
  }
  return true;
}

}  // namespace flowscore::model
