#include "eve_files.hpp"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
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
// A plain file is read through a read-only mapping of this much of it at a
// time, unmapped when done: the process's resident memory stays bounded
// whatever the file's size (peak 24 MB on the benchmark's file, 36 MB with
// 16 MiB windows, at the same speed). A window that holds no whole line
// doubles.
constexpr size_t kWindowBytes = size_t{4} << 20;

// --- Streamed: gzip files, standard input, whatever cannot be mapped. ---

// The rest of `fd` (from its offset), inflated if it is gzip, into builder.
void read_stream(int fd, const std::string& path, ReportBuilder& builder, ReadResult& result) {
  gzFile in = gzdopen(fd, "rb");
  if (in == nullptr) {
    result.error = fmt::format("'{}': {}", path, std::strerror(errno));
    result.complete = false;
    ::close(fd);
    return;
  }
  gzbuffer(in, kZlibBufferBytes);
  // buffer: [carried partial line][new block][padding]
  std::vector<char> buffer(kBlockBytes + kPadding);
  size_t carried = 0;  // the carried part has no newline: a search starts after it
  bool skipping_long_line = false;
  while (true) {
    if (buffer.size() < carried + kBlockBytes + kPadding) buffer.resize(carried + kBlockBytes + kPadding);
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
}

// --- Mapped: plain files. simdjson reads each line where it lies in the
// page cache, without the kernel's copy into a buffer first: 6% less CPU
// time on the benchmark's EVE file (docs/BENCHMARKS.md). Without
// MAP_POPULATE: the faults that map 16 pages at a time cost less than
// populating the window up front. ---

// A file mapped and then cut shorter (logrotate's copytruncate) faults with
// SIGBUS on the pages it lost. While a window is read, this handler turns
// such a fault inside the window into a jump back to the reader, which ends
// the input there as cut short. A fault anywhere else is not ours: the
// previous disposition is put back and the access, retried, meets it.
// The report reads on one thread, one window at a time.
struct MappedWindowGuard {
  sigjmp_buf shrunk;
  const char* volatile begin = nullptr;
  const char* volatile end = nullptr;
  struct sigaction previous {};
};
MappedWindowGuard g_window;

void on_sigbus(int, siginfo_t* info, void*) {
  const char* at = static_cast<const char*>(info->si_addr);
  if (g_window.begin != nullptr && at >= g_window.begin && at < g_window.end) siglongjmp(g_window.shrunk, 1);
  sigaction(SIGBUS, &g_window.previous, nullptr);
}

class SigbusHandler {
 public:
  SigbusHandler() {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_window.previous);
  }
  ~SigbusHandler() { sigaction(SIGBUS, &g_window.previous, nullptr); }
  SigbusHandler(const SigbusHandler&) = delete;
  SigbusHandler& operator=(const SigbusHandler&) = delete;
};

// Where the reading of a mapped file stands, between windows.
struct MappedCursor {
  uint64_t line_start = 0;          // file offset of the next line
  bool skipping_long_line = false;  // line_start is inside a line already counted as too long
  std::vector<char> padded_copy;    // a last line too close to the end of the mapping for simdjson's padding
};

// One mapped part of the file: [offset, offset + length), `readable` bytes
// from `data` can be loaded (the last page of a file reads as zeros past its
// end), and `reaches_end` when it ends where the file did when mapped.
struct Window {
  const char* data;
  uint64_t offset;
  size_t length, readable;
  bool reaches_end;
};

// on_line(line, length, padded) is ReportBuilder::add_line's contract: a
// length of 0 is a line that is not an event.
template <class OnLine>
void hand_over_padded(const Window& w, size_t start, size_t end, MappedCursor& cursor, OnLine& on_line) {
  if (end + kPadding <= w.readable) {
    on_line(w.data + start, end - start, w.readable - start);
    return;
  }
  cursor.padded_copy.assign(w.data + start, w.data + end);
  cursor.padded_copy.resize(end - start + kPadding);
  on_line(cursor.padded_copy.data(), end - start, cursor.padded_copy.size());
}

