#include "eve_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace flowscore::report {
namespace {

// A block small enough to stay in L2 from the kernel's copy (or zlib's
// inflate) to simdjson reading it: 256 KiB blocks took a tenth less CPU
// than 4 MiB ones on the benchmark's EVE file (docs/BENCHMARKS.md).
constexpr size_t kBlockBytes = size_t{256} << 10;
// zlib's own buffer (compressed input): requests of twice its size or more
// are read or inflated straight into ours, not copied through it.
constexpr unsigned kZlibBufferBytes = 64 << 10;
constexpr size_t kMaxLineBytes = size_t{64} << 20;
constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;

// Hands every line of the blocks read_block reads to on_line(line, length,
// padded), ReportBuilder::add_line's contract: `padded` bytes can be read
// from `line` (simdjson's padding after it), and a length of 0 is a line
// that is not an event. Lines are handed over where they lie in the block,
// not copied. read_block(into, max) returns the bytes it read, 0 at the end
// of the input, or < 0 when the input ends in error: a line read in part is
// then dropped, its end lost. A line longer than max_line_bytes is counted as
// not an event and skipped (one may get through by up to a block's size).
template <class ReadBlock, class OnLine>
void split_lines(ReadBlock& read_block, OnLine& on_line, size_t block_bytes, size_t max_line_bytes) {
  // buffer: [carried partial line][new block][padding]
  std::vector<char> buffer(block_bytes + kPadding);
  size_t carried = 0;  // the carried part has no newline: a search starts after it
  bool skipping_long_line = false;
  while (true) {
    if (buffer.size() < carried + block_bytes + kPadding) buffer.resize(carried + block_bytes + kPadding);
    const long got = read_block(buffer.data() + carried, block_bytes);
    if (got < 0) return;
    const size_t end = carried + static_cast<size_t>(got);
    const bool at_eof = got == 0;
    size_t start = 0;
    while (start < end) {
      const size_t from = std::max(start, carried);  // a long line is searched once, not once per block
      const char* nl = static_cast<const char*>(std::memchr(buffer.data() + from, '\n', end - from));
      if (nl == nullptr && !at_eof) {  // the rest is carried to the next block
        if (skipping_long_line) start = end;
        break;
      }
      const size_t line_end = nl ? static_cast<size_t>(nl - buffer.data()) : end;
      if (skipping_long_line) {
        skipping_long_line = false;
      } else if (line_end > start) {
        on_line(buffer.data() + start, line_end - start, buffer.size() - start);
      }
      start = line_end + 1;
    }
    if (at_eof) return;
    carried = end > start ? end - start : 0;
    if (start > 0) std::memmove(buffer.data(), buffer.data() + start, carried);
    if (carried > max_line_bytes) {  // counted, then the rest of it skipped
      on_line(buffer.data(), 0, 0);
      carried = 0;
      skipping_long_line = true;
    }
  }
}

// A plain regular file, read() a block at a time (the kernel copies the page
// cache into the block). A file cut shorter while it is read (logrotate's
// copytruncate) just reaches its end early; at the end, a size below the
// bytes already read says it shrank, and the input is marked cut short. This
// sees a cut only if the file has not grown past where the reading stood by
// then (a writer that goes on appending after the cut may be read from the
// middle of its new content; the line entered in its middle is counted as
// not an event).
class PlainBlocks {
 public:
  PlainBlocks(int fd, const std::string& path, ReadResult& result) : fd_(fd), path_(path), result_(result) {
    struct stat st {};
    // A file of /proc says 0 whatever it holds: its size says nothing then.
    sized_ = fstat(fd, &st) == 0 && st.st_size > 0;
  }

  long operator()(char* into, size_t max) {
    while (true) {
      const ssize_t got = ::read(fd_, into, max);
      if (got > 0) {
        read_ += static_cast<uint64_t>(got);
        return static_cast<long>(got);
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        result_.error = fmt::format("'{}': {}", path_, std::strerror(errno));
        result_.complete = false;
        return -1;
      }
      struct stat st {};
      if (sized_ && fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < read_) {
        result_.error = fmt::format("'{}' shrank while it was read", path_);
        result_.complete = false;
        return -1;
      }
      return 0;
    }
  }

 private:
  int fd_;
  const std::string& path_;
  ReadResult& result_;
  bool sized_ = false;
  uint64_t read_ = 0;
};

// The rest of `fd` (from its offset) through zlib, which inflates it if it
// is gzip and passes anything else through as it is.
template <class OnLine>
void read_gzip(int fd, const std::string& path, OnLine& on_line, ReadResult& result) {
  gzFile in = gzdopen(fd, "rb");
  if (in == nullptr) {
    result.error = fmt::format("'{}': {}", path, std::strerror(errno));
    result.complete = false;
    ::close(fd);
    return;
  }
  gzbuffer(in, kZlibBufferBytes);
  auto read_block = [&](char* into, size_t max) -> long {
    const int got = gzread(in, into, static_cast<unsigned>(max));
    if (got < 0) {
      int code = 0;
      result.error = fmt::format("'{}': {}", path, gzerror(in, &code));
      result.complete = false;
    }
    return got;
  };
  split_lines(read_block, on_line, kBlockBytes, kMaxLineBytes);
  // A gzip stream cut short reads as a clean end with zlib's "unexpected end
  // of file" left behind.
  int code = Z_OK;
  const char* message = gzerror(in, &code);
  if (result.complete && code != Z_OK && code != Z_STREAM_END) {
    result.error = fmt::format("'{}': {}", path, message);
    result.complete = false;
  }
  gzclose(in);
}

// gzip's magic number (RFC 1952) at the start.
bool starts_gzip(int fd) {
  unsigned char magic[2];
  return pread(fd, magic, sizeof magic, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// A regular file that is not gzip: read() straight into the block. Anything
// else (gzip, a pipe, a device) goes through zlib.
bool plain_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !starts_gzip(fd);
}

}  // namespace

ReadResult read_eve_file(const std::string& path, ReportBuilder& builder) {
  ReadResult result;
  const bool from_stdin = path == "-";
  const int fd = from_stdin ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return result;
  }
  result.opened = true;
  builder.begin_input(path);
  auto add_line = [&builder](const char* line, size_t length, size_t padded) {
    builder.add_line(line, length, padded);
  };
  // Standard input may be a file already read partly, or gzip: through zlib
  // from where it stands.
  if (!from_stdin && plain_file(fd)) {
    PlainBlocks blocks(fd, path, result);
    split_lines(blocks, add_line, kBlockBytes, kMaxLineBytes);
    ::close(fd);
  } else {
    read_gzip(fd, path, add_line, result);  // closes fd
  }
  if (!result.complete) builder.input_truncated();
  return result;
}

ReadResult read_plain_lines(const std::string& path, const std::function<void(std::string_view)>& on_line,
                            size_t block_bytes, size_t max_line_bytes) {
  ReadResult result;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return result;
  }
  result.opened = true;
  PlainBlocks blocks(fd, path, result);
  auto hand_over = [&on_line](const char* line, size_t length, size_t) { on_line(std::string_view(line, length)); };
  split_lines(blocks, hand_over, block_bytes, max_line_bytes);
  ::close(fd);
  return result;
}

}  // namespace flowscore::report
