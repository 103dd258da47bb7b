#include "csv_blocks.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace flowscore::model {

void split_csv_line(std::string_view line, std::vector<std::string_view>& cells) {
  cells.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

bool parse_feature_cell(std::string_view cell, float& value) {
  if (cell.empty() || (cell.size() == 3 && (cell[0] | 0x20) == 'n' && (cell[1] | 0x20) == 'a' &&
                       (cell[2] | 0x20) == 'n')) {
    value = std::numeric_limits<float>::quiet_NaN();
    return true;
  }
  char buffer[64];
  if (cell.size() >= sizeof buffer) return false;
  // Fast path: what from_chars takes whole, it rounds correctly, as strtof
  // does; "nan(...)" parses but is refused like strtof's NaN below.
  const auto [end, status] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (status == std::errc() && end == cell.data() + cell.size()) return !std::isnan(value);
  std::memcpy(buffer, cell.data(), cell.size());
  buffer[cell.size()] = '\0';
  char* strtof_end = nullptr;
  value = std::strtof(buffer, &strtof_end);
  // Underflow still yields the correctly rounded (sub)normal or 0; overflow
  // gives ±inf, which is what the float32 value is.
  return strtof_end == buffer + cell.size() && !std::isspace(static_cast<unsigned char>(buffer[0])) &&
         !std::isnan(value);
}

// Reads until `bytes` more are in buffer or the input ends (a pipe returns
// less per read()).
size_t CsvBlockReader::fill(std::string& buffer, size_t bytes, std::string& error) {
  const size_t old_size = buffer.size();
  buffer.resize(old_size + bytes);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::read(fd_, buffer.data() + old_size + got, bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fmt::format("read error: {}", std::strerror(errno));
      got = 0;
      break;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buffer.resize(old_size + got);
  return got;
}

bool CsvBlockReader::read_header(std::vector<std::string>& header, std::string& error) {
  while (true) {
    const size_t newline = carry_.find('\n');
    if (newline == std::string::npos && !at_end_) {
      if (carry_.size() > kMaxCsvLineBytes) {
        error = fmt::format("header line is longer than {} bytes", kMaxCsvLineBytes);
        return false;
      }
      if (fill(carry_, 64 << 10, error) == 0) {
        if (!error.empty()) return false;
        at_end_ = true;
      }
      continue;
    }
    std::string_view line(carry_.data(), newline == std::string::npos ? carry_.size() : newline);
    if (line.size() > kMaxCsvLineBytes) {
      error = fmt::format("header line is longer than {} bytes", kMaxCsvLineBytes);
      return false;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (newline == std::string::npos && line.empty()) {
      error = "empty: expected a header row of feature names";
      return false;
    }
    ++header_line_;
    if (!line.empty()) {
      std::vector<std::string_view> cells;
      split_csv_line(line, cells);
      header.assign(cells.begin(), cells.end());
    }
    carry_.erase(0, newline == std::string::npos ? carry_.size() : newline + 1);
    if (!line.empty()) return true;
  }
}

bool CsvBlockReader::next_block(std::string& block, std::string& error) {
  block.swap(carry_);
  carry_.clear();
  while (!at_end_) {
    const size_t scanned = block.size();
    if (fill(block, block_bytes_, error) == 0) {
      if (!error.empty()) return false;
      at_end_ = true;
      break;
    }
    const void* last = memrchr(block.data() + scanned, '\n', block.size() - scanned);
    if (last) {
      const size_t cut = static_cast<const char*>(last) - block.data() + 1;
      carry_.assign(block, cut);
      block.resize(cut);
      return true;
    }
    // No line end in a whole block: one long line. Bounded, so a file
    // without newlines cannot take unbounded memory.
    if (block.size() > kMaxCsvLineBytes) {
      line_too_long_ = true;
      error = fmt::format("is longer than {} bytes", kMaxCsvLineBytes);
      return false;
    }
  }
  if (block.empty()) return false;
  if (block.back() != '\n') block.push_back('\n');
  return true;
}

}  // namespace flowscore::model
