// File / stdout sink; see include/flowscore/output_sink.hpp.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "flowscore/output_sink.hpp"

namespace flowscore {

void OutputSink::set_error_text(std::string_view text) {
  last_error_len_ = std::min(text.size(), sizeof last_error_ - 1);
  std::memcpy(last_error_, text.data(), last_error_len_);
}

void OutputSink::count_dropped(std::string_view lines) {
  dropped_bytes_ += lines.size();
  dropped_lines_ += static_cast<uint64_t>(std::count(lines.begin(), lines.end(), '\n'));
  if (!lines.empty() && lines.back() != '\n') ++dropped_lines_;
}

void OutputSink::set_error(int errnum, std::string_view what) {
  // GNU strerror_r returns a pointer that may or may not be `buf`.
  char buf[96];
  const char* text = strerror_r(errnum, buf, sizeof buf);
  size_t n = std::min(what.size(), sizeof last_error_ - 1);
  std::memcpy(last_error_, what.data(), n);
  const std::string_view sep = ": ";
  for (char c : sep) {
    if (n < sizeof last_error_ - 1) last_error_[n++] = c;
  }
  for (const char* p = text; *p && n < sizeof last_error_ - 1; ++p) last_error_[n++] = *p;
  last_error_len_ = n;
}

namespace {
// A run replaces an existing regular file at its output path instead of
// truncating it in place. On ext4 (auto_da_alloc), a file truncated to zero
// and written again is written back synchronously when it is closed: for a
// 590 MB EVE file that was 0.2 s in open() and 1.1 s in close() here,
// against 0.03 s to unlink it. Anything else (a symlink, FIFO, device,
// "/dev/stdout") is opened as it is. A hard link elsewhere keeps the old
// contents. If the unlink fails, open() truncates as before.
void replace_regular_file(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(path.c_str());
}

// A file appended to whose last line has no newline (a run that died
// mid-write, a torn write before a reopen): the next line must start on a
// line of its own. (The sink's own descriptor is write-only.)
bool ends_mid_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  char last = '\n';
  const bool torn = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
                    ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
  ::close(fd);
  return torn;
}

std::string another_writer(const std::string& path) {
  return "output '" + path + "' is being written by another flowscore: give each run its own --out";
}

// A regular file another process holds flock(2)'s exclusive lock on: the
// output of another flowscore that is still running.
bool locked_by_another(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  const bool busy = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_SH | LOCK_NB) != 0 &&
                    errno == EWOULDBLOCK;
  ::close(fd);
  return busy;
}

// Takes the output's lock: a regular file is written by one flowscore at a
// time, so a second run with the same --out is refused rather than
// silently replacing (or interleaving with) the first one's records. FIFOs
// and devices are not locked. Checks that the path still names the file
// locked: another run may have replaced it between open and lock.
bool lock_output(int fd, const std::string& path, std::string& error) {
  struct stat st {}, now {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return true;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || stat(path.c_str(), &now) != 0 || now.st_ino != st.st_ino ||
      now.st_dev != st.st_dev) {
    error = another_writer(path);
    return false;
  }
  return true;
}
}  // namespace

std::unique_ptr<FileSink> FileSink::open(const std::string& path, bool append, std::string& error,
                                         size_t buffer_bytes, FileRotation rotation) {
  if (path == "-") {
    return std::unique_ptr<FileSink>(new FileSink(STDOUT_FILENO, false, path, buffer_bytes));
  }
  if (locked_by_another(path)) {
    error = another_writer(path);
    return nullptr;
  }
  if (!append) replace_regular_file(path);
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    error = "cannot open output '" + path + "': " + std::strerror(errno);
    return nullptr;
  }
  if (!lock_output(fd, path, error)) {
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<FileSink> sink(new FileSink(fd, true, path, buffer_bytes));
  sink->torn_line_ = append && ends_mid_line(path);
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {  // a FIFO or device is not rotated
    sink->rotation_ = std::move(rotation);
    sink->file_bytes_ = static_cast<uint64_t>(st.st_size);
    const uint64_t now = sink->rotation_.now_ns();
    sink->last_sync_ns_ = now;
    if (sink->rotation_.interval_ns)
      sink->next_boundary_ns_ = (now / sink->rotation_.interval_ns + 1) * sink->rotation_.interval_ns;
  }
  return sink;
}

FileSink::FileSink(int fd, bool owns_fd, std::string path, size_t buffer_bytes)
    : fd_(fd),
      owns_fd_(owns_fd),
      path_(std::move(path)),
      error_context_(path_ == "-" ? "write to stdout" : "write to " + path_),
      buffer_(std::max<size_t>(buffer_bytes, 1)) {}

bool FileSink::reopen() {
  if (!owns_fd_) return true;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) {
    set_error(errno, "reopen " + path_);
    return false;
  }
  ::close(fd_);  // releases the old file's lock first: it may be this same file
  fd_ = fd;
  // The new file is this run's output too (a rotation may have left it to
  // another process meanwhile: then it is said, and writing goes on).
  std::string busy;
  if (!lock_output(fd_, path_, busy)) set_error(EWOULDBLOCK, "lock " + path_);
  torn_line_ = ends_mid_line(path_);  // the same file again (nothing rotated) may end in a torn line
  struct stat st {};
  file_bytes_ = fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

FileSink::~FileSink() {
  flush();
  if (owns_fd_) ::close(fd_);
  keeper_.reset();  // the rotated files handed over are compressed and pruned before the run ends
}

bool FileSink::write(std::string_view data) {
  // A failure to end the old file is counted there; these lines go on.
  const bool ended_ok = rotate_if_due();
  return take(data) && ended_ok;
}

