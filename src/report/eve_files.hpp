// Reads EVE files, plain or gzip-compressed (logrotate's compress), line by
// line into a ReportBuilder, each line with simdjson's padding after it. A
// plain file is mapped, 4 MiB at a time, and its lines parsed where they
// lie in the page cache; gzip files and standard input go through zlib's
// gzread in 256 KiB blocks.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "report_builder.hpp"

namespace flowscore::report {

struct ReadResult {
  bool opened = false;     // false: error says why; nothing was read
  bool complete = true;    // false: a read error or a cut gzip stream ended it early
  std::string error;
};

// "-" is standard input. Lines longer than 64 MiB are counted as unparsed.
// A plain file that shrinks while it is read (logrotate's copytruncate) is
// read up to there and marked cut short.
ReadResult read_eve_file(const std::string& path, ReportBuilder& builder);

// For tests: read_eve_file's reading of a plain file, each line handed to
// on_line (empty for a line too long to keep), so a test can change the file
// between two lines.
ReadResult read_mapped_lines(const std::string& path, const std::function<void(std::string_view)>& on_line);

}  // namespace flowscore::report
