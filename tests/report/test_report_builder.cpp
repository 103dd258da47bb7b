// ReportBuilder's bounded time series: when the span outgrows kMaxBins the
// interval doubles and every event stays counted in the right interval.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "../../src/report/report_builder.hpp"

namespace flowscore::report {
namespace {

void add_flow_event(ReportBuilder& b, const std::string& timestamp) {
  const std::string line = fmt::format(
      R"({{"timestamp":"{}","event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"UDP",)"
      R"("flow":{{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":60,"bytes_toclient":0}}}})",
      timestamp);
  std::vector<char> padded(line.begin(), line.end());
  padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
  b.add_line(padded.data(), line.size(), padded.size());
}

uint64_t flows_in_series(const nlohmann::json& summary) {
  uint64_t n = 0;
  for (const auto& per_proto : summary["series"]["flows"])
    for (const auto& v : per_proto) n += v.get<uint64_t>();
  return n;
}

// Found by review: the bin cached for the last event pointed into the map
// that coarsening had just replaced, so an event whose coarser interval
// equalled the last one's old index went to freed memory.
TEST(ReportBuilder, CoarseningKeepsEveryEventInItsInterval) {
  ReportBuilder b({});
  for (const char* t : {"1970-01-01T00:00:00.000000+0000", "1970-01-01T00:25:00.000000+0000",
                        "1970-01-01T00:50:00.000000+0000"})  // 0 s, 1,500 s, 3,000 s
    add_flow_event(b, t);
  const nlohmann::json s = b.summary();
  EXPECT_EQ(s["totals"]["flows"], 3);
  EXPECT_EQ(flows_in_series(s), 3u);
  EXPECT_EQ(s["series"]["bin_seconds"], 2.0);
  EXPECT_LE(s["series"]["start"].size(), ReportBuilder::kMaxBins);
}

TEST(ReportBuilder, AWeekOfEventsFitsTheBoundAndCountsAll) {
  ReportBuilder b({});
  uint64_t added = 0;
  for (int day = 0; day < 7; ++day)
    for (int hour = 0; hour < 24; hour += 5, ++added)
      add_flow_event(b, fmt::format("2024-04-{:02}T{:02}:17:03.250000+0000", 8 + day, hour));
  const nlohmann::json s = b.summary();
  EXPECT_EQ(flows_in_series(s), added);
  EXPECT_LE(s["series"]["start"].size(), ReportBuilder::kMaxBins);
  EXPECT_EQ(s["series"]["bin_seconds"], 512.0);  // 2^9 s: the first power of two that spans a week in 2,048 bins
}

TEST(ReportBuilder, EveTimesParseToTheSecondsTheyName) {
  EXPECT_EQ(parse_eve_time("1970-01-01T00:00:00.000000+0000"), 0.0);
  EXPECT_EQ(parse_eve_time("2024-02-29T12:00:00Z"), 1709208000.0);
  EXPECT_EQ(parse_eve_time("2024-02-29T14:00:00+02:00"), 1709208000.0);
  EXPECT_DOUBLE_EQ(*parse_eve_time("2024-02-29T12:00:00.5+0000"), 1709208000.5);
  EXPECT_FALSE(parse_eve_time("yesterday"));
  EXPECT_FALSE(parse_eve_time("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_eve_time("2024-02-29T12:00:00+0000 trailing"));
}

// EveClock skips the date when the minute is the last one's: it must give
// what parse_eve_time gives for every time in a row, good or bad, the same
// minute or not.
TEST(ReportBuilder, EveClockReadsTimesAsParseEveTimeDoes) {
  const char* times[] = {
      "2024-02-29T12:00:00.500000+0000", "2024-02-29T12:00:59.999999+0000", "2024-02-29T12:00:61+0000",
      "2024-02-29T12:00:00Z trailing",   "2024-02-29T12:00",                "2024-02-29T12:00:0",
      "2024-02-29T12:00:07-01:30",       "2024-02-29T12:01:00Z",            "2024-02-29T12:00:01Z",
      "2024-02-29 12:00:01Z",            "2024-02-29T12:60:00Z",            "2024-02-29T12:60:01Z",
      "2024-13-29T12:00:01Z",            "yesterday",                       "",
      "2024-02-29T12:00:02.25+0000",     "1970-01-01T00:00:00Z",            "1970-01-01T00:00:60.1Z",
  };
  EveClock clock;
  for (const char* t : times) EXPECT_EQ(clock.parse(t), parse_eve_time(t)) << t;
}

// The fraction's digits are weighed from a table now; the twin is the loop
// that divided its way there, and the seconds must be the same double.
TEST(ReportBuilder, FractionsAreTheSameDoublesAsDividingPerDigit) {
  uint64_t state = 12345;
  for (int n = 0; n < 2000; ++n) {
    std::string digits;
    const size_t length = n % 31;
    for (size_t i = 0; i < length; ++i) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      digits.push_back(static_cast<char>('0' + (state >> 33) % 10));
    }
    double fraction = 0, scale = 0.1;
    for (const char c : digits) {
      fraction += (c - '0') * scale;
      scale /= 10;
    }
    const std::string dot = length ? "." + digits : "";
    EXPECT_EQ(parse_eve_time("1970-01-01T00:00:00" + dot + "Z"), fraction) << digits;
    EXPECT_EQ(parse_eve_time("2024-02-29T12:00:00" + dot + "+0000"), 1709208000.0 + fraction) << digits;
  }
}

}  // namespace
}  // namespace flowscore::report
