// Output file rotation (output.rotate_*): by size, by wall-clock interval
// (a test clock), gzip and keep, and the fsync interval. The reference is
// the lines themselves: the rotated files, in name order, then the current
// file, must be every line written, in order, each whole, and each file
// must keep its bound.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "flowscore/file_rotation.hpp"
#include "flowscore/output_sink.hpp"

namespace flowscore {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path = fs::temp_directory_path() / ("flowscore-rotation-" + std::to_string(getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

std::string read_plain(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read_gzip(const fs::path& p) {
  gzFile in = gzopen(p.c_str(), "rb");
  EXPECT_NE(in, nullptr) << p;
  std::string out;
  char block[65536];
  int n;
  while (in && (n = gzread(in, block, sizeof block)) > 0) out.append(block, static_cast<size_t>(n));
  if (in) gzclose(in);
  return out;
}

// The rotated files of `dir`/eve.json, oldest first (their names hold the time).
std::vector<fs::path> rotated(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name != "eve.json") {
      EXPECT_TRUE(is_rotated_file_name("eve.json", name)) << name;
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string contents(const fs::path& p) {
  return p.extension() == ".gz" ? read_gzip(p) : read_plain(p);
}

std::vector<std::string> random_lines(std::mt19937_64& rng, int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i)
    lines.push_back("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(rng() % 700, 'p') + "\"}\n");
  return lines;
}

TEST(FileRotation, BySizeEveryFileKeepsItsBoundAndTheLinesStayWholeAndInOrder) {
  Dir dir;
  std::mt19937_64 rng(5);
  const std::vector<std::string> lines = random_lines(rng, 4000);
  std::string all;
  uint64_t t = 1'700'000'000'000'000'000ull;
  FileRotation rotation;
  rotation.max_bytes = 65536;
  rotation.clock = [&] { return t += 1000; };  // distinct microseconds: one name per rotation
  std::string error;
  uint64_t rotations = 0;
  {
    auto sink = FileSink::open((dir.path / "eve.json").string(), false, error, 8192, rotation);
    ASSERT_TRUE(sink) << error;
    for (size_t i = 0; i < lines.size();) {  // batches of 1..40 lines, as the writer hands them over
      std::string batch;
      for (size_t k = 1 + rng() % 40; k > 0 && i < lines.size(); --k) batch += lines[i++];
      ASSERT_TRUE(sink->write(batch));
      all += batch;
    }
    ASSERT_TRUE(sink->flush());
    rotations = sink->rotations();
  }
  const std::vector<fs::path> files = rotated(dir.path);
  EXPECT_EQ(files.size(), rotations);
  EXPECT_GE(files.size(), all.size() / 65536);
  std::string joined;
  for (const fs::path& f : files) {
    const std::string text = contents(f);
    EXPECT_LE(text.size(), 65536u) << f;
    EXPECT_GT(text.size(), 65536u - 800) << f << ": rotated early";
    EXPECT_EQ(text.back(), '\n') << f;
    joined += text;
  }
  joined += read_plain(dir.path / "eve.json");
  EXPECT_EQ(joined, all);
}

TEST(FileRotation, ByIntervalEachFileHoldsTheLinesGivenInItsInterval) {
  Dir dir;
  uint64_t now = 3'600'000'000'000ull * 500'000 + 1;  // just after an hour's start
  FileRotation rotation;
  rotation.interval_ns = 60'000'000'000ull;
  rotation.clock = [&] { return now; };
  std::string error;
  std::vector<std::string> per_minute(5);
  {
    auto sink = FileSink::open((dir.path / "eve.json").string(), false, error, 1 << 20, rotation);
    ASSERT_TRUE(sink) << error;
    for (int i = 0; i < 499; ++i) {  // 499 lines over 5 minutes; the buffer holds them all
      now += 600'000'000;
      const std::string line = "{\"i\":" + std::to_string(i) + "}\n";
      ASSERT_TRUE(sink->write(line));
      per_minute[(now - 3'600'000'000'000ull * 500'000) / 60'000'000'000ull] += line;
    }
    ASSERT_TRUE(sink->flush());
  }
  const std::vector<fs::path> files = rotated(dir.path);
  ASSERT_EQ(files.size(), 4u);
  for (size_t m = 0; m < 4; ++m) EXPECT_EQ(contents(files[m]), per_minute[m]) << "minute " << m;
  EXPECT_EQ(read_plain(dir.path / "eve.json"), per_minute[4]);
}

TEST(FileRotation, GzipAndKeepLeaveTheNewestFilesCompressed) {
  Dir dir;
  std::mt19937_64 rng(9);
  const std::vector<std::string> lines = random_lines(rng, 3000);
  uint64_t t = 1'700'000'000'000'000'000ull;
  FileRotation rotation;
  rotation.max_bytes = 65536;
  rotation.keep = 3;
  rotation.gzip = true;
  rotation.clock = [&] { return t += 1000; };
  std::string error, all;
  {
    auto sink = FileSink::open((dir.path / "eve.json").string(), false, error, 4096, rotation);
    ASSERT_TRUE(sink) << error;
    for (const std::string& l : lines) {
      ASSERT_TRUE(sink->write(l));
      all += l;
    }
  }  // the sink's end waits for its compressions
  const std::vector<fs::path> files = rotated(dir.path);
  ASSERT_EQ(files.size(), 3u);
  std::string newest;
  for (const fs::path& f : files) {
    EXPECT_EQ(f.extension(), ".gz") << f;
    newest += contents(f);
  }
  newest += read_plain(dir.path / "eve.json");
  ASSERT_LT(newest.size(), all.size());
  EXPECT_EQ(all.substr(all.size() - newest.size()), newest) << "the files kept are not the newest";
  EXPECT_EQ(all[all.size() - newest.size() - 1], '\n');  // they start on a line
}

TEST(FileRotation, FsyncAtTheIntervalOnly) {
  Dir dir;
  uint64_t now = 1'000'000'000'000;
  FileRotation rotation;
  rotation.fsync_interval_ns = 1'000'000'000;
  rotation.clock = [&] { return now; };
  std::string error;
  auto sink = FileSink::open((dir.path / "eve.json").string(), false, error, 4096, rotation);
  ASSERT_TRUE(sink) << error;
  for (int i = 0; i < 100; ++i) {  // 100 flushes, 0.25 s apart: one sync a second
    now += 250'000'000;
    ASSERT_TRUE(sink->write("{}\n"));
    ASSERT_TRUE(sink->flush());
  }
  EXPECT_EQ(sink->syncs(), 25u);
  EXPECT_EQ(sink->rotations(), 0u);
}

TEST(FileRotation, NamesSortInTimeOrderAndAreRecognised) {
  const std::string a = rotated_file_name("/var/log/eve.json", 1'700'000'000'123'456'789ull);
  const std::string b = rotated_file_name("/var/log/eve.json", 1'700'000'000'123'457'789ull);
  EXPECT_EQ(a, "/var/log/eve.json.20231114T221320.123456Z");
  EXPECT_LT(a, b);
  EXPECT_TRUE(is_rotated_file_name("eve.json", "eve.json.20231114T221320.123456Z"));
  EXPECT_TRUE(is_rotated_file_name("eve.json", "eve.json.20231114T221320.123456Z.gz"));
  for (const char* other : {"eve.json", "eve.json.1", "eve.json.20231114T221320.123456Z.gz.part",
                            "eve.jsonx20231114T221320.123456Z", "alerts.json.20231114T221320.123456Z"})
    EXPECT_FALSE(is_rotated_file_name("eve.json", other)) << other;
}

}  // namespace
}  // namespace flowscore
