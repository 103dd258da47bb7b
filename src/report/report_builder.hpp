// `flowscore report`'s aggregation: EVE lines in (flow, alert, campaign and
// stats events, flowscore's own output), the small summary a report draws
// out. Memory is bounded whatever the input: time series over at most
// kMaxBins intervals (the interval doubles as the span grows), top lists in
// TopCounts, stats events thinned to kMaxHealthPoints.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "top_counts.hpp"

namespace flowscore::report {

// EVE's "2024-04-14T07:27:12.931971+0000" (also 'Z', "+00:00", without
// fraction) as seconds since 1970. nullopt when it is not such a time.
std::optional<double> parse_eve_time(std::string_view text);

// The bytes of an EVE time up to its minute: "2024-04-14T07:27".
constexpr size_t kEveMinuteBytes = 16;

// parse_eve_time that remembers the minute of the last time it read:
// consecutive events mostly share it, and the date is most of the parse.
// The same times, the same doubles.
class EveClock {
 public:
  std::optional<double> parse(std::string_view text);

 private:
  bool have_minute_ = false;
  char minute_text_[kEveMinuteBytes] = {};
  int64_t minute_seconds_ = 0;
};

struct ReportOptions {
  size_t top = 20;  // entries per top list
};

class ReportBuilder {
 public:
  static constexpr size_t kMaxBins = 2048;
  static constexpr size_t kMaxHealthPoints = 4096;
  static constexpr size_t kScoreBins = 20;
  static constexpr size_t kMaxInterfaces = 64;  // in_iface names listed; the rest are summed

  explicit ReportBuilder(ReportOptions options);

  // Records that follow come from this input (an EVE file).
  void begin_input(const std::string& name);
  // The current input could not be read to its end (what was read counts).
  void input_truncated() { if (!inputs_.empty()) inputs_.back().truncated = true; }
  // One line; `padded` bytes after `line` are readable (simdjson's padding).
  // A line that is not an EVE event is counted, not fatal.
  void add_line(const char* line, size_t length, size_t padded);

  uint64_t lines() const { return lines_; }
  uint64_t unparsed() const { return unparsed_; }
  // Everything the HTML draws, as one JSON document (the report embeds it).
  // Not const: the top lists first apply the adds they still hold queued.
  nlohmann::json summary();

 private:
  struct Bin {
    uint64_t flows[4] = {}, packets[4] = {}, bytes[4] = {};  // per protocol: TCP, UDP, ICMP, other
    uint64_t benign = 0, scored = 0;
    std::vector<uint64_t> alerts;  // per class index
  };
  struct Input {
    std::string name;
    bool truncated = false;  // the file ended in the middle (a gzip cut short)
    uint64_t flows = 0, alerts = 0, campaigns = 0, stats = 0, kernel_drops = 0, not_flowed = 0,
             records_dropped = 0;
  };
  // Flow and alert events per in_iface (a capture file offline, a port
  // live); "" for events without one (flowscore before in_iface).
  struct Interface {
    std::string name;
    uint64_t flows = 0, alerts = 0, packets = 0, bytes = 0;
  };
  struct HealthPoint {
    double t;
    std::string host;
    uint64_t packets, kernel_drops, not_flowed, records_dropped, write_failures, reloads;
  };

  // The fields of one event the report reads.
  struct EventFields {
    std::string_view timestamp, event_type, proto, src_ip, dest_ip, community_id, host, in_iface;
    std::optional<simdjson::dom::element> flow, flowscore, alert, stats;
  };

  static void merge_bins(Bin& to, const Bin& from);
  void add_flow(const EventFields& e, double t);
  void add_alert(const EventFields& e, double t);
  void add_campaign(const EventFields& e, double t);
  void note_model(const simdjson::dom::element& model);
  void add_stats(const EventFields& e, double t);
  Bin& bin_at(double t);
  size_t class_index(std::string_view label);
  Interface& interface(std::string_view name);

  ReportOptions options_;
  simdjson::dom::parser parser_;
  EveClock clock_;
  uint64_t lines_ = 0, unparsed_ = 0, other_events_ = 0;

  // Time series: bin i covers [i, i+1) x bin_seconds_ from 1970.
  double bin_seconds_ = 1;
  std::map<int64_t, Bin> bins_;
  int64_t last_key_ = 0;
  Bin* last_bin_ = nullptr;

  std::vector<std::string> classes_;  // in order of first appearance
  std::string benign_class_ = "benign";
  std::vector<uint64_t> alerts_per_class_, flows_per_class_;
  std::vector<std::vector<uint64_t>> score_hist_;  // [class][bin]

  double first_t_ = 0, last_t_ = 0;
  uint64_t flows_ = 0, packets_ = 0, bytes_ = 0, alerts_ = 0, campaigns_ = 0, stats_events_ = 0;
  uint64_t flows_by_proto_[4] = {};
  std::map<std::string, uint64_t> campaigns_by_rule_;
  std::set<std::string, std::less<>> hosts_, models_;
  std::string last_host_;  // the last event's host, noted in hosts_ (or hosts_ was full)

  // Hosts by flows, bytes and alerts (measures 0, 1, 2), as source and as
  // target; host pairs by alerts.
  TopCounts<3> sources_, targets_;
  TopCounts<1> alert_pairs_;
  std::string model_text_;  // scratch for "name (hash)"
  std::vector<Input> inputs_;
  std::vector<Interface> interfaces_;  // at most kMaxInterfaces, in order of first appearance
  Interface unlisted_interfaces_;      // events from interfaces past that
  size_t last_interface_ = 0;
  std::vector<HealthPoint> health_;
  size_t health_stride_ = 1, health_seen_ = 0;
  std::map<std::string, std::map<std::string, uint64_t>> last_not_flowed_;  // host -> reason -> count
};

}  // namespace flowscore::report
