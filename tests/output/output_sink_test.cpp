// FileSink: bytes arrive intact and in order, failures are reported with
// errno's text and counted, never thrown.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
  std::ofstream(path, std::ios::app) << "{\"cut";  // the last run died mid-line
  {
    auto sink = FileSink::open(path, true, error);
    ASSERT_TRUE(sink->write("{\"next\":3}\n"));
  }
  EXPECT_EQ(read_file(path), expected + "{\"more\":2}\n{\"cut\n{\"next\":3}\n");
  {
    auto sink = FileSink::open(path, false, error);
    ASSERT_TRUE(sink->write("{}\n"));
  }
  EXPECT_EQ(read_file(path), "{}\n");
  std::filesystem::remove(path);
}

// Truncate mode replaces a regular file (a new inode, so ext4 does not
// write the old one back on close) but writes through a symlink.
TEST(FileSink, TruncateModeReplacesAFileAndWritesThroughASymlink) {
  const std::string path = temp_path("replace"), link = temp_path("replace-link");
  std::string error;
  {
    auto sink = FileSink::open(path, false, error);
    ASSERT_TRUE(sink && sink->write("old contents, longer than the new\n"));
  }
  {
    auto sink = FileSink::open(path, false, error);
    ASSERT_TRUE(sink && sink->write("new\n"));
  }
  EXPECT_EQ(read_file(path), "new\n");

  std::filesystem::remove(link);
  std::filesystem::create_symlink(path, link);
  {
    auto sink = FileSink::open(link, false, error);
    ASSERT_TRUE(sink && sink->write("through\n"));
  }
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_file(path), "through\n");
  std::filesystem::remove(link);
  std::filesystem::remove(path);
}

// Log rotation: the file is renamed away, reopen() starts a new one and
// what was buffered before it lands in the old one. A reopen that cannot
// open the path says why and keeps writing where it wrote.
TEST(FileSink, ReopenFollowsLogRotation) {
  const std::filesystem::path dir = temp_path("rotate");
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "eve.json").string(), rotated = (dir / "eve.json.1").string();
  std::string error;
  auto sink = FileSink::open(path, false, error);
  ASSERT_TRUE(sink && sink->write("before\n") && sink->flush());
  std::filesystem::rename(path, rotated);
  ASSERT_TRUE(sink->write("pending\n"));  // still buffered at the reopen: goes to the new file
  ASSERT_TRUE(sink->reopen()) << sink->last_error();
  ASSERT_TRUE(sink->write("after\n") && sink->flush());
  EXPECT_EQ(read_file(rotated), "before\n");
  EXPECT_EQ(read_file(path), "pending\nafter\n");
  ASSERT_TRUE(sink->reopen());  // not rotated: appends to the same file
  ASSERT_TRUE(sink->write("again\n") && sink->flush());
  EXPECT_EQ(read_file(path), "pending\nafter\nagain\n");
  std::ofstream(path, std::ios::app) << "torn";  // a line cut short, as by a failed write
  ASSERT_TRUE(sink->reopen());
  ASSERT_TRUE(sink->write("whole\n") && sink->flush());
  EXPECT_EQ(read_file(path), "pending\nafter\nagain\ntorn\nwhole\n");  // the next line starts on its own

  std::filesystem::remove_all(dir);  // nowhere to reopen
  EXPECT_FALSE(sink->reopen());
  EXPECT_NE(sink->last_error().find("No such file or directory"), std::string::npos) << sink->last_error();
  EXPECT_TRUE(sink->write("still\n") && sink->flush());  // the unlinked file still takes writes
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

