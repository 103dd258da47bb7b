// The progress line of a long offline run (issue 16 §3), in the style of pv:
// percent of the capture bytes read, packets per second, flows tracked and
// the time left, redrawn in place on standard error a few times a second.
// Only when standard error is a terminal and the run is not --quiet; a
// pipe or a log file never sees it.
#pragma once
#include <cstdint>
#include <string>

#include "run_stats.hpp"

namespace flowscore {

class ProgressLine {
 public:
  // capture_bytes: the captures' total size; 0 turns the line off.
  ProgressLine(uint64_t capture_bytes, size_t files, bool enabled);
  ~ProgressLine() { finish(); }

  bool enabled() const { return enabled_; }
  // Draws s unless the last drawing is under kRedrawNs old.
  void update(const RunStats& s, double elapsed_s);
  // Clears the line, so the summary that follows starts on a clean one.
  void finish();

  // The text of one line (tests call it directly).
  static std::string text(double fraction, double packets_per_s, uint64_t flows_active, double seconds_left);

 private:
  uint64_t capture_bytes_;
  size_t files_;
  bool enabled_;
  bool drawn_ = false;
  double last_drawn_s_ = -1;
};

}  // namespace flowscore
