// Reading EVE files: a plain file is mapped window by window, a gzip file
// streamed through zlib. The two must hand the builder the same lines, at a
// file's edges too (no final newline, a line that ends at a page boundary,
// nothing at all, a line longer than a window), and a file that shrinks or
// grows while it is mapped must neither crash nor lose what was read.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../../src/report/eve_files.hpp"

namespace flowscore::report {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("flowscore-eve-files-{}-{}", getpid(), name)).string();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile out = gzopen(path.c_str(), "wb1");
  ASSERT_NE(out, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())), int(bytes.size()));
  }
  gzclose(out);
}

std::string flow_line(int i) {
  return fmt::format(
      R"({{"timestamp":"2024-04-14T07:{:02}:12.931971+0000","event_type":"flow","src_ip":"10.0.{}.{}",)"
      R"("dest_ip":"10.1.0.1","proto":"TCP","flow":{{"pkts_toserver":{},"bytes_toserver":{}}}}})",
      i % 60, i % 7, i % 251, i + 1, 60 * (i + 1));
}

// The summary of one input, without its name (the two files' names differ).
nlohmann::json summary_of(const std::string& path) {
  ReportBuilder builder({});
  const ReadResult r = read_eve_file(path, builder);
  EXPECT_TRUE(r.opened && r.complete) << path << ": " << r.error;
  nlohmann::json s = builder.summary();
  s["inputs"][0].erase("name");
  return s;
}

void expect_mapped_as_streamed(const std::string& bytes, const std::string& what) {
  const std::string plain = temp_path("plain.json"), gz = temp_path("stream.json.gz");
  write_file(plain, bytes);
  write_gzip(gz, bytes);
  EXPECT_EQ(summary_of(plain), summary_of(gz)) << what;
  std::remove(plain.c_str());
  std::remove(gz.c_str());
}

TEST(EveFiles, MappedAndStreamedReadTheSameLines) {
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += flow_line(i) + "\n";
  expect_mapped_as_streamed(lines, "lines ending in a newline");
  expect_mapped_as_streamed(lines + flow_line(200), "a last line without a newline");
  expect_mapped_as_streamed(lines + "{\"timestamp\":", "a last line cut short");
  expect_mapped_as_streamed("", "an empty file");
  expect_mapped_as_streamed("\n\n\r\n", "only line ends");
  expect_mapped_as_streamed(lines + "not json\n\n" + lines, "a line that is not an event");
  // A last line that ends where a page does leaves no bytes after it in the
  // mapping for simdjson's padding: it is copied.
  const long page = sysconf(_SC_PAGESIZE);
  std::string filler = lines.substr(0, static_cast<size_t>(page));
  filler.resize(static_cast<size_t>(page) - flow_line(7).size() - 1, ' ');
  expect_mapped_as_streamed(filler + "\n" + flow_line(7), "a line ending at a page's end");
  expect_mapped_as_streamed(filler + flow_line(7) + "\n", "a newline ending at a page's end");
}

// Longer than the 4 MiB window: the window doubles until the line fits.
TEST(EveFiles, ALineLongerThanAWindowIsReadWhole) {
  const std::string path = temp_path("long.json");
  const std::string long_line(size_t{9} << 20, 'x');
  write_file(path, flow_line(1) + "\n" + long_line + "\n" + flow_line(2) + "\n");
  std::vector<std::string> seen;
  const ReadResult r = read_mapped_lines(path, [&](std::string_view line) { seen.emplace_back(line); });
  EXPECT_TRUE(r.opened && r.complete) << r.error;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], flow_line(1));
  EXPECT_TRUE(seen[1] == long_line);  // not EXPECT_EQ: a failure would print 9 MiB
  EXPECT_EQ(seen[2], flow_line(2));
  std::remove(path.c_str());
}

TEST(EveFiles, AFileThatShrinksWhileReadIsCutShortThere) {
  const std::string path = temp_path("shrinks.json");
  std::string lines;
  for (int i = 0; i < 100; ++i) lines += flow_line(i) + "\n";  // a few pages
  write_file(path, lines);
  std::vector<std::string> seen;
  const ReadResult r = read_mapped_lines(path, [&](std::string_view line) {
    seen.emplace_back(line);
    if (seen.size() == 1) {
      ASSERT_EQ(truncate(path.c_str(), 0), 0);  // logrotate's copytruncate
    }
  });
  EXPECT_TRUE(r.opened);
  EXPECT_FALSE(r.complete);
  EXPECT_NE(r.error.find("shrank"), std::string::npos) << r.error;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], flow_line(0));
  std::remove(path.c_str());
}

TEST(EveFiles, AFileThatGrowsWhileReadIsReadOn) {
  const std::string path = temp_path("grows.json");
  write_file(path, flow_line(0) + "\n" + flow_line(1) + "\n");
  std::vector<std::string> seen;
  const ReadResult r = read_mapped_lines(path, [&](std::string_view line) {
    seen.emplace_back(line);
    if (seen.size() == 1) std::ofstream(path, std::ios::binary | std::ios::app) << flow_line(2) << "\n";
  });
  EXPECT_TRUE(r.opened && r.complete) << r.error;
  EXPECT_EQ(seen, (std::vector<std::string>{flow_line(0), flow_line(1), flow_line(2)}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace flowscore::report
