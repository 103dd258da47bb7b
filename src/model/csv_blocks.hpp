// Reads a feature table (the CSV `flowscore extract` writes) in large blocks
// of whole lines, so that rows can be parsed in parallel: one read() of a few
// MiB, cut after its last newline, the tail carried into the next block.
// Works on files and pipes alike (no mmap).
//
// The cell rules are those of CsvTableReader (csv_table.hpp), the serial
// line-at-a-time reader kept as the obviously-correct twin: \n or \r\n line
// ends, blank lines skipped, no quoting, lines at most kMaxCsvLineBytes.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace flowscore::model {

// A line longer than this is not a feature table (64k features of 16 chars).
inline constexpr size_t kMaxCsvLineBytes = size_t{1} << 20;

class CsvBlockReader {
 public:
  // fd stays the caller's to close. block_bytes: the usual size of a block
  // (a block holds at least one whole line, so it may be larger).
  explicit CsvBlockReader(int fd, size_t block_bytes = size_t{4} << 20) : fd_(fd), block_bytes_(block_bytes) {}

  // The first non-blank line, split at commas. Its line number is
  // header_line(); data lines follow it.
  bool read_header(std::vector<std::string>& header, std::string& error);
  size_t header_line() const { return header_line_; }

  // The next run of whole lines (every line ends in '\n', one is added to a
  // last line without it). False at the end, or on error (error set).
  bool next_block(std::string& block, std::string& error);
  // next_block() failed on a line without an end in kMaxCsvLineBytes; its
  // error then reads "is longer than ..." for the caller to name the line.
  bool line_too_long() const { return line_too_long_; }

 private:
  // Appends up to `bytes` more from fd_ to buffer; 0 at end of input.
  size_t fill(std::string& buffer, size_t bytes, std::string& error);

  int fd_;
  size_t block_bytes_;
  std::string carry_;  // the start of a line the last block cut off
  size_t header_line_ = 0;
  bool at_end_ = false;
  bool line_too_long_ = false;
};

// Splits one line (without its line end) at commas.
void split_csv_line(std::string_view line, std::vector<std::string_view>& cells);

// A cell as a feature value: empty or "nan" (any case) is missing (NaN);
// otherwise the whole cell must be a number strtof accepts (incl. inf).
// std::from_chars (GCC 12: fast_float's algorithm) first; cells it does not
// take whole (hex, a leading '+', out of range) go to strtof, so the result
// is always strtof's.
bool parse_feature_cell(std::string_view cell, float& value);

}  // namespace flowscore::model
