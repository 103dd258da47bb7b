// Campaigns: attacks made of many flows, found without the model
// (docs/OUTPUT.md "Campaigns").
//
// A flood, a reflection, a scan or a password-guessing run is a property of
// many flows, each of which may look harmless alone. Four rules watch the
// context (src/context) as records pass the writer:
// - one_sided_fan_in: many sources, many one-sided flows toward one target
//   (direct floods, random-spoofed floods, reflection: class flood, or
//   amplification when the flows look like replies);
// - unanswered_syn: one source's SYNs toward one service go unanswered
//   (a single-source SYN flood: class flood);
// - fan_out: one source's one-sided flows reach many host:ports (scan);
// - repeat: one source opens many short, answered sessions to one service
//   (password guessing: class bruteforce);
// - packet_rate: a one-sided flow carries many packets at a high rate (a
//   flood in few flows, such as a ping flood: class flood; toward a
//   multicast or broadcast group, a smurf: class amplification).
// Flows count in the direction their packets went (FlowTraits: a reflected
// SYN-ACK's receiver is its target). A rule that fires opens a campaign
// keyed by its target or source (a target's floods and its reflections
// apart); later
// flows that fit the rule's key and per-flow condition join it. An EVE alert
// event reports each campaign when it opens, every report_interval while it
// goes on (capture time), and when it ends (idle_timeout without a flow, or
// the end of the run). Each flow in one carries its id (campaign_id).
// Memory is bounded: at most max_open campaigns; one more is counted and not
// tracked.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "flowscore/context.hpp"
#include "flowscore/flow_record.hpp"

namespace flowscore {

struct CampaignConfig {
  bool enabled = true;
  uint32_t fan_in_sources = 50;       // one_sided_fan_in: distinct sources toward the target...
  uint32_t fan_in_one_sided = 100;    // ...and one-sided flows toward it
  uint32_t syn_unanswered = 100;      // unanswered_syn: SYNs from one source to one service
  uint32_t fan_out_targets = 100;     // fan_out: distinct host:ports of one source...
  uint32_t fan_out_one_sided = 100;   // ...and its one-sided flows
  uint32_t repeat_flows = 100;        // repeat: answered flows from one source to one service...
  uint32_t repeat_max_packets = 40;   // ...each at most this long (logins, not downloads)
  uint32_t rate_min_packets = 500;    // packet_rate: a one-sided flow of at least this many packets...
  uint32_t rate_pps = 1000;           // ...sent at least this fast (packets per second)
  uint64_t report_interval_ns = 60'000'000'000;
  uint64_t idle_timeout_ns = 120'000'000'000;
  uint32_t max_open = 4096;
};

enum class CampaignRule : uint8_t { kOneSidedFanIn, kUnansweredSyn, kFanOut, kRepeat, kPacketRate, kCount };
std::string_view campaign_rule_name(CampaignRule r);

// How a campaign's alert event names its class.
struct CampaignClassInfo {
  std::string category;
  int severity = 2;
};

class CampaignTracker {
 public:
  // `classes`: category and severity by class name (flood, amplification,
  // scan, bruteforce); a missing one reports an empty category, severity 2.
  CampaignTracker(const CampaignConfig& cfg, std::string sensor_name,
                  std::unordered_map<std::string, CampaignClassInfo> classes);

  // Counts `r` in the campaign it belongs to, opening one when a rule fires,
  // and appends campaign events to `out`. Returns the campaign id, 0 for none.
  uint32_t observe(const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx, uint32_t scope,
                   fmt::memory_buffer& out);
  // Ends every open campaign (end of the run).
  void finish(fmt::memory_buffer& out);

  struct Counters {
    uint64_t opened = 0;
    uint64_t events = 0;
    uint64_t flows = 0;        // records counted in a campaign
    uint64_t not_tracked = 0;  // would have opened one, but max_open were open
  };
  const Counters& counters() const { return counters_; }

 private:
  static constexpr int kTop = 8;  // space-saving counters kept; the event lists the top 5
  struct TopEntry {
    IpAddress addr;
    uint64_t flows = 0;  // estimate: at least the true count
    uint64_t error = 0;  // inherited from the entry it replaced: flows - error is a lower bound
  };
  struct Campaign {
    uint32_t id = 0;
    uint32_t scope = 0;
    CampaignRule rule = CampaignRule::kOneSidedFanIn;
    uint8_t ip_version = 4;
    uint8_t proto = 0;
    uint16_t port = 0;            // the service, for rules keyed by one
    bool amplification = false;   // one_sided_fan_in: the flows look like replies
    IpAddress source, target;     // what the rule is keyed by (one or both)
    uint64_t first_ns = 0, last_ns = 0, reported_ns = 0;
    uint64_t flows = 0, packets = 0, bytes = 0;
    ContextValues context;        // at the latest flow
    TopEntry top[kTop];           // the other side: sources of a target, targets of a source
  };
  struct Scope {
    uint64_t clock_ns = 0;
    uint64_t next_sweep_ns = 0;
  };

  bool fires(CampaignRule rule, const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx) const;
  bool fits(CampaignRule rule, const FlowRecord& r, const FlowTraits& t) const;
  static uint64_t key_of(CampaignRule rule, const FlowRecord& r, const FlowTraits& t, uint32_t scope);
  void join(Campaign& c, const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx);
  void sweep(uint32_t scope, uint64_t now_ns, fmt::memory_buffer& out);
  void write_event(const Campaign& c, std::string_view phase, uint64_t ts_ns, fmt::memory_buffer& out);
  std::string_view class_of(const Campaign& c) const;

  CampaignConfig cfg_;
  std::string host_member_;  // `"host":"...",` or empty
  std::unordered_map<std::string, CampaignClassInfo> classes_;
  std::unordered_map<uint64_t, Campaign> open_;
  uint32_t open_per_rule_[static_cast<size_t>(CampaignRule::kCount)] = {};  // no lookup for a rule with none open
  std::unordered_map<uint32_t, Scope> scopes_;
  uint32_t next_id_ = 1;
  Counters counters_;
};

}  // namespace flowscore
