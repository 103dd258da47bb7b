#include "csv_table.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace flowscore::model {
namespace {

// A line longer than this is not a feature table (64k features of 16 chars).
constexpr size_t kMaxLineBytes = size_t{1} << 20;

void split(std::string_view line, std::vector<std::string_view>& cells) {
  cells.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

}  // namespace

// Reads the next non-blank line into line_, stopping at kMaxLineBytes so a
// file without newlines cannot take unbounded memory.
bool CsvTableReader::next_line() {
  std::streambuf* in = in_.rdbuf();
  while (true) {
    line_.clear();
    int c = 0;
    while ((c = in->sbumpc()) != std::char_traits<char>::eof() && c != '\n') {
      if (line_.size() == kMaxLineBytes) {
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
    error = too_long_ ? fmt::format("'{}': header line is longer than {} bytes", path, kMaxLineBytes)
                      : fmt::format("'{}' is empty: expected a header row of feature names", path);
    return false;
  }
  std::vector<std::string_view> cells;
  split(line_, cells);
  header_.assign(cells.begin(), cells.end());
  return true;
}

bool CsvTableReader::next_row(std::vector<std::string_view>& cells, std::string& error) {
  if (!next_line()) {
    if (too_long_) error = fmt::format("line {} is longer than {} bytes", line_number_ + 1, kMaxLineBytes);
    return false;
  }
  split(line_, cells);
  if (cells.size() != header_.size()) {
    error = fmt::format("line {} has {} cells, the header has {}", line_number_, cells.size(), header_.size());
    return false;
  }
  return true;
}

bool parse_feature_cell(std::string_view cell, float& value) {
  if (cell.empty() || (cell.size() == 3 && (cell[0] | 0x20) == 'n' && (cell[1] | 0x20) == 'a' &&
                       (cell[2] | 0x20) == 'n')) {
    value = std::numeric_limits<float>::quiet_NaN();
    return true;
  }
  char buffer[64];
  if (cell.size() >= sizeof buffer) return false;
  std::memcpy(buffer, cell.data(), cell.size());
  buffer[cell.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  value = std::strtof(buffer, &end);
  // ERANGE on underflow still yields the correctly rounded (sub)normal or 0;
  // on overflow strtof returns ±inf, which is what the float32 value is.
  return end == buffer + cell.size() && !std::isspace(static_cast<unsigned char>(buffer[0])) &&
         !std::isnan(value);
}

}  // namespace flowscore::model
