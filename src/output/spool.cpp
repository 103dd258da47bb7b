// On-disk spool; see include/flowscore/spool.hpp.
#include "flowscore/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

namespace flowscore {

namespace fs = std::filesystem;

namespace {

uint64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t count_lines(std::string_view s) { return static_cast<uint64_t>(std::count(s.begin(), s.end(), '\n')); }

// A file's bytes up to and including its last newline (a torn last line,
// from a crash mid-write, is cut off); its lines.
bool scan_segment(const std::string& path, uint64_t& bytes, uint64_t& lines) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  std::vector<char> buffer(1 << 20);
  bytes = lines = 0;
  uint64_t offset = 0, whole = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i)
      if (buffer[i] == '\n') {
        ++lines;
        whole = offset + static_cast<uint64_t>(i) + 1;
      }
    offset += static_cast<uint64_t>(n);
  }
  if (whole != offset && ::ftruncate(fd, static_cast<off_t>(whole)) != 0) whole = offset;  // keep what we cannot cut
  bytes = whole;
  ::close(fd);
  return true;
}

}  // namespace

std::unique_ptr<Spool> Spool::open(const Options& options, std::string& error) {
  std::unique_ptr<Spool> spool(new Spool(options));
  // At least eight segments to a full spool, so the bound drops an eighth
  // of it at a time, not all of it.
  spool->options_.segment_bytes = std::max<uint64_t>(4096, std::min(options.segment_bytes, options.max_bytes / 8));
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    error = fmt::format("spool directory {}: {}", options.dir, ec.message());
    return nullptr;
  }
  std::vector<uint64_t> seqs;
  for (const auto& e : fs::directory_iterator(options.dir, ec)) {
    const std::string name = e.path().filename();
    if (name.size() == 20 && name.ends_with(".seg") &&
        std::all_of(name.begin(), name.begin() + 16, [](char c) { return c >= '0' && c <= '9'; }))
      seqs.push_back(std::stoull(name.substr(0, 16)));
  }
  if (ec) {
    error = fmt::format("spool directory {}: {}", options.dir, ec.message());
    return nullptr;
  }
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t seq : seqs) {
    Segment s;
    s.seq = seq;
    if (!scan_segment(spool->path_of(seq), s.bytes, s.lines)) {
      error = fmt::format("spool segment {}: {}", spool->path_of(seq), std::strerror(errno));
      return nullptr;
    }
    if (s.bytes == 0) {
      fs::remove(spool->path_of(seq), ec);
      continue;
    }
    spool->segments_.push_back(s);
    spool->bytes_ += s.bytes;
    spool->lines_ += s.lines;
  }
  spool->counters_.recovered_lines = spool->lines_;
  spool->last_sync_ms_ = now_ms();
  return spool;
}

Spool::~Spool() { close(); }

std::string Spool::path_of(uint64_t seq) const { return fmt::format("{}/{:016}.seg", options_.dir, seq); }

