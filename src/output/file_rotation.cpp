// Rotated output files: their names, and the background gzip and pruning.
#include "flowscore/file_rotation.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace flowscore {

uint64_t FileRotation::now_ns() const {
  if (clock) return clock();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::string rotated_file_name(const std::string& path, uint64_t wall_ns) {
  const time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  return fmt::format("{}.{}.{:06}Z", path, stamp, wall_ns % 1'000'000'000 / 1000);
}

bool is_rotated_file_name(const std::string& base, const std::string& name) {
  // BASE.YYYYmmddTHHMMSS.uuuuuuZ, then ".gz" when compressed ('d': a digit)
  static constexpr std::string_view kStamp = "ddddddddTdddddd.ddddddZ";
  if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0 || name[base.size()] != '.') return false;
  const std::string_view stamp = std::string_view(name).substr(base.size() + 1);
  if (stamp.size() < kStamp.size()) return false;
  for (size_t i = 0; i < kStamp.size(); ++i) {
    if (kStamp[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(stamp[i])) : stamp[i] != kStamp[i]) return false;
  }
  const std::string_view rest = stamp.substr(kStamp.size());
  return rest.empty() || rest == ".gz";
}

RotatedFileKeeper::RotatedFileKeeper(std::string path, uint32_t keep, bool gzip)
    : path_(std::move(path)), keep_(keep), gzip_(gzip), thread_([this] { run(); }) {}

RotatedFileKeeper::~RotatedFileKeeper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RotatedFileKeeper::rotated(std::string rotated_path) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(rotated_path));
  }
  wake_.notify_one();
}

uint64_t RotatedFileKeeper::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void RotatedFileKeeper::run() {
  for (;;) {
    std::string next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything handed over is done
      next = std::move(pending_.front());
      pending_.pop_front();
    }
    std::string error;
    if (gzip_ && !compress(next, error)) {
      fmt::print(stderr, "flowscore: compressing rotated output {} failed: {}; it stays uncompressed\n", next, error);
      std::lock_guard lock(mutex_);
      ++failures_;
    }
    prune();
  }
}

bool RotatedFileKeeper::compress(const std::string& from, std::string& error) const {
  // Into NAME.gz.part, renamed to NAME.gz once whole: a crash leaves the
  // rotated file itself, never a cut .gz that looks finished.
  const std::string done = from + ".gz", part = done + ".part";
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return true;  // pruned meanwhile: older than the files kept
    error = fmt::format("cannot read it: {}", std::strerror(errno));
    return false;
  }
  gzFile out = gzopen(part.c_str(), "wb6");
  if (!out) {
    error = fmt::format("cannot create {}: {}", part, std::strerror(errno));
    return false;
  }
  std::vector<char> block(1 << 20);
  bool ok = true;
  while (ok && in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto n = static_cast<unsigned>(in.gcount());
    if (n > 0 && gzwrite(out, block.data(), n) != static_cast<int>(n)) {
      int errnum = 0;
      error = gzerror(out, &errnum);
      ok = false;
    }
  }
  if (!in.eof() && ok) {
    error = "read error";
    ok = false;
  }
  if (gzclose(out) != Z_OK && ok) {
    error = fmt::format("writing {}: {}", part, std::strerror(errno));
    ok = false;
  }
  if (!ok || std::rename(part.c_str(), done.c_str()) != 0) {
    if (ok) error = fmt::format("rename to {}: {}", done, std::strerror(errno));
    std::remove(part.c_str());
    return false;
  }
  std::remove(from.c_str());
  return true;
}

void RotatedFileKeeper::prune() const {
  if (keep_ == 0) return;
  namespace fs = std::filesystem;
  const fs::path path(path_);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string base = path.filename().string();
  std::vector<std::string> rotated;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_rotated_file_name(base, name)) rotated.push_back(name);
  }
  if (rotated.size() <= keep_) return;
  std::sort(rotated.begin(), rotated.end());  // oldest first: the names hold the time
  for (size_t i = 0; i + keep_ < rotated.size(); ++i) fs::remove(dir / rotated[i], ec);
}

}  // namespace flowscore
