// Reads EVE files, plain or gzip-compressed (logrotate's compress), line by
// line into a ReportBuilder: zlib's gzread takes both, in 256 KiB blocks with
// simdjson's padding after each, so lines are parsed where they lie.
#pragma once
#include <string>

#include "report_builder.hpp"

namespace flowscore::report {

struct ReadResult {
  bool opened = false;     // false: error says why; nothing was read
  bool complete = true;    // false: a read error or a cut gzip stream ended it early
  std::string error;
};

// "-" is standard input. Lines longer than 64 MiB are counted as unparsed.
ReadResult read_eve_file(const std::string& path, ReportBuilder& builder);

}  // namespace flowscore::report
