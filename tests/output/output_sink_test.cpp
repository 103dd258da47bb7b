// FileSink: bytes arrive intact and in order, failures are reported with
// errno's text and counted, never thrown.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "flowscore/output_sink.hpp"

namespace flowscore {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("flowscore-output-") + std::to_string(getpid()) + "-" + name))
      .string();
}

TEST(FileSink, WritesEverythingInOrderAcrossBufferBoundaries) {
  const std::string path = temp_path("order");
  std::string error;
  std::string expected;
  {
    auto sink = FileSink::open(path, false, error, 64);  // tiny buffer: many flushes
    ASSERT_TRUE(sink) << error;
    EXPECT_EQ(sink->describe(), "file " + path);
    for (int i = 0; i < 1000; ++i) {
      // Lines shorter and longer than the buffer.
      const std::string line = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" +
                               std::string(static_cast<size_t>(i % 150), 'x') + "\"}\n";
      expected += line;
      ASSERT_TRUE(sink->write(line));
    }
    ASSERT_TRUE(sink->flush());
    EXPECT_EQ(read_file(path), expected);
    ASSERT_TRUE(sink->write("{\"tail\":1}\n"));
    expected += "{\"tail\":1}\n";
  }  // destructor flushes
  EXPECT_EQ(read_file(path), expected);

  // append mode keeps what is there; truncate mode does not
  {
    auto sink = FileSink::open(path, true, error);
    ASSERT_TRUE(sink->write("{\"more\":2}\n"));
  }
  EXPECT_EQ(read_file(path), expected + "{\"more\":2}\n");
  {
    auto sink = FileSink::open(path, false, error);
    ASSERT_TRUE(sink->write("{}\n"));
  }
  EXPECT_EQ(read_file(path), "{}\n");
  std::filesystem::remove(path);
}

TEST(FileSink, OpenFailureNamesThePathAndReason) {
  std::string error;
  EXPECT_EQ(FileSink::open("/nonexistent-dir/eve.json", false, error), nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/eve.json"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST(FileSink, DiskFullIsReportedAndCountedNotThrown) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "/dev/full not available";
  std::string error;
  auto sink = FileSink::open("/dev/full", true, error, 128);
  ASSERT_TRUE(sink) << error;
  const std::string line(100, 'a');
  EXPECT_TRUE(sink->write(line + "\n"));  // buffered: nothing written yet
  EXPECT_FALSE(sink->write(line + "\n"));  // needs a flush, which fails
  EXPECT_NE(sink->last_error().find("No space left on device"), std::string::npos)
      << sink->last_error();
  EXPECT_NE(sink->last_error().find("/dev/full"), std::string::npos) << sink->last_error();
  EXPECT_EQ(sink->dropped_bytes(), 2 * (line.size() + 1));
  EXPECT_TRUE(sink->flush());  // nothing left buffered: the failed data was dropped
}

TEST(FileSink, StdoutIsDash) {
  std::string error;
  auto sink = FileSink::open("-", false, error);
  ASSERT_TRUE(sink) << error;
  EXPECT_EQ(sink->describe(), "stdout");
}

}  // namespace
}  // namespace flowscore