bool FileSink::take(std::string_view data) {
  if (used_ + data.size() > buffer_.size()) {
    if (!flush()) {
      count_dropped(data);
      return false;
    }
    if (data.size() > buffer_.size()) {  // larger than the whole buffer: no point copying
      return write_all(data.data(), data.size());
    }
  }
  std::memcpy(buffer_.data() + used_, data.data(), data.size());
  used_ += data.size();
  return true;
}

bool FileSink::flush() {
  if (!rotate_if_due()) return false;
  if (used_ == 0) return true;
  // On failure the buffered lines are dropped (and counted): memory stays
  // bounded and a full disk does not stall the workers.
  const bool ok = write_all(buffer_.data(), used_);
  used_ = 0;
  if (ok && rotation_.fsync_interval_ns) {  // on the writer's thread, never a worker's
    const uint64_t now = rotation_.now_ns();
    if (now - last_sync_ns_ >= rotation_.fsync_interval_ns) {
      if (fdatasync(fd_) == 0) ++syncs_;
      last_sync_ns_ = now;
    }
  }
  return ok;
}

bool FileSink::rotate_if_due() {
  if (rotation_.interval_ns == 0) return true;
  const uint64_t now = rotation_.now_ns();
  if (now < next_boundary_ns_) return true;
  next_boundary_ns_ = (now / rotation_.interval_ns + 1) * rotation_.interval_ns;
  // What is buffered was given before the boundary: it ends the old file.
  const bool ok = used_ == 0 || write_all(buffer_.data(), used_);
  used_ = 0;
  if (file_bytes_ > 0) rotate();  // a failed rotation says why, and writing goes on in the same file
  return ok;
}

bool FileSink::write_all(const char* data, size_t size) {
  if (!rotation_.rotates()) return write_lines(data, size);
  std::string_view rest(data, size);
  while (!rest.empty()) {
    const size_t fit = lines_that_fit(rest);
    if (fit == 0) {  // the file is full: the lines go to the next one
      if (!rotate()) {  // the file goes on past its size rather than lose lines
        return write_lines(rest.data(), rest.size());
      }
      continue;
    }
    if (!write_lines(rest.data(), fit)) {
      count_dropped(rest.substr(fit));
      return false;
    }
    rest.remove_prefix(fit);
  }
  return true;
}

size_t FileSink::lines_that_fit(std::string_view lines) const {
  if (rotation_.max_bytes == 0) return lines.size();
  const uint64_t room = rotation_.max_bytes > file_bytes_ ? rotation_.max_bytes - file_bytes_ : 0;
  if (lines.size() <= room) return lines.size();
  const size_t last = room == 0 ? std::string_view::npos : lines.substr(0, room).rfind('\n');
  if (last != std::string_view::npos) return last + 1;
  if (file_bytes_ > 0) return 0;  // not one more line: rotate first
  const size_t first = lines.find('\n');  // one line longer than a whole file
  return first == std::string_view::npos ? lines.size() : first + 1;
}

bool FileSink::rotate() {
  const std::string rotated = rotated_file_name(path_, rotation_.now_ns());
  if (rotation_.fsync_interval_ns && fdatasync(fd_) == 0) ++syncs_;
  if (::rename(path_.c_str(), rotated.c_str()) != 0) {
    set_error(errno, "rotate " + path_);
    return false;
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) {  // the lines go on into the rotated file: nothing is lost
    set_error(errno, "rotate: create " + path_);
    return false;
  }
  ::close(fd_);
  fd_ = fd;
  std::string busy;
  if (!lock_output(fd_, path_, busy)) set_error(EWOULDBLOCK, "lock " + path_);
  file_bytes_ = 0;
  ++rotations_;
  if (!keeper_) keeper_ = std::make_unique<RotatedFileKeeper>(path_, rotation_.keep, rotation_.gzip);
  keeper_->rotated(rotated);
  return true;
}

bool FileSink::write_lines(const char* data, size_t size) {
  size_t written = 0;
  // A line a failed write cut short and could not take back (a pipe) is
  // ended before the next line, so every later line still parses on its own.
  if (torn_line_) {
    if (!write_fully("\n", 1, written)) {
      count_dropped({data, size});
      return false;
    }
    torn_line_ = false;
  }
  if (write_fully(data, size, written)) {
    file_bytes_ += written;
    return true;
  }
  file_bytes_ += written;
  // The whole lines that went out stay; a line cut short (a full disk takes
  // part of a write) is taken back out, so the file never holds half a record.
  const size_t last_newline = std::string_view(data, written).rfind('\n');
  const size_t whole = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  if (written > whole) {
    if (cut_back(written - whole)) {
      file_bytes_ -= written - whole;
    } else {
      torn_line_ = true;
    }
  }
  count_dropped({data + whole, size - whole});
  return false;
}

bool FileSink::write_fully(const char* data, size_t size, size_t& written) {
  written = 0;
  while (written < size) {
    if (abandoned()) {
      set_error(EINTR, "abandoned writing to " + describe() + " at a second stop signal (its reader was not reading)");
      return false;
    }
    const ssize_t n = ::write(fd_, data + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;  // abandoned() decides
      set_error(errno, error_context_);
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

bool FileSink::cut_back(size_t bytes) {
  struct stat st {};
  return fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) >= bytes &&
         ftruncate(fd_, st.st_size - static_cast<off_t>(bytes)) == 0;
}

std::string FileSink::describe() const { return path_ == "-" ? "stdout" : "file " + path_; }

}  // namespace flowscore
