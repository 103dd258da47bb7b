// Fan-out to several outputs; see include/flowscore/fanout_sink.hpp.
#include "flowscore/fanout_sink.hpp"

#include "flowscore/eve_line.hpp"

namespace flowscore {

bool is_alert_line(std::string_view line) { return eve_event_type(line) == "alert"; }

bool FanoutSink::note(bool ok, const OutputSink& sink) {
  if (!ok) set_error_text(std::string(sink.describe()) + ": " + std::string(sink.last_error()));
  uint64_t bytes = 0, lines = 0;
  for (const Output& o : outputs_) {
    bytes += o.sink->dropped_bytes();
    lines += o.sink->dropped_lines();
  }
  dropped_bytes_ = bytes;
  dropped_lines_ = lines;
  return ok;
}

bool FanoutSink::write(std::string_view data) {
  bool all_ok = true;
  bool alerts_ready = false;
  for (Output& o : outputs_) {
    if (!o.alerts_only) {
      all_ok &= note(o.sink->write(data), *o.sink);
      continue;
    }
    if (!alerts_ready) {  // the alert lines, gathered once for every alerts output
      alerts_.clear();
      for (std::string_view rest = data; !rest.empty();) {
        const size_t newline = rest.find('\n');
        const std::string_view line = rest.substr(0, newline == std::string_view::npos ? rest.size() : newline + 1);
        rest.remove_prefix(line.size());
        if (is_alert_line(line)) alerts_ += line;
      }
      alerts_ready = true;
    }
    if (!alerts_.empty()) all_ok &= note(o.sink->write(alerts_), *o.sink);
  }
  return all_ok;
}

bool FanoutSink::flush() {
  bool all_ok = true;
  for (Output& o : outputs_) all_ok &= note(o.sink->flush(), *o.sink);
  return all_ok;
}

bool FanoutSink::reopen() {
  bool all_ok = true;
  for (Output& o : outputs_) all_ok &= note(o.sink->reopen(), *o.sink);
  return all_ok;
}

std::string FanoutSink::describe() const {
  std::string out;
  for (const Output& o : outputs_)
    out += (out.empty() ? "" : " + ") + o.sink->describe() + (o.alerts_only ? " (alerts)" : "");
  return out;
}

}  // namespace flowscore
