#include "stats_reporter.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <chrono>
#include <mutex>

#include "flowscore/ecs_view.hpp"
#include "score_batch.hpp"
#include "worker.hpp"

namespace flowscore {

namespace {

constexpr uint64_t kRefreshNs = 1'000'000'000;  // how stale /flowscore/stats may get

uint64_t steady_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

uint64_t wall_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count());
}

// The snapshot the telemetry thread answers from: a copy under a lock taken
// about once a second by the main lcore, never by a worker.
struct Published {
  std::mutex mutex;
  bool valid = false;
  RunStats stats;
  uint64_t taken_ns = 0;
} g_published;

}  // namespace

StatsReporter::StatsReporter(const std::vector<std::unique_ptr<Worker>>& workers, const ScoreBatch* writer_scorer,
                             std::vector<PortRef> ports, uint64_t event_interval_ns, std::string sensor_name,
                             RecordFormat format, std::function<void(RunStats&)> main_side)
    : workers_(workers),
      writer_scorer_(writer_scorer),
      ports_(std::move(ports)),
      event_interval_ns_(event_interval_ns),
      sensor_name_(std::move(sensor_name)),
      format_(format),
      main_side_(std::move(main_side)),
      start_ns_(steady_ns()),
      snapshot_ns_(start_ns_),
      last_event_ns_(start_ns_),
      answers_(workers.size()),
      refresh_ns_(kRefreshNs) {}

RunStats StatsReporter::assemble(const std::vector<WorkerStats>& workers, uint64_t now_ns) const {
  RunStats s;
  s.uptime_ns = now_ns - start_ns_;
  s.workers = workers;
  s.sum(writer_scorer_ ? &writer_scorer_->counters() : nullptr);
  for (const PortRef& port : ports_) {
    rte_eth_stats st{};
    if (rte_eth_stats_get(port.port, &st) != 0) continue;
    PortStats& p = s.ports.emplace_back(PortStats{port.port, st.ipackets, st.ibytes, st.imissed, st.ierrors, st.rx_nombuf, {}});
    p.queue_packets.assign(st.q_ipackets, st.q_ipackets + std::min<unsigned>(port.rx_queues, RTE_ETHDEV_QUEUE_STAT_CNTRS));
  }
  main_side_(s);
  return s;
}

std::optional<RunStats> StatsReporter::published() {
  std::lock_guard lock(g_published.mutex);
  if (!g_published.valid) return std::nullopt;
  return g_published.stats;
}

void StatsReporter::publish(const RunStats& s) {
  std::lock_guard lock(g_published.mutex);
  g_published.stats = s;
  g_published.taken_ns = steady_ns();
  g_published.valid = true;
}

void StatsReporter::append_event(const RunStats& s, fmt::memory_buffer& out) const {
  const size_t from = out.size();
  const std::string line = stats_event(s, wall_ns(), rte_get_tsc_hz(), sensor_name_).dump();
  out.append(line);
  out.push_back('\n');
  reformat_lines(format_, out, from);
}

void StatsReporter::poll(fmt::memory_buffer& out) {
  const uint64_t now = steady_ns();
  if (!asking_) {
    if (now - snapshot_ns_ < refresh_ns_) return;
    for (const auto& w : workers_) w->stats_mailbox().ask();
    asking_ = true;
    return;
  }
  // A finished worker answers no more; its counters are final and readable.
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker& w = *workers_[i];
    if (w.finished()) {
      answers_[i] = w.stats();
    } else if (w.stats_mailbox().open()) {
      return;  // ask again on the next pass
    } else {
      answers_[i] = w.stats_mailbox().answer();
    }
  }
  asking_ = false;
  snapshot_ns_ = now;
  const RunStats s = assemble(answers_, now);
  publish(s);
  latest_ = s;
  ++snapshots_;
  if (event_interval_ns_ && now - last_event_ns_ >= event_interval_ns_) {
    append_event(s, out);
    last_event_ns_ = now;
    ++events_;
  }
}

RunStats StatsReporter::finish(fmt::memory_buffer& out) {
  for (size_t i = 0; i < workers_.size(); ++i) answers_[i] = workers_[i]->stats();
  const RunStats s = assemble(answers_, steady_ns());
  publish(s);
  if (event_interval_ns_) append_event(s, out);
  return s;
}

int StatsReporter::telemetry_stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_published.mutex);
  rte_tel_data_start_dict(d);
  if (!g_published.valid) return 0;
  const RunStats& s = g_published.stats;
  const WorkerStats& t = s.total;
  rte_tel_data_add_dict_u64(d, "age_ms", (steady_ns() - g_published.taken_ns) / 1'000'000);
  rte_tel_data_add_dict_u64(d, "uptime_s", s.uptime_ns / 1'000'000'000);
  rte_tel_data_add_dict_u64(d, "kernel_packets", s.arrived());
  rte_tel_data_add_dict_u64(d, "kernel_drops", s.dropped());
  rte_tel_data_add_dict_u64(d, "packets", t.packets.packets);
  rte_tel_data_add_dict_u64(d, "bytes", t.packets.wire_bytes);
  rte_tel_data_add_dict_u64(d, "invalid", s.malformed());
  rte_tel_data_add_dict_u64(d, "flows_active", t.flows_active);
  rte_tel_data_add_dict_u64(d, "flows_created", t.flows.flows_created);
  rte_tel_data_add_dict_u64(d, "flows_forced", t.flows.evicted_pressure);
  rte_tel_data_add_dict_u64(d, "records", t.flows.records_emitted);
  rte_tel_data_add_dict_u64(d, "records_dropped", t.flows.records_dropped);
  rte_tel_data_add_dict_u64(d, "write_failures", s.write_failures);
  rte_tel_data_add_dict_u64(d, "flows_scored", t.scoring.flows_scored);
  // Alerts as the policy decided them; without the policy, the class thresholds'.
  rte_tel_data_add_dict_u64(d, "alerts", s.alerting ? s.alerting->alerts : t.scoring.alerts);
  if (s.alerting) rte_tel_data_add_dict_u64(d, "campaigns", s.alerting->campaigns);
  return 0;
}

}  // namespace flowscore
