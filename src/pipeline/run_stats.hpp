// A run's counters as one snapshot: what the end-of-run summary prints, what
// a live run writes every output.stats_interval as an EVE "stats" event, and
// what /flowscore/stats answers on DPDK's telemetry socket.
//
// Each worker owns its counters and increments them without atomics. They
// reach the main lcore through a StatsMailbox: the main lcore asks, the
// worker copies its counters at its next loop pass and answers, so no
// counter is ever read while its owner writes it.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowscore/flow_table.hpp"
#include "flowscore/fragment_map.hpp"
#include "flowscore/packet.hpp"

namespace flowscore {

struct WorkerCounters {
  uint64_t packets = 0;
  uint64_t wire_bytes = 0;
  uint64_t parse_drops[static_cast<size_t>(ParseStatus::kCount)] = {};
  uint64_t fragments_unattributed = 0;
  uint64_t bursts = 0;       // polls that returned packets
  uint64_t empty_polls = 0;  // polls that returned none: a worker's idle time
};

struct ScoreCounters {
  uint64_t batches = 0;
  uint64_t flows_scored = 0;
  uint64_t alerts = 0;
  uint64_t model_swaps = 0;
  uint64_t latency_max_tsc = 0;  // expiry of a batch's oldest flow -> its verdicts
  uint64_t latency_sum_tsc = 0;  // summed over batches
  void add(const ScoreCounters& o);
};

// One worker's counters at one moment.
struct WorkerStats {
  WorkerCounters packets;
  FlowTableCounters flows;
  FragmentCounters fragments;
  ScoreCounters scoring;
  uint64_t flows_active = 0;    // tracked now
  uint64_t flow_memory_bytes = 0;
  uint64_t pair_evictions = 0;
  AppProtoCounters app_proto;   // flow.app_proto (all zero when off)
  uint64_t records_waited = 0;  // times the worker found no free record and waited for the writer (offline, flushes)
  uint64_t records_abandoned = 0;  // of flows.records_dropped: given up at a second stop signal, not for a slow writer
};

// The worker -> main lcore hand-over of one WorkerStats. One asker (the main
// lcore), one answerer (the worker that owns the counters). Both directions
// are release/acquire pairs: the answer publishes the copy to the asker, and
// the next question tells the worker the asker is done reading it, so the
// copy is never read and written at once.
class alignas(64) StatsMailbox {  // its own cache lines, away from the worker's hot counters
 public:
  // Main lcore: ask for a fresh copy. Does nothing while a question is open.
  void ask() {
    if (open()) return;
    asked_.store(answered_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  bool open() const { return asked_.load(std::memory_order_relaxed) != answered_.load(std::memory_order_acquire); }
  // Main lcore, once !open() after ask(): the copy.
  const WorkerStats& answer() const { return copy_; }
  // Worker, once per loop pass: two relaxed loads of lines nobody writes
  // until the main lcore asks, about once a second.
  bool asked() const { return asked_.load(std::memory_order_relaxed) != answered_.load(std::memory_order_relaxed); }
  void reply(const WorkerStats& s) {
    const uint64_t question = asked_.load(std::memory_order_acquire);
    copy_ = s;
    answered_.store(question, std::memory_order_release);
  }

 private:
  std::atomic<uint64_t> asked_{0};
  std::atomic<uint64_t> answered_{0};
  WorkerStats copy_;
};

// A port's receive counters (rte_eth_stats), live or offline.
struct PortStats {
  uint16_t port = 0;
  uint64_t packets = 0;    // ipackets: handed to flowscore
  uint64_t bytes = 0;      // ibytes: their captured bytes
  uint64_t imissed = 0;    // dropped by the NIC: the workers fell behind
  uint64_t ierrors = 0;    // erroneous frames
  uint64_t rx_nombuf = 0;  // dropped for want of an mbuf
  std::vector<uint64_t> queue_packets;  // ipackets per RX queue (the first 16: RTE_ETHDEV_QUEUE_STAT_CNTRS)
  uint64_t dropped() const { return imissed + rx_nombuf; }
};

// A port a run reads, and how many RX queues it has.
struct PortRef {
  uint16_t port = 0;
  uint16_t rx_queues = 1;
};

// The whole run: the sum over workers plus what the main lcore counts.
struct RunStats {
  uint64_t uptime_ns = 0;
  std::vector<WorkerStats> workers;  // by worker id
  WorkerStats total;                 // workers summed, plus the writer's scoring
  std::vector<PortStats> ports;
  // Live, frames the main lcore read and dealt that a worker's full ring
  // dropped, per worker (dpdk.distribute; empty when nothing is dealt).
  std::vector<uint64_t> ring_drops;
  uint64_t write_failures = 0;       // output writes that failed (their lines are lost, and counted)
  uint64_t model_reloads = 0, model_refusals = 0;
  std::string model_name, model_hash;
  // The alert policy and campaigns on the main lcore (src/policy), when they run.
  struct Alerting {
    uint64_t alerts = 0, limited = 0, suppressed = 0, campaigns = 0, campaign_flows = 0, context_forgotten = 0;
  };
  std::optional<Alerting> alerting;
  // Each output's delivery (several with output.also): what it lost, and,
  // where it has them, its spool and its acknowledgements.
  struct Output {
    std::string name;                 // its describe(): "kafka topic eve at ...", "file eve.json"
    uint64_t lost_bytes = 0;          // dropped: failed writes, a full queue, a dead collector
    uint64_t lost_records = 0;        // the records (lines) in lost_bytes
    std::optional<uint64_t> spooled;  // lines waiting in its disk spool now
    std::optional<uint64_t> spool_dropped;
    std::optional<uint64_t> delivered, failed;  // Kafka: acknowledged, and delivery reports with an error
  };
  std::vector<Output> outputs;

  // Sums `workers` (and the writer's own scoring) into `total`.
  void sum(const ScoreCounters* writer_scoring);
  uint64_t malformed() const;  // packets that did not parse, non-IP frames aside
  // Over the ports: packets that reached them, dropped or not (as Suricata's
  // DPDK capture counts), and the dropped ones (imissed + rx_nombuf).
  uint64_t arrived() const;
  uint64_t dropped() const;
  uint64_t ring_dropped() const;  // ring_drops summed
  uint64_t not_flowed() const;    // parsed but not counted to a flow: parse drops, fragments not attributed
};

// Where every packet went, as one line for the summary (issue 14 §2). Live:
// "A packets arrived at the ports = D dropped by the ports + R dropped at
// full worker rings + P parsed by the workers; of those parsed: F in flows
// + N not flowed + X with no room in the flow index" (a difference in the
// first sum is said, not hidden). Offline, the second half, from "P
// packets read". F is what the rest leaves; tests hold it to the packets
// of the flow records.
std::string accounting_line(const RunStats& s, bool live);

// The EVE "stats" event (docs/OUTPUT.md), without the trailing newline.
// `wall_ns` is the event's timestamp; `tsc_hz` turns latencies into ms.
nlohmann::ordered_json stats_event(const RunStats& s, uint64_t wall_ns, uint64_t tsc_hz, const std::string& sensor_name);

}  // namespace flowscore
