// Rotation of an output file (output.rotate_*, docs/OUTPUT.md): when the
// file would pass a size, or a wall-clock boundary passes, it is renamed
// PATH.<UTC time>Z and a new PATH begins, always between two lines. The
// rotated files are gzipped and the oldest beyond `keep` removed on a
// thread of their own, so the writer never waits on compression or on a
// directory listing.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace flowscore {

struct FileRotation {
  uint64_t max_bytes = 0;          // rotate before the file would pass this size (0: never)
  uint64_t interval_ns = 0;        // rotate at each multiple of this since the epoch, UTC (0: never)
  uint32_t keep = 0;               // rotated files kept, the newest (0: all)
  bool gzip = false;               // compress rotated files to PATH.<time>Z.gz
  uint64_t fsync_interval_ns = 0;  // fdatasync(2) the file at most this often while writing (0: never)
  std::function<uint64_t()> clock; // wall-clock ns; empty: CLOCK_REALTIME (tests give their own)

  bool rotates() const { return max_bytes != 0 || interval_ns != 0; }
  uint64_t now_ns() const;
};

// PATH.YYYYmmddTHHMMSS.uuuuuuZ for a file rotated at `wall_ns`: names sort
// in time order, and microseconds keep two rotations in one second apart.
std::string rotated_file_name(const std::string& path, uint64_t wall_ns);
// Whether `name` (a file name, no directory) is one rotated_file_name made
// for a file named `base`, gzipped or not.
bool is_rotated_file_name(const std::string& base, const std::string& name);

// The background half: gzips each rotated file it is handed, then removes
// the oldest rotated files beyond `keep`. Failures are said on stderr and
// counted; a file that cannot be compressed stays as it is.
class RotatedFileKeeper {
 public:
  RotatedFileKeeper(std::string path, uint32_t keep, bool gzip);
  ~RotatedFileKeeper();  // finishes the files handed to it
  RotatedFileKeeper(const RotatedFileKeeper&) = delete;
  RotatedFileKeeper& operator=(const RotatedFileKeeper&) = delete;

  void rotated(std::string rotated_path);
  uint64_t failures() const;

 private:
  void run();
  bool compress(const std::string& from, std::string& error) const;
  void prune() const;

  const std::string path_;
  const uint32_t keep_;
  const bool gzip_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> pending_;
  bool stopping_ = false;
  uint64_t failures_ = 0;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace flowscore
