// Reading EVE files: a plain file is read() in blocks, a gzip file
// inflated through zlib, both split into lines by the same loop. The two
// must hand the builder the same lines at a file's edges (no final newline,
// nothing at all); lines must come out whole wherever a block's edge falls
// (at a line's end, inside a line, a line longer than many blocks, one too
// long to keep); and a file that shrinks or grows while it is read must
// neither crash nor lose what was read.
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

void expect_plain_as_gzip(const std::string& bytes, const std::string& what) {
  const std::string plain = temp_path("plain.json"), gz = temp_path("stream.json.gz");
  write_file(plain, bytes);
  write_gzip(gz, bytes);
  EXPECT_EQ(summary_of(plain), summary_of(gz)) << what;
  std::remove(plain.c_str());
  std::remove(gz.c_str());
}

// The lines of `bytes` as read_eve_file's plain reading hands them over,
// in blocks of block_bytes.
std::vector<std::string> plain_lines(const std::string& bytes, size_t block_bytes, size_t max_line_bytes = size_t{1} << 30) {
  const std::string path = temp_path("blocks.json");
  write_file(path, bytes);
  std::vector<std::string> seen;
  const ReadResult r =
      read_plain_lines(path, [&](std::string_view line) { seen.emplace_back(line); }, block_bytes, max_line_bytes);
  EXPECT_TRUE(r.opened && r.complete) << r.error;
  std::remove(path.c_str());
  return seen;
}

TEST(EveFiles, PlainAndGzipReadTheSameLines) {
  std::string lines;
  for (int i = 0; i < 200; ++i) lines += flow_line(i) + "\n";
  expect_plain_as_gzip(lines, "lines ending in a newline");
  expect_plain_as_gzip(lines + flow_line(200), "a last line without a newline");
  expect_plain_as_gzip(lines + "{\"timestamp\":", "a last line cut short");
  expect_plain_as_gzip("", "an empty file");
  expect_plain_as_gzip("\n\n\r\n", "only line ends");
  expect_plain_as_gzip(lines + "not json\n\n" + lines, "a line that is not an event");
  // Past one 256 KiB block: lines across the blocks' edges.
  std::string many;
  while (many.size() < (size_t{600} << 10)) many += lines;
  expect_plain_as_gzip(many, "lines across 256 KiB blocks");
}

// Every place a block's edge can fall: each line comes out whole, once.
TEST(EveFiles, LinesComeOutWholeWhereverABlockEnds) {
  const std::vector<std::string> want{flow_line(1), flow_line(2), flow_line(3)};
  const std::string bytes = want[0] + "\n" + want[1] + "\n" + want[2] + "\n";
  for (size_t block = 1; block <= bytes.size() + 1; ++block) {
    EXPECT_EQ(plain_lines(bytes, block), want) << "blocks of " << block;
    EXPECT_EQ(plain_lines(bytes.substr(0, bytes.size() - 1), block), want) << "no final newline, blocks of " << block;
  }
  // The first line ends exactly at the first block's end, its newline too.
  EXPECT_EQ(plain_lines(bytes, want[0].size()), want);
  EXPECT_EQ(plain_lines(bytes, want[0].size() + 1), want);
  EXPECT_TRUE(plain_lines("", 16).empty());
  EXPECT_TRUE(plain_lines("\n\n", 1).empty());
}

TEST(EveFiles, ALineLongerThanManyBlocksIsReadWhole) {
  const std::string long_line(size_t{1} << 20, 'x');
  const std::vector<std::string> seen =
      plain_lines(flow_line(1) + "\n" + long_line + "\n" + flow_line(2) + "\n", size_t{4} << 10);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], flow_line(1));
  EXPECT_TRUE(seen[1] == long_line);  // not EXPECT_EQ: a failure would print 1 MiB
  EXPECT_EQ(seen[2], flow_line(2));
}

// Too long to keep: counted (handed over empty) once, the rest skipped, the
// next line read as usual.
TEST(EveFiles, ALineTooLongIsSkippedOnce) {
  const std::string long_line(size_t{64} << 10, 'x');
  const std::vector<std::string> seen =
      plain_lines(flow_line(1) + "\n" + long_line + "\n" + flow_line(2) + "\n", 1024, size_t{8} << 10);
  EXPECT_EQ(seen, (std::vector<std::string>{flow_line(1), "", flow_line(2)}));
}

TEST(EveFiles, AFileThatShrinksWhileReadIsCutShortThere) {
  const std::string path = temp_path("shrinks.json");
  std::vector<std::string> lines;
  std::string bytes;
  for (int i = 0; i < 100; ++i) {
    lines.push_back(flow_line(i));
    bytes += lines.back() + "\n";
  }
  write_file(path, bytes);
  std::vector<std::string> seen;
  const ReadResult r = read_plain_lines(
      path,
      [&](std::string_view line) {
        seen.emplace_back(line);
        if (seen.size() == 1) {
          ASSERT_EQ(truncate(path.c_str(), 0), 0);  // logrotate's copytruncate
        }
      },
      4096, size_t{1} << 20);
  EXPECT_TRUE(r.opened);
  EXPECT_FALSE(r.complete);
  EXPECT_NE(r.error.find("shrank"), std::string::npos) << r.error;
  // The whole lines of the first block, read before the cut; not the line
  // the block ended inside of, whose end was lost.
  const size_t whole = [&] {
    size_t n = 0, at = 0;
    while (at + lines[n].size() + 1 <= 4096) at += lines[n++].size() + 1;
    return n;
  }();
  ASSERT_GT(whole, 1u);
  EXPECT_EQ(seen, std::vector<std::string>(lines.begin(), lines.begin() + static_cast<long>(whole)));
  std::remove(path.c_str());
}

TEST(EveFiles, AFileThatGrowsWhileReadIsReadOn) {
  const std::string path = temp_path("grows.json");
  write_file(path, flow_line(0) + "\n" + flow_line(1) + "\n");
  std::vector<std::string> seen;
  const ReadResult r = read_plain_lines(
      path,
      [&](std::string_view line) {
        seen.emplace_back(line);
        if (seen.size() == 1) std::ofstream(path, std::ios::binary | std::ios::app) << flow_line(2) << "\n";
      },
      size_t{256} << 10, size_t{1} << 20);
  EXPECT_TRUE(r.opened && r.complete) << r.error;
  EXPECT_EQ(seen, (std::vector<std::string>{flow_line(0), flow_line(1), flow_line(2)}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace flowscore::report
