// libFuzzer target: `flowscore report`'s reading of EVE lines (simdjson, the
// time parser, the bounded aggregation). Any bytes, split at newlines, must
// be counted as events or as unparsed lines, never crash, and leave a
// summary whose series stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../src/report/report_builder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flowscore::report::ReportBuilder builder({.top = 5});
  builder.begin_input("fuzz.json");
  // Each line copied into its own buffer with simdjson's padding after it,
  // as eve_files.cpp leaves one after every block.
  size_t lines = 0;
  for (size_t start = 0; start < size;) {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(data + start, '\n', size - start));
    const size_t end = nl ? static_cast<size_t>(nl - data) : size;
    std::vector<char> line(end - start + simdjson::SIMDJSON_PADDING, 0);
    std::memcpy(line.data(), data + start, end - start);
    builder.add_line(line.data(), end - start, line.size());
    ++lines;
    start = end + 1;
  }
  if (builder.lines() != lines || builder.unparsed() > lines) std::abort();
  const nlohmann::json summary = builder.summary();
  if (summary["series"]["start"].size() > flowscore::report::ReportBuilder::kMaxBins) std::abort();
  if (summary["totals"]["lines"].get<uint64_t>() != lines) std::abort();
  (void)summary.dump();
  // The time parser on the raw bytes: a time or nothing, never a fault.
  (void)flowscore::report::parse_eve_time(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