// Issue 15 §3: a disk that fills mid-write left half a record at the end of
// the file (and, after a later successful write, in its middle), and the
// summary counted bytes, not records. A file size limit (RLIMIT_FSIZE, in a
// child process so it binds nothing else) fills the "disk" part-way
// through a line, as a full filesystem does: the file must hold exactly a
// prefix of whole lines, and what is counted lost must be exactly the rest.
TEST(FileSink, AFullDiskKeepsWholeLinesAndCountsTheRestExactly) {
  const std::string path = temp_path("fsize.json");
  std::vector<std::string> lines;
  size_t total_bytes = 0;
  for (int i = 0; i < 3000; ++i) {
    lines.push_back("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(20 + i * 37 % 150, 'x') + "\"}\n");
    total_bytes += lines.back().size();
  }
  constexpr rlim_t kLimit = 100'003;  // not on a line boundary
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);  // past the limit, write(2) fails with EFBIG instead
    const rlimit limit{kLimit, kLimit};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::string error;
    uint64_t counts[3] = {0, 0, 0};
    {
      auto sink = FileSink::open(path, false, error, 4096);
      if (!sink) _exit(3);
      for (const std::string& l : lines) sink->write(l);
      sink->flush();
      counts[0] = sink->dropped_lines();
      counts[1] = sink->dropped_bytes();
      counts[2] = sink->last_error().find("File too large") != std::string_view::npos;
    }
    _exit(write(report[1], counts, sizeof counts) == sizeof counts ? 0 : 4);
  }
  close(report[1]);
  uint64_t counts[3] = {};
  ASSERT_EQ(read(report[0], counts, sizeof counts), static_cast<ssize_t>(sizeof counts));
  close(report[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  const std::string file = read_file(path);
  std::filesystem::remove(path);
  ASSERT_LE(file.size(), kLimit);
  ASSERT_GT(file.size(), kLimit - 200) << "the limit was not reached: the test tests nothing";
  size_t kept = 0, at = 0;
  while (at < file.size()) {  // a prefix of the lines, each whole
    ASSERT_LT(kept, lines.size());
    ASSERT_EQ(file.compare(at, lines[kept].size(), lines[kept]), 0) << "line " << kept << " is not whole";
    at += lines[kept++].size();
  }
  EXPECT_EQ(counts[0], lines.size() - kept);
  EXPECT_EQ(counts[1], total_bytes - file.size());
  EXPECT_EQ(counts[2], 1u) << "last_error should name EFBIG";
}

// Issue 14 §3: two runs with the same --out both exited 0, one silently
// replacing the other's output. A regular output file is locked while a
// sink writes it; a second sink (another run) is refused, in either mode,
// and the first one's records stay whole. A reopen keeps the lock.
TEST(FileSink, ASecondWriterOfTheSameFileIsRefused) {
  const std::string path = temp_path("locked");
  std::string error;
  auto first = FileSink::open(path, false, error);
  ASSERT_TRUE(first && first->write("first\n") && first->flush()) << error;
  for (const bool append : {false, true}) {
    error.clear();
    EXPECT_FALSE(FileSink::open(path, append, error));
    EXPECT_NE(error.find("being written by another flowscore"), std::string::npos) << error;
  }
  EXPECT_EQ(read_file(path), "first\n");
  ASSERT_TRUE(first->reopen()) << first->last_error();
  EXPECT_FALSE(FileSink::open(path, true, error));
  first.reset();  // the run ends: its lock goes with it
  auto next = FileSink::open(path, true, error);
  EXPECT_TRUE(next) << error;
  std::filesystem::remove(path);
}

TEST(FileSink, StdoutIsDash) {
  std::string error;
  auto sink = FileSink::open("-", false, error);
  ASSERT_TRUE(sink) << error;
  EXPECT_EQ(sink->describe(), "stdout");
}

}  // namespace
}  // namespace flowscore

// ---- TcpSink, against a collector on 127.0.0.1 ----------------------------

namespace flowscore {
namespace {

class Collector {
 public:
  explicit Collector(uint16_t port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Collector() {
    if (conn_ >= 0) ::close(conn_);
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  // Accepts (if needed) and reads whatever arrived within `ms`.
  std::string read_for(TcpSink& sink, int ms) {
    std::string got;
    for (int i = 0; i < ms; ++i) {
      sink.flush();
      if (conn_ < 0) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 1) > 0) conn_ = ::accept(fd_, nullptr, nullptr);
        continue;
      }
      pollfd p{conn_, POLLIN, 0};
      if (::poll(&p, 1, 1) > 0) {
        char buf[65536];
        const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
        if (n > 0) got.append(buf, static_cast<size_t>(n));
      }
    }
    return got;
  }
  void drop_connection() {
    ::close(conn_);
    conn_ = -1;
  }

 private:
  int fd_ = -1, conn_ = -1;
  uint16_t port_ = 0;
};

std::string numbered_lines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += "{\"n\":" + std::to_string(i) + "}\n";
  return s;
}

TEST(TcpSink, DeliversLinesInOrder) {
  Collector collector;
  std::string error;
  auto sink = TcpSink::create({"127.0.0.1", collector.port(), 1 << 20, 1, 10}, error);
  ASSERT_TRUE(sink) << error;
  EXPECT_EQ(sink->describe(), "tcp 127.0.0.1:" + std::to_string(collector.port()));
  const std::string lines = numbered_lines(0, 5000);
  for (size_t pos = 0; pos < lines.size();) {
    const size_t nl = lines.find('\n', pos) + 1;
    ASSERT_TRUE(sink->write(std::string_view(lines).substr(pos, nl - pos)));
    pos = nl;
  }
  EXPECT_EQ(collector.read_for(*sink, 500), lines);
  EXPECT_TRUE(sink->flush());
  EXPECT_EQ(sink->connects(), 1u);
}

TEST(TcpSink, BoundedWhileCollectorIsDownThenReconnects) {
  uint16_t port;
  { Collector probe; port = probe.port(); }  // a port with nobody listening
  std::string error;
  auto sink = TcpSink::create({"127.0.0.1", port, 64, 1, 4}, error);
  ASSERT_TRUE(sink) << error;
  EXPECT_TRUE(sink->write("{\"a\":1}\n"));
  EXPECT_FALSE(sink->write(std::string(100, 'x') + "\n")) << "bigger than the buffer: dropped";
  EXPECT_EQ(sink->dropped_bytes(), 101u);
  EXPECT_FALSE(sink->connected());
  EXPECT_NE(sink->last_error().find("Connection refused"), std::string::npos) << sink->last_error();
  Collector collector(port);
  EXPECT_EQ(collector.read_for(*sink, 500), "{\"a\":1}\n");
  EXPECT_TRUE(sink->connected());
}

TEST(TcpSink, InvalidAddressIsRefusedUpFront) {
  std::string error;
  EXPECT_EQ(TcpSink::create({"collector.example", 9000}, error), nullptr);
  EXPECT_NE(error.find("collector.example"), std::string::npos);
}

}  // namespace
}  // namespace flowscore
