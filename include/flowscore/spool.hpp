// A bounded on-disk queue of EVE lines for one collector output (TCP,
// syslog, Kafka): while the collector is down or cannot keep up, lines go
// here instead of being dropped, and are handed on, oldest first, when it
// takes lines again. It outlives the process: a restart resumes it.
//
// Layout: a directory of segment files, NNNNNNNNNNNNNNNN.seg in order, each
// whole lines, appended with write(2) and fsynced every `fsync_interval_ms`.
// A segment is deleted once every line of it has been handed on. A clean
// close() rewrites a partly handed-on first segment as its remainder, so a
// restart repeats nothing; after a crash the first segment's lines since
// its start may be handed on again (at least once). A torn last line (a
// crash mid-write) is cut off at open.
//
// Bounded by `max_bytes`: when full, "drop_oldest" deletes the oldest
// segments, "drop_newest" refuses the new lines; either way every line lost
// is counted.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace flowscore {

class Spool {
 public:
  struct Options {
    std::string dir;
    uint64_t max_bytes = 1ull << 30;
    bool drop_oldest = true;
    uint64_t fsync_interval_ms = 1000;
    uint64_t segment_bytes = 8u << 20;
  };
  struct Counters {
    uint64_t recovered_lines = 0;  // found at open, from an earlier run
    uint64_t spooled_lines = 0;    // appended by this run
    uint64_t handed_on_lines = 0;  // taken by the collector
    uint64_t dropped_lines = 0;    // lost to the bound
  };

  // Creates the directory if needed and takes up what an earlier run left.
  static std::unique_ptr<Spool> open(const Options& options, std::string& error);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends whole lines (each ending in '\n'). False when the disk refused
  // them (counted dropped; error() says why).
  bool append(std::string_view lines);
  // Puts whole lines before everything spooled (lines a collector held
  // unsent, older than what queued behind them here). Same bound.
  bool prepend(std::string_view lines);
  // The oldest lines, whole, about `max_bytes` of them (at least one line);
  // empty when the spool is. Valid until the next call.
  std::string_view peek(size_t max_bytes);
  // The first `bytes` of what peek() returned were handed on.
  void consume(size_t bytes);
  // fsync the segment being written, if `fsync_interval_ms` has passed.
  void sync_if_due();
  // Leaves the spool for the next start (see above).
  void close();

  bool empty() const { return bytes_ == 0; }
  uint64_t bytes() const { return bytes_; }
  uint64_t lines() const { return lines_; }
  const Counters& counters() const { return counters_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Segment {
    uint64_t seq = 0;
    uint64_t bytes = 0, lines = 0;           // in the file
    uint64_t read_bytes = 0, read_lines = 0;  // handed on
  };
  explicit Spool(Options options) : options_(std::move(options)) {}
  std::string path_of(uint64_t seq) const;
  bool start_segment();  // a new segment to append to
  void drop_oldest_segment();
  bool write_all(std::string_view data);
  std::string_view fit(std::string_view data, uint64_t room);
  void rewrite_remainder(Segment& s);

  Options options_;
  std::deque<Segment> segments_;
  int write_fd_ = -1;  // the last segment's
  int read_fd_ = -1;   // the first segment's
  uint64_t read_seq_ = 0;
  uint64_t bytes_ = 0, lines_ = 0;  // not yet handed on
  uint64_t last_sync_ms_ = 0;
  bool dirty_ = false;
  std::string chunk_;
  Counters counters_;
  std::string error_;
};

}  // namespace flowscore