bool Spool::start_segment() {
  if (write_fd_ >= 0) ::close(write_fd_);
  Segment s;
  // Numbered from 2^32 up, so lines handed back (prepend) fit below.
  s.seq = segments_.empty() ? std::max<uint64_t>(read_seq_ + 1, 1ull << 32) : segments_.back().seq + 1;
  write_fd_ = ::open(path_of(s.seq).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (write_fd_ < 0) {
    error_ = fmt::format("spool segment {}: {}", path_of(s.seq), std::strerror(errno));
    return false;
  }
  segments_.push_back(s);
  return true;
}

void Spool::drop_oldest_segment() {
  const Segment s = segments_.front();
  counters_.dropped_lines += s.lines - s.read_lines;
  bytes_ -= s.bytes - s.read_bytes;
  lines_ -= s.lines - s.read_lines;
  if (read_fd_ >= 0 && read_seq_ == s.seq) {
    ::close(read_fd_);
    read_fd_ = -1;
  }
  if (segments_.size() == 1 && write_fd_ >= 0) {  // the segment being written: the next append starts another
    ::close(write_fd_);
    write_fd_ = -1;
  }
  read_seq_ = std::max(read_seq_, s.seq);
  ::unlink(path_of(s.seq).c_str());
  segments_.pop_front();
}

bool Spool::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(write_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = fmt::format("spool segment {}: {}", path_of(segments_.back().seq), std::strerror(n < 0 ? errno : ENOSPC));
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The lines of `data` that the bound keeps: the last ones that fit in
// `room` bytes (drop_oldest) or the first ones (drop_newest); the others
// are counted dropped.
std::string_view Spool::fit(std::string_view data, uint64_t room) {
  if (data.size() <= room) return data;
  if (options_.drop_oldest) {
    size_t start = data.size() - static_cast<size_t>(room);
    if (start > 0 && data[start - 1] != '\n') {  // into the next whole line
      const size_t nl = data.find('\n', start);
      start = nl == std::string_view::npos ? data.size() : nl + 1;
    }
    counters_.dropped_lines += count_lines(data.substr(0, start));
    return data.substr(start);
  }
  const size_t end = room == 0 ? std::string_view::npos : data.rfind('\n', static_cast<size_t>(room) - 1);
  const size_t keep = end == std::string_view::npos ? 0 : end + 1;
  counters_.dropped_lines += count_lines(data.substr(keep));
  return data.substr(0, keep);
}

bool Spool::prepend(std::string_view data) {
  if (segments_.empty()) return append(data);
  // Older than everything spooled: the bound drops from these first
  // (drop_oldest: their oldest lines; drop_newest: whatever does not fit).
  data = fit(data, options_.max_bytes - std::min(bytes_, options_.max_bytes));
  if (data.empty()) return true;
  const uint64_t seq = segments_.front().seq - 1;
  const std::string path = path_of(seq);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  bool ok = fd >= 0 && seq > 0;
  for (std::string_view rest = data; ok && !rest.empty();) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    ok = n > 0 || (n < 0 && errno == EINTR);
    if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
  }
  ok = ok && ::fdatasync(fd) == 0;
  if (fd >= 0) ::close(fd);
  const uint64_t lines = count_lines(data);
  if (!ok) {
    ::unlink(path.c_str());
    error_ = fmt::format("spool segment {}: {}", path, std::strerror(errno));
    counters_.dropped_lines += lines;
    return false;
  }
  if (read_fd_ >= 0) {  // the reader moves to the new first segment
    ::close(read_fd_);
    read_fd_ = -1;
  }
  segments_.push_front(Segment{seq, data.size(), lines, 0, 0});
  bytes_ += data.size();
  lines_ += lines;
  counters_.spooled_lines += lines;
  return true;
}

bool Spool::append(std::string_view data) {
  if (options_.drop_oldest) {
    data = fit(data, options_.max_bytes);  // more than the whole bound: its newest lines
    while (bytes_ + data.size() > options_.max_bytes && !segments_.empty()) drop_oldest_segment();
  } else {
    data = fit(data, options_.max_bytes - std::min(bytes_, options_.max_bytes));
  }
  if (data.empty()) return true;
  const uint64_t lines = count_lines(data);
  if ((write_fd_ < 0 || segments_.empty() || segments_.back().bytes >= options_.segment_bytes) && !start_segment()) {
    counters_.dropped_lines += lines;
    return false;
  }
  Segment& back = segments_.back();
  const off_t before = static_cast<off_t>(back.bytes);
  if (!write_all(data)) {
    // Whatever part went out is cut off again, so the segment stays whole lines.
    if (::ftruncate(write_fd_, before) != 0) {
      ::close(write_fd_);
      write_fd_ = -1;  // a fresh segment for the next append
    }
    counters_.dropped_lines += lines;
    return false;
  }
  back.bytes += data.size();
  back.lines += lines;
  bytes_ += data.size();
  lines_ += lines;
  counters_.spooled_lines += lines;
  dirty_ = true;
  return true;
}

std::string_view Spool::peek(size_t max_bytes) {
  chunk_.clear();
  if (segments_.empty()) return {};
  const Segment& s = segments_.front();
  if (read_fd_ < 0 || read_seq_ != s.seq) {
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = ::open(path_of(s.seq).c_str(), O_RDONLY | O_CLOEXEC);
    read_seq_ = s.seq;
    if (read_fd_ < 0) {
      error_ = fmt::format("spool segment {}: {}", path_of(s.seq), std::strerror(errno));
      return {};
    }
  }
  // At least one whole line, however long.
  size_t want = std::max<size_t>(max_bytes, 4096);
  for (;;) {
    const uint64_t left = s.bytes - s.read_bytes;
    chunk_.resize(static_cast<size_t>(std::min<uint64_t>(want, left)));
    const ssize_t n = ::pread(read_fd_, chunk_.data(), chunk_.size(), static_cast<off_t>(s.read_bytes));
    if (n <= 0) {
      error_ = fmt::format("spool segment {}: {}", path_of(s.seq), n < 0 ? std::strerror(errno) : "shorter than written");
      chunk_.clear();
      return {};
    }
    chunk_.resize(static_cast<size_t>(n));
    const size_t last = chunk_.rfind('\n');
    if (last != std::string::npos) {
      chunk_.resize(last + 1);
      return chunk_;
    }
    if (static_cast<uint64_t>(n) >= left) return {};  // cannot happen: segments hold whole lines
    want *= 2;
  }
}

void Spool::consume(size_t bytes) {
  if (segments_.empty() || bytes == 0) return;
  Segment& s = segments_.front();
  const uint64_t lines = count_lines(std::string_view(chunk_).substr(0, bytes));
  s.read_bytes += bytes;
  s.read_lines += lines;
  bytes_ -= bytes;
  lines_ -= lines;
  counters_.handed_on_lines += lines;
  if (s.read_bytes < s.bytes) return;
  // Every line of the first segment is handed on: it goes.
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = -1;
  if (segments_.size() == 1 && write_fd_ >= 0) {
    ::close(write_fd_);
    write_fd_ = -1;
  }
  read_seq_ = s.seq;
  ::unlink(path_of(s.seq).c_str());
  segments_.pop_front();
}

void Spool::sync_if_due() {
  if (!dirty_ || write_fd_ < 0 || now_ms() - last_sync_ms_ < options_.fsync_interval_ms) return;
  ::fdatasync(write_fd_);
  dirty_ = false;
  last_sync_ms_ = now_ms();
}

void Spool::close() {
  if (write_fd_ >= 0) {
    if (dirty_) ::fdatasync(write_fd_);
    ::close(write_fd_);
    write_fd_ = -1;
  }
  if (read_fd_ >= 0) {
    ::close(read_fd_);
    read_fd_ = -1;
  }
  // A segment partly handed on (the first, or the second behind lines
  // handed back by prepend) becomes its remainder, so the next start
  // repeats nothing.
  for (Segment& s : segments_)
    if (s.read_bytes > 0) rewrite_remainder(s);
}

void Spool::rewrite_remainder(Segment& s) {
  const std::string path = path_of(s.seq), tmp = path + ".tmp";
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = in >= 0 && out >= 0;
  std::vector<char> buffer(1 << 20);
  for (uint64_t at = s.read_bytes; ok && at < s.bytes;) {
    const ssize_t n = ::pread(in, buffer.data(), std::min<uint64_t>(buffer.size(), s.bytes - at), static_cast<off_t>(at));
    ok = n > 0 && ::write(out, buffer.data(), static_cast<size_t>(n)) == n;
    at += n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  ok = ok && ::fdatasync(out) == 0;
  if (in >= 0) ::close(in);
  if (out >= 0) ::close(out);
  if (ok && ::rename(tmp.c_str(), path.c_str()) == 0) {
    s.bytes -= s.read_bytes;
    s.lines -= s.read_lines;
    s.read_bytes = s.read_lines = 0;
  } else {
    ::unlink(tmp.c_str());  // the whole segment stays: its first lines will be handed on again
  }
}

}  // namespace flowscore
