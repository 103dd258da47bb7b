// Reads EVE files, plain or gzip-compressed (logrotate's compress), line by
// line into a ReportBuilder, in 256 KiB blocks with simdjson's padding after
// each, so lines are parsed where they lie in the block: a plain file with
// read(), gzip files and standard input through zlib's gzread.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "report_builder.hpp"

namespace flowscore::report {

struct ReadResult {
  bool opened = false;     // false: error says why; nothing was read
  bool complete = true;    // false: a read error, a cut gzip stream or a shrunk file ended it early
  std::string error;
};

// "-" is standard input. Lines longer than 64 MiB are counted as unparsed.
// A plain file that shrinks while it is read (logrotate's copytruncate) is
// read up to there and marked cut short; one that grows is read on.
ReadResult read_eve_file(const std::string& path, ReportBuilder& builder);

// For tests: read_eve_file's reading of a plain file, in blocks of
// block_bytes and with lines longer than max_line_bytes skipped (handed over
// empty), each line handed to on_line, so a test can put a line across a
// block's edge and change the file between two lines.
ReadResult read_plain_lines(const std::string& path, const std::function<void(std::string_view)>& on_line,
                            size_t block_bytes, size_t max_line_bytes);

}  // namespace flowscore::report
