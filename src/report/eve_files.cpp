#include "eve_files.hpp"

#include <fcntl.h>
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

}  // namespace

ReadResult read_eve_file(const std::string& path, ReportBuilder& builder) {
  ReadResult result;
  const int fd = path == "-" ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  gzFile in = fd < 0 ? nullptr : gzdopen(fd, "rb");
  if (in == nullptr) {
    result.error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return result;
  }
  result.opened = true;
  gzbuffer(in, kZlibBufferBytes);
  builder.begin_input(path);
  // buffer: [carried partial line][new block][padding]
  std::vector<char> buffer(kBlockBytes + simdjson::SIMDJSON_PADDING);
  size_t carried = 0;  // the carried part has no newline: a search starts after it
  bool skipping_long_line = false;
  while (true) {
    if (buffer.size() < carried + kBlockBytes + simdjson::SIMDJSON_PADDING)
      buffer.resize(carried + kBlockBytes + simdjson::SIMDJSON_PADDING);
    const int got = gzread(in, buffer.data() + carried, static_cast<unsigned>(kBlockBytes));
    if (got < 0) {
      int code = 0;
      result.error = fmt::format("'{}': {}", path, gzerror(in, &code));
      result.complete = false;
      break;
    }
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
        builder.add_line(buffer.data() + start, line_end - start, buffer.size() - start);
      }
      start = line_end + 1;
    }
    if (at_eof) break;
    carried = end > start ? end - start : 0;
    if (start > 0) std::memmove(buffer.data(), buffer.data() + start, carried);
    if (carried > kMaxLineBytes) {  // counted, then the rest of it skipped
      builder.add_line(buffer.data(), 0, 0);
      carried = 0;
      skipping_long_line = true;
    }
  }
  // A gzip stream cut short reads as a clean end with zlib's "unexpected end
  // of file" left behind.
  int code = Z_OK;
  const char* message = gzerror(in, &code);
  if (result.complete && code != Z_OK && code != Z_STREAM_END) {
    result.error = fmt::format("'{}': {}", path, message);
    result.complete = false;
  }
  gzclose(in);
  if (!result.complete) builder.input_truncated();
  return result;
}

}  // namespace flowscore::report
