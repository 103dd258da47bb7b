// Fan-out to several outputs; see include/flowscore/fanout_sink.hpp.
#include "flowscore/fanout_sink.hpp"

#include <fmt/format.h>

#include "flowscore/eve_line.hpp"

namespace flowscore {

bool is_alert_line(std::string_view line) { return eve_event_type(line) == "alert"; }

bool in_benign_sample(std::string_view line, float rate) {
  if (rate <= 0 || eve_event_type(line) != "flow" || line.find("\"alerted\":false") == std::string_view::npos)
    return false;
  const std::string_view cid = eve_string_field(line, "community_id");
  if (cid.empty()) return false;
  uint64_t h = 14695981039346656037ull;
  for (const char c : cid) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<double>(h) < static_cast<double>(rate) * 18446744073709551616.0;
}

void append_sampled(std::string_view line, float rate, std::string& out) {
  const std::string member = fmt::format("\"sample_rate\":{}", rate);
  constexpr std::string_view kObject = "\"flowscore\":{";
  const size_t at = line.find(kObject);  // flowscore's own object, written once per line
  if (at != std::string_view::npos) {
    const size_t inside = at + kObject.size();
    out.append(line.substr(0, inside)).append(member);
    if (line[inside] != '}') out += ',';
    out.append(line.substr(inside));
    return;
  }
  const size_t close = line.rfind('}');  // an unscored flow: an object of its own
  out.append(line.substr(0, close)).append(",\"flowscore\":{").append(member).append("}").append(line.substr(close));
}

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
  for (Output& o : outputs_) {
    if (!o.alerts_only) {
      all_ok &= note(o.sink->write(data), *o.sink);
      continue;
    }
    selected_.clear();
    for (std::string_view rest = data; !rest.empty();) {
      const size_t newline = rest.find('\n');
      const std::string_view line = rest.substr(0, newline == std::string_view::npos ? rest.size() : newline + 1);
      rest.remove_prefix(line.size());
      if (is_alert_line(line)) {
        selected_ += line;
      } else if (in_benign_sample(line, o.benign_sample)) {
        append_sampled(line, o.benign_sample, selected_);
      }
    }
    if (!selected_.empty()) all_ok &= note(o.sink->write(selected_), *o.sink);
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