// Every line of the window that ends in it (with padding after it in the
// window, or at the file's end); cursor.line_start moves past them. The
// rest of a line that runs on is left for the next window. A line longer
// than kMaxLineBytes is counted as not an event and skipped, as read_stream
// does (which may let one through by up to a block's size).
template <class OnLine>
void read_window(const Window& w, MappedCursor& cursor, OnLine& on_line) {
  size_t start = static_cast<size_t>(cursor.line_start - w.offset);
  while (start < w.length) {
    const char* nl = static_cast<const char*>(std::memchr(w.data + start, '\n', w.length - start));
    if (nl == nullptr && !w.reaches_end) {
      if (cursor.skipping_long_line) {
        start = w.length;
      } else if (w.length - start > kMaxLineBytes) {
        on_line(nullptr, 0, 0);
        cursor.skipping_long_line = true;
        start = w.length;
      }
      break;
    }
    const size_t end = nl ? static_cast<size_t>(nl - w.data) : w.length;
    if (!w.reaches_end && end + kPadding > w.readable) break;  // read again at the start of the next window
    if (cursor.skipping_long_line) {
      cursor.skipping_long_line = false;
    } else if (end - start > kMaxLineBytes) {
      on_line(nullptr, 0, 0);
    } else if (end > start) {
      hand_over_padded(w, start, end, cursor, on_line);
    }
    start = nl ? end + 1 : end;
  }
  cursor.line_start = w.offset + start;
}

// read_window with the window guarded against the file shrinking under it:
// false when it did (the lines handed over before count).
template <class OnLine>
bool read_window_guarded(const Window& w, MappedCursor& cursor, OnLine& on_line) {
  g_window.begin = w.data;
  g_window.end = w.data + w.readable;
  // The mask is saved: the jump leaves the handler with SIGBUS still blocked.
  if (sigsetjmp(g_window.shrunk, 1) != 0) {
    g_window.begin = g_window.end = nullptr;
    return false;
  }
  read_window(w, cursor, on_line);
  g_window.begin = g_window.end = nullptr;
  return true;
}

enum class Mapped { read, cannot_map };

// The file through windows mapped one after another, to its end (the end it
// has when the last window is reached: a file that grows meanwhile is read
// on, as read() would). cannot_map: the file's system maps nothing (nothing
// was read then, and the caller streams it).
template <class OnLine>
Mapped read_mapped(int fd, const std::string& path, OnLine& on_line, ReadResult& result) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  SigbusHandler handler;
  MappedCursor cursor;
  size_t window_bytes = kWindowBytes;
  while (true) {
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      result.error = fmt::format("'{}': {}", path, std::strerror(errno));
      result.complete = false;
      break;
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < cursor.line_start) {
      result.error = fmt::format("'{}' shrank while it was read", path);
      result.complete = false;
      break;
    }
    if (size == cursor.line_start) break;
    const uint64_t offset = cursor.line_start / page * page;
    const size_t length = static_cast<size_t>(std::min<uint64_t>(window_bytes, size - offset));
    void* data = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(offset));
    if (data == MAP_FAILED) {
      if (cursor.line_start == 0) return Mapped::cannot_map;
      result.error = fmt::format("'{}': cannot map: {}", path, std::strerror(errno));
      result.complete = false;
      break;
    }
    madvise(data, length, MADV_SEQUENTIAL);  // a file on disk: read ahead, and drop what was read first
    const bool reaches_end = offset + length == size;
    const Window w{static_cast<const char*>(data), offset, length,
                   reaches_end ? (length + page - 1) / page * page : length, reaches_end};
    const uint64_t line_start = cursor.line_start;
    const bool whole = read_window_guarded(w, cursor, on_line);
    munmap(data, length);
    if (!whole) {
      result.error = fmt::format("'{}' shrank while it was read", path);
      result.complete = false;
      break;
    }
    // No whole line in the window: a larger one next time, until the line
    // ends or passes kMaxLineBytes.
    window_bytes = cursor.line_start == line_start ? window_bytes * 2 : kWindowBytes;
  }
  return Mapped::read;
}

// gzip's magic number (RFC 1952) at the start: zlib would inflate the file;
// anything else it passes through as it is.
bool starts_gzip(int fd) {
  unsigned char magic[2];
  return pread(fd, magic, sizeof magic, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// A regular file with bytes in it, not gzip. An empty one is streamed: it
// may be a file of /proc, whose size says 0 whatever it holds.
bool mappable(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && !starts_gzip(fd);
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
  // Standard input may be a file already read partly: streamed from where it stands.
  if (!from_stdin && mappable(fd) && read_mapped(fd, path, add_line, result) == Mapped::read) {
    ::close(fd);
  } else {
    read_stream(fd, path, builder, result);  // closes fd
  }
  if (!result.complete) builder.input_truncated();
  return result;
}

ReadResult read_mapped_lines(const std::string& path, const std::function<void(std::string_view)>& on_line) {
  ReadResult result;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result.error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return result;
  }
  result.opened = true;
  auto hand_over = [&on_line](const char* line, size_t length, size_t) { on_line(std::string_view(line, length)); };
  if (read_mapped(fd, path, hand_over, result) == Mapped::cannot_map) {
    result.error = fmt::format("'{}' cannot be mapped", path);
    result.complete = false;
  }
  ::close(fd);
  return result;
}

}  // namespace flowscore::report
