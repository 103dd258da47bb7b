// What a live run tells its operator while it runs: the main lcore gathers
// every worker's counters (through their StatsMailbox) and every port's into
// a RunStats about once a second, publishes it for /flowscore/stats on DPDK's
// telemetry socket, and writes it as an EVE "stats" event every
// output.stats_interval. A worker that falls behind, a NIC that drops, a
// table under pressure or records the writer had to drop then show while
// the sensor runs, not only in the summary at exit. Offline runs use only
// finish(), for that summary.
#pragma once
#include <rte_telemetry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "flowscore/eve.hpp"
#include "run_stats.hpp"

namespace flowscore {

class ScoreBatch;
class Worker;

class StatsReporter {
 public:
  // `main_side` fills in what the main lcore itself counts (write failures,
  // the model). `event_interval_ns` 0: no stats events.
  StatsReporter(const std::vector<std::unique_ptr<Worker>>& workers, const ScoreBatch* writer_scorer,
                std::vector<PortRef> ports, uint64_t event_interval_ns, std::string sensor_name, RecordFormat format,
                std::function<void(RunStats&)> main_side);

  // Main lcore, once per writer pass: asks the workers for fresh counters
  // when the last snapshot is a second old, and once all have answered,
  // publishes it and appends a stats event to `out` when one is due. Never
  // waits for a worker.
  void poll(fmt::memory_buffer& out);

  // After every worker has finished: the run's final counters, published,
  // and appended to `out` as a last stats event when events are on.
  RunStats finish(fmt::memory_buffer& out);

  // How stale a snapshot may get before poll() asks again (default 1 s; the
  // progress line asks for 0.25 s).
  void set_refresh(uint64_t ns) { refresh_ns_ = ns; }
  // The latest snapshot and how many there have been (0: none yet).
  const RunStats& latest() const { return latest_; }
  uint64_t snapshots() const { return snapshots_; }
  uint64_t events() const { return events_; }  // stats events appended by poll()

  // The latest published snapshot, for readers on other threads (the
  // telemetry socket, /metrics); nullopt before the first.
  static std::optional<RunStats> published();

  // The /flowscore/stats telemetry command: the latest published snapshot.
  static int telemetry_stats(const char* cmd, const char* params, rte_tel_data* d);

 private:
  RunStats assemble(const std::vector<WorkerStats>& workers, uint64_t now_ns) const;
  void publish(const RunStats& s);
  void append_event(const RunStats& s, fmt::memory_buffer& out) const;

  const std::vector<std::unique_ptr<Worker>>& workers_;
  const ScoreBatch* writer_scorer_;
  std::vector<PortRef> ports_;
  uint64_t event_interval_ns_;
  std::string sensor_name_;
  RecordFormat format_;
  std::function<void(RunStats&)> main_side_;
  uint64_t start_ns_;            // steady clock at construction
  bool asking_ = false;          // a question to the workers is open
  uint64_t snapshot_ns_ = 0;     // when the last snapshot was taken
  uint64_t last_event_ns_ = 0;
  std::vector<WorkerStats> answers_;
  uint64_t refresh_ns_;
  RunStats latest_;
  uint64_t snapshots_ = 0;
  uint64_t events_ = 0;
};

}  // namespace flowscore
