// Spool (src/output/spool.cpp) against its obviously-correct twin, a
// std::deque of lines: whatever is appended comes out in order, once,
// across closes and reopens; the bound drops lines, counted, and never
// reorders; a torn last line (a crash mid-write) is cut off at open.
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>

#include "flowscore/spool.hpp"

namespace flowscore {
namespace {

namespace fs = std::filesystem;

std::string temp_dir() {
  char tmpl[] = "/tmp/flowscore-spool-XXXXXX";
  return mkdtemp(tmpl);
}

std::unique_ptr<Spool> open_spool(const std::string& dir, uint64_t max_bytes = 1ull << 30, bool drop_oldest = true) {
  Spool::Options o;
  o.dir = dir;
  o.max_bytes = max_bytes;
  o.drop_oldest = drop_oldest;
  o.segment_bytes = 4096;  // many segments, so every boundary is crossed
  std::string error;
  auto s = Spool::open(o, error);
  EXPECT_TRUE(s) << error;
  return s;
}

// Everything the spool holds, handed on (peek gives a segment at a time).
std::string drain(Spool& spool) {
  std::string out;
  for (std::string_view got; !(got = spool.peek(1 << 20)).empty();) {
    out += got;
    spool.consume(got.size());
  }
  return out;
}

std::vector<std::string> split(std::string_view lines) {
  std::vector<std::string> out;
  while (!lines.empty()) {
    const size_t nl = lines.find('\n');
    out.emplace_back(lines.substr(0, nl + 1));
    lines.remove_prefix(nl + 1);
  }
  return out;
}

TEST(Spool, LinesComeOutInOrderOnceAcrossReopensLikeADeque) {
  const std::string dir = temp_dir();
  std::mt19937 rng(7);
  std::deque<std::string> twin;
  auto spool = open_spool(dir);
  uint64_t next = 0;
  for (int step = 0; step < 3000; ++step) {
    const int op = rng() % 10;
    if (op < 5) {  // append a batch of lines of random lengths
      std::string batch;
      for (int k = rng() % 20; k >= 0; --k) {
        std::string line = "{\"n\":" + std::to_string(next++) + ",\"pad\":\"" + std::string(rng() % 300, 'x') + "\"}\n";
        twin.push_back(line);
        batch += line;
      }
      ASSERT_TRUE(spool->append(batch));
    } else if (op < 9) {  // hand on part of what peek gives
      const std::string_view got = spool->peek(1 + rng() % 3000);
      const std::vector<std::string> lines = split(got);
      ASSERT_EQ(got.empty(), twin.empty());
      const size_t take = lines.empty() ? 0 : rng() % (lines.size() + 1);
      size_t bytes = 0;
      for (size_t i = 0; i < take; ++i) {
        ASSERT_EQ(lines[i], twin.front()) << "step " << step;
        twin.pop_front();
        bytes += lines[i].size();
      }
      spool->consume(bytes);
    } else {  // a clean restart
      spool.reset();
      spool = open_spool(dir);
      EXPECT_EQ(spool->counters().recovered_lines, twin.size());
    }
    ASSERT_EQ(spool->lines(), twin.size()) << "step " << step;
  }
  while (!twin.empty()) {
    for (const std::string& line : split(spool->peek(1 << 20))) {
      ASSERT_EQ(line, twin.front());
      twin.pop_front();
      spool->consume(line.size());
    }
  }
  EXPECT_TRUE(spool->empty());
  spool.reset();
  EXPECT_TRUE(fs::is_empty(dir)) << "every segment handed on is deleted";
  fs::remove_all(dir);
}

// Appends `n` numbered lines of about 100 bytes to a spool bounded at
// `max_bytes`; returns the numbers left, in order.
// `one_batch`: all of them in one append (the writer hands over 1 MiB at a time).
std::vector<int> bounded(bool drop_oldest, uint64_t max_bytes, int n, uint64_t& dropped, bool one_batch = false) {
  const std::string dir = temp_dir();
  auto spool = open_spool(dir, max_bytes, drop_oldest);
  std::string batch;
  for (int i = 0; i < n; ++i) {
    std::string line = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(80, 'y') + "\"}\n";
    if (one_batch) batch += line;
    else spool->append(line);
  }
  spool->append(batch);
  EXPECT_LE(spool->bytes(), max_bytes);
  dropped = spool->counters().dropped_lines;
  std::vector<int> left;
  for (const std::string& line : split(drain(*spool))) left.push_back(std::stoi(line.substr(5)));
  spool.reset();
  fs::remove_all(dir);
  return left;
}

TEST(Spool, TheBoundDropsTheOldestOrTheNewestAndCountsEveryLine) {
  uint64_t dropped = 0;
  const int n = 5000;
  std::vector<int> left = bounded(true, 64 * 1024, n, dropped);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(dropped + left.size(), uint64_t(n));
  for (size_t i = 0; i < left.size(); ++i) EXPECT_EQ(left[i], n - int(left.size()) + int(i));  // the newest, in order

  left = bounded(false, 64 * 1024, n, dropped);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(dropped + left.size(), uint64_t(n));
  for (size_t i = 0; i < left.size(); ++i) EXPECT_EQ(left[i], int(i));  // the oldest, in order

  for (bool oldest : {true, false}) {  // one append larger than the whole bound keeps what fits of it
    left = bounded(oldest, 16 * 1024, n, dropped, true);
    ASSERT_GT(left.size(), 100u) << oldest;
    EXPECT_EQ(dropped + left.size(), uint64_t(n));
    EXPECT_EQ(left.front(), oldest ? n - int(left.size()) : 0);
    EXPECT_EQ(left.back(), oldest ? n - 1 : int(left.size()) - 1);
  }
}

TEST(Spool, ATornLastLineIsCutOffAtOpen) {
  const std::string dir = temp_dir();
  {
    auto spool = open_spool(dir);
    ASSERT_TRUE(spool->append("{\"a\":1}\n{\"b\":2}\n"));
  }
  const fs::path seg = *fs::directory_iterator(dir);
  std::ofstream(seg, std::ios::app) << "{\"c\":";  // a crash mid-line
  auto spool = open_spool(dir);
  EXPECT_EQ(spool->counters().recovered_lines, 2u);
  EXPECT_EQ(spool->peek(1 << 20), "{\"a\":1}\n{\"b\":2}\n");
  ASSERT_TRUE(spool->append("{\"d\":4}\n"));
  spool->consume(8);
  EXPECT_EQ(drain(*spool), "{\"b\":2}\n{\"d\":4}\n");
  spool.reset();
  fs::remove_all(dir);
}

TEST(Spool, LinesHandedBackGoBeforeEverythingSpooledAndStayThereAcrossAReopen) {
  const std::string dir = temp_dir();
  {
    auto spool = open_spool(dir);
    ASSERT_TRUE(spool->append("2\n3\n4\n"));
    spool->peek(1 << 20);
    spool->consume(2);  // "2" handed on, and handed back unsent below
    ASSERT_TRUE(spool->prepend("1\n2\n"));  // a collector's unsent lines: older
    EXPECT_EQ(spool->lines(), 4u);
  }
  auto spool = open_spool(dir);
  ASSERT_TRUE(spool->append("5\n"));
  EXPECT_EQ(drain(*spool), "1\n2\n3\n4\n5\n");
  ASSERT_TRUE(spool->prepend("0\n"));  // into an empty spool: as an append
  EXPECT_EQ(drain(*spool), "0\n");
  spool.reset();
  fs::remove_all(dir);
}

TEST(Spool, AnUnwritableDirectoryIsAClearError) {
  Spool::Options o;
  o.dir = "/proc/flowscore-spool";
  std::string error;
  EXPECT_FALSE(Spool::open(o, error));
  EXPECT_NE(error.find("/proc/flowscore-spool"), std::string::npos) << error;
}

}  // namespace
}  // namespace flowscore
