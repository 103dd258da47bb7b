#include "run_stats.hpp"

#include <algorithm>
#include <iterator>

#include "flowscore/eve.hpp"
#include "flowscore/flow_record.hpp"

namespace flowscore {

void ScoreCounters::add(const ScoreCounters& o) {
  batches += o.batches;
  flows_scored += o.flows_scored;
  alerts += o.alerts;
  model_swaps += o.model_swaps;
  latency_max_tsc = std::max(latency_max_tsc, o.latency_max_tsc);
  latency_sum_tsc += o.latency_sum_tsc;
}

namespace {

void add_worker(WorkerStats& t, const WorkerStats& w) {
  WorkerCounters& p = t.packets;
  p.packets += w.packets.packets;
  p.wire_bytes += w.packets.wire_bytes;
  for (size_t i = 0; i < std::size(p.parse_drops); ++i) p.parse_drops[i] += w.packets.parse_drops[i];
  p.fragments_unattributed += w.packets.fragments_unattributed;
  p.bursts += w.packets.bursts;
  p.empty_polls += w.packets.empty_polls;

  FlowTableCounters& f = t.flows;
  f.flows_created += w.flows.flows_created;
  f.records_emitted += w.flows.records_emitted;
  f.records_dropped += w.flows.records_dropped;
  f.expired_idle += w.flows.expired_idle;
  f.expired_active += w.flows.expired_active;
  f.expired_tcp_close += w.flows.expired_tcp_close;
  f.evicted_pressure += w.flows.evicted_pressure;
  f.flushed += w.flows.flushed;
  f.tcp_port_reuse += w.flows.tcp_port_reuse;
  f.insert_failed += w.flows.insert_failed;

  t.fragments.first_seen += w.fragments.first_seen;
  t.fragments.attributed += w.fragments.attributed;
  t.fragments.unattributed += w.fragments.unattributed;
  t.fragments.overwritten += w.fragments.overwritten;
  t.scoring.add(w.scoring);
  t.flows_active += w.flows_active;
  t.flow_memory_bytes += w.flow_memory_bytes;
  t.pair_evictions += w.pair_evictions;
  t.app_proto.flows_inspected += w.app_proto.flows_inspected;
  t.app_proto.flows_detected += w.app_proto.flows_detected;
  t.app_proto.flows_failed += w.app_proto.flows_failed;
  t.app_proto.flows_no_slot += w.app_proto.flows_no_slot;
  t.app_proto.packets_inspected += w.app_proto.packets_inspected;
  t.records_waited += w.records_waited;
  t.records_abandoned += w.records_abandoned;
}

nlohmann::ordered_json score_json(const ScoreCounters& c, uint64_t tsc_hz) {
  const double ms_per_tsc = 1e3 / double(tsc_hz);
  return {{"batches", c.batches},
          {"flows", c.flows_scored},
          {"alerts", c.alerts},
          {"latency_mean_ms", c.batches ? double(c.latency_sum_tsc) / double(c.batches) * ms_per_tsc : 0.0},
          {"latency_max_ms", double(c.latency_max_tsc) * ms_per_tsc}};
}

}  // namespace

void RunStats::sum(const ScoreCounters* writer_scoring) {
  total = WorkerStats{};
  for (const WorkerStats& w : workers) add_worker(total, w);
  if (writer_scoring) total.scoring.add(*writer_scoring);
}

uint64_t RunStats::malformed() const {
  uint64_t n = 0;
  for (size_t i = static_cast<size_t>(ParseStatus::kNotIp) + 1; i < std::size(total.packets.parse_drops); ++i) n += total.packets.parse_drops[i];
  return n;
}

uint64_t RunStats::arrived() const {
  uint64_t n = 0;
  for (const PortStats& p : ports) n += p.packets + p.dropped();
  return n;
}

uint64_t RunStats::dropped() const {
  uint64_t n = 0;
  for (const PortStats& p : ports) n += p.dropped();
  return n;
}

uint64_t RunStats::not_flowed() const {
  uint64_t n = total.packets.fragments_unattributed;
  for (size_t i = 1; i < std::size(total.packets.parse_drops); ++i) n += total.packets.parse_drops[i];
  return n;
}

std::string accounting_line(const RunStats& s, bool live) {
  const uint64_t parsed = s.total.packets.packets, not_flowed = s.not_flowed(),
                 no_room = s.total.flows.insert_failed;
  const uint64_t in_flows = parsed - std::min(parsed, not_flowed + no_room);
  const std::string split = fmt::format("{} in flows + {} not flowed + {} with no room in the flow index", in_flows,
                                        not_flowed, no_room);
  if (!live) return fmt::format("accounting: {} packets read = {}", parsed, split);
  const uint64_t arrived = s.arrived(), accounted = s.dropped() + s.ring_dropped() + parsed;
  const std::string off =
      arrived == accounted ? ""
      : arrived > accounted ? fmt::format(" + {} not accounted (still in flight at the end?)", arrived - accounted)
                            : fmt::format(" - {} counted twice (the ports' counters lag the workers')", accounted - arrived);
  return fmt::format("accounting: {} packets arrived at the ports = {} dropped by the ports + {} dropped at full "
                     "worker rings + {} parsed by the workers{}; of those parsed: {}",
                     arrived, s.dropped(), s.ring_dropped(), parsed, off, split);
}

uint64_t RunStats::ring_dropped() const {
  uint64_t n = 0;
  for (uint64_t d : ring_drops) n += d;
  return n;
}

// Shaped like Suricata's stats event (uptime, capture.kernel_packets and
// kernel_drops as its DPDK capture counts them, decoder.pkts/bytes/invalid);
// flowscore's own counters under stats.flowscore. docs/OUTPUT.md and
// docs/schema/eve-stats.schema.json are the contract.
nlohmann::ordered_json stats_event(const RunStats& s, uint64_t wall_ns, uint64_t tsc_hz, const std::string& sensor_name) {
  using json = nlohmann::ordered_json;
  char ts[kEveTimestampLength + 1] = {};
  format_eve_timestamp(wall_ns, ts);
  const WorkerStats& t = s.total;

  json ports = json::array();
  uint64_t errors = 0;
  for (const PortStats& p : s.ports) {
    errors += p.ierrors;
    ports.push_back({{"port", p.port}, {"packets", p.packets}, {"bytes", p.bytes}, {"imissed", p.imissed}, {"ierrors", p.ierrors},
                     {"rx_nombuf", p.rx_nombuf}, {"queues", p.queue_packets}});
  }
  json not_flowed = json::object();
  for (size_t i = 1; i < std::size(t.packets.parse_drops); ++i)
    not_flowed[std::string(parse_status_name(static_cast<ParseStatus>(i)))] = t.packets.parse_drops[i];
  not_flowed["fragment_unattributed"] = t.packets.fragments_unattributed;

  json workers = json::array();
  for (size_t i = 0; i < s.workers.size(); ++i) {
    const WorkerStats& w = s.workers[i];
    workers.push_back({{"id", i},
                       {"packets", w.packets.packets},
                       {"bursts", w.packets.bursts},
                       {"empty_polls", w.packets.empty_polls},
                       {"flows_active", w.flows_active},
                       {"records_waited", w.records_waited}});
  }

  json stats = {
      {"uptime", s.uptime_ns / 1'000'000'000},
      {"capture", {{"kernel_packets", s.arrived()}, {"kernel_drops", s.dropped()}, {"errors", errors}, {"ring_drops", s.ring_dropped()}, {"ports", ports}}},
      {"decoder",
       {{"pkts", t.packets.packets},
        {"bytes", t.packets.wire_bytes},
        {"invalid", s.malformed()},
        {"not_flowed", not_flowed},
        {"fragments", {{"first", t.fragments.first_seen},
                       {"attributed", t.fragments.attributed},
                       {"overwritten", t.fragments.overwritten}}}}},
      {"flow",
       {{"active", t.flows_active},
        {"created", t.flows.flows_created},
        {"table_bytes", t.flow_memory_bytes},
        {"ended", {{std::string(end_reason_name(EndReason::kIdleTimeout)), t.flows.expired_idle},
                   {std::string(end_reason_name(EndReason::kActiveTimeout)), t.flows.expired_active},
                   {std::string(end_reason_name(EndReason::kTcpClose)), t.flows.expired_tcp_close},
                   {std::string(end_reason_name(EndReason::kPressure)), t.flows.evicted_pressure},
                   {std::string(end_reason_name(EndReason::kShutdown)), t.flows.flushed}}},
        {"tcp_port_reuse", t.flows.tcp_port_reuse},
        {"insert_failed", t.flows.insert_failed},
        {"pairs_forgotten", t.pair_evictions}}},
      {"flowscore",
       {{"records", t.flows.records_emitted},
        {"records_dropped", t.flows.records_dropped},
        {"write_failures", s.write_failures},
        {"workers", workers}}},
  };
  if (!s.model_hash.empty()) {  // a model is loaded
    json& own = stats["flowscore"];
    own["scoring"] = score_json(t.scoring, tsc_hz);
    own["model"] = {{"name", s.model_name}, {"hash", s.model_hash}, {"reloads", s.model_reloads},
                    {"refusals", s.model_refusals}};
  }
  if (s.alerting) {
    const RunStats::Alerting& a = *s.alerting;
    stats["flowscore"]["alerting"] = {{"alerts", a.alerts},       {"limited", a.limited},
                                      {"suppressed", a.suppressed}, {"campaigns", a.campaigns},
                                      {"campaign_flows", a.campaign_flows}, {"context_forgotten", a.context_forgotten}};
  }
  if (!s.outputs.empty()) {
    json outputs = json::array();
    for (const RunStats::Output& o : s.outputs) {
      json e = {{"name", o.name}, {"lost_bytes", o.lost_bytes}, {"lost_records", o.lost_records}};
      if (o.spooled) e["spooled"] = *o.spooled;
      if (o.spool_dropped) e["spool_dropped"] = *o.spool_dropped;
      if (o.delivered) e["delivered"] = *o.delivered;
      if (o.failed) e["failed"] = *o.failed;
      outputs.push_back(std::move(e));
    }
    stats["flowscore"]["outputs"] = std::move(outputs);
  }
  json event = {{"timestamp", std::string(ts, kEveTimestampLength)}};
  if (!sensor_name.empty()) event["host"] = sensor_name;  // where flow records have it: before event_type
  event["event_type"] = "stats";
  event["stats"] = std::move(stats);
  return event;
}

}  // namespace flowscore
