#include "progress_line.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace flowscore {
namespace {

constexpr double kRedrawSeconds = 0.25;
// A classic pcap record header; pcapng's are bigger, so the estimate of
// bytes read runs a little behind on pcapng, never ahead.
constexpr uint64_t kRecordHeaderBytes = 16, kFileHeaderBytes = 24;

std::string clock_text(double seconds) {
  const auto s = static_cast<uint64_t>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressLine::ProgressLine(uint64_t capture_bytes, size_t files, bool enabled)
    : capture_bytes_(capture_bytes), files_(files), enabled_(enabled && capture_bytes > 0) {}

std::string ProgressLine::text(double fraction, double packets_per_s, uint64_t flows_active, double seconds_left) {
  return fmt::format("flowscore: {:5.1f}% read, {:.2f} Mpkt/s, {} flows tracked, {} left", 100 * fraction,
                     packets_per_s / 1e6, flows_active, seconds_left >= 0 ? clock_text(seconds_left) : "-:--");
}

void ProgressLine::update(const RunStats& s, double elapsed_s) {
  if (!enabled_ || elapsed_s - last_drawn_s_ < kRedrawSeconds) return;
  last_drawn_s_ = elapsed_s;
  uint64_t read = kFileHeaderBytes * files_;
  for (const PortStats& p : s.ports) read += p.bytes + kRecordHeaderBytes * p.packets;
  const double fraction = std::min(0.999, double(read) / double(capture_bytes_));
  uint64_t active = 0;
  for (const WorkerStats& w : s.workers) active += w.flows_active;
  const double left = fraction > 0.001 ? elapsed_s * (1 - fraction) / fraction : -1;
  const double rate = elapsed_s > 0 ? double(s.total.packets.packets) / elapsed_s : 0;
  fmt::print(stderr, "\r\033[K{}", text(fraction, rate, active, left));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (!drawn_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace flowscore
