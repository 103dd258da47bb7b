#include "metrics_endpoint.hpp"

#include <httplib.h>
#include <rte_cycles.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "flowscore/flow_record.hpp"
#include "flowscore/packet.hpp"
#include "stats_reporter.hpp"

namespace flowscore {
namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}
  // A metric's HELP and TYPE lines, once, before its samples.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, uint64_t value, std::string_view labels = {}) {
    if (labels.empty())
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    else
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
  }
  void counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(name, value);
  }
  void gauge(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "gauge", help);
    sample(name, value);
  }

 private:
  std::string& out_;
};

}  // namespace

std::string prometheus_text(const RunStats& s, const std::string& sensor_name, uint64_t tsc_hz) {
  std::string out;
  Exposition e(out);
  const WorkerStats& t = s.total;
  e.family("flowscore_build_info", "gauge", "The sensor's name and flowscore's version (value 1).");
  e.sample("flowscore_build_info", 1,
           fmt::format("sensor=\"{}\",version=\"{}\"", label_value(sensor_name), FLOWSCORE_VERSION));
  if (!s.model_hash.empty()) {
    e.family("flowscore_model_info", "gauge", "The model scoring now (value 1).");
    e.sample("flowscore_model_info", 1,
             fmt::format("name=\"{}\",hash=\"{}\"", label_value(s.model_name), label_value(s.model_hash)));
  }
  e.gauge("flowscore_uptime_seconds", "Seconds since the sensor started.", s.uptime_ns / 1'000'000'000);

  // Per RX queue where the port counts per queue (the first 16 queues, as
  // rte_eth_stats has them); a port that does not gets one sample per port.
  e.family("flowscore_packets_received_total", "counter", "Packets a port queue handed to flowscore (ipackets).");
  for (const PortStats& p : s.ports) {
    uint64_t per_queue = 0;
    for (uint64_t n : p.queue_packets) per_queue += n;
    if (!p.queue_packets.empty() && per_queue == p.packets) {
      for (size_t q = 0; q < p.queue_packets.size(); ++q)
        e.sample("flowscore_packets_received_total", p.queue_packets[q], fmt::format("port=\"{}\",queue=\"{}\"", p.port, q));
    } else {
      e.sample("flowscore_packets_received_total", p.packets, fmt::format("port=\"{}\",queue=\"all\"", p.port));
    }
  }
  e.family("flowscore_bytes_received_total", "counter", "Bytes of the packets a port handed to flowscore (ibytes).");
  for (const PortStats& p : s.ports)
    e.sample("flowscore_bytes_received_total", p.bytes, fmt::format("port=\"{}\"", p.port));
  e.counter("flowscore_ring_dropped_total",
            "Frames the main lcore read and dealt that a worker's full ring dropped (dpdk.distribute software).",
            s.ring_dropped());
  e.family("flowscore_port_dropped_total", "counter",
           "Packets a port dropped: imissed (workers too slow), rx_nombuf (no mbuf), ierrors (bad frames).");
  for (const PortStats& p : s.ports) {
    e.sample("flowscore_port_dropped_total", p.imissed, fmt::format("port=\"{}\",reason=\"imissed\"", p.port));
    e.sample("flowscore_port_dropped_total", p.rx_nombuf, fmt::format("port=\"{}\",reason=\"rx_nombuf\"", p.port));
    e.sample("flowscore_port_dropped_total", p.ierrors, fmt::format("port=\"{}\",reason=\"ierrors\"", p.port));
  }

  e.counter("flowscore_packets_total", "Packets the workers parsed.", t.packets.packets);
  e.counter("flowscore_wire_bytes_total", "Their bytes on the wire.", t.packets.wire_bytes);
  e.family("flowscore_packets_not_flowed_total", "counter", "Packets that joined no flow, per reason.");
  for (size_t i = 1; i < std::size(t.packets.parse_drops); ++i)
    e.sample("flowscore_packets_not_flowed_total", t.packets.parse_drops[i],
             fmt::format("reason=\"{}\"", parse_status_name(static_cast<ParseStatus>(i))));
  e.sample("flowscore_packets_not_flowed_total", t.packets.fragments_unattributed, "reason=\"fragment_unattributed\"");

  e.family("flowscore_flows_active", "gauge", "Flows tracked now, per worker.");
  for (size_t w = 0; w < s.workers.size(); ++w)
    e.sample("flowscore_flows_active", s.workers[w].flows_active, fmt::format("worker=\"{}\"", w));
  e.counter("flowscore_flows_created_total", "Flows started.", t.flows.flows_created);
  e.family("flowscore_flows_ended_total", "counter", "Flows ended (records), per reason; forced means the table was full.");
  const std::pair<EndReason, uint64_t> ended[] = {{EndReason::kIdleTimeout, t.flows.expired_idle},
                                                  {EndReason::kActiveTimeout, t.flows.expired_active},
                                                  {EndReason::kTcpClose, t.flows.expired_tcp_close},
                                                  {EndReason::kPressure, t.flows.evicted_pressure},
                                                  {EndReason::kShutdown, t.flows.flushed}};
  for (const auto& [reason, n] : ended)
    e.sample("flowscore_flows_ended_total", n, fmt::format("reason=\"{}\"", end_reason_name(reason)));
  e.counter("flowscore_records_total", "Flow records handed to the writer.", t.flows.records_emitted);
  e.family("flowscore_records_dropped_total", "counter",
           "Records lost between a worker and the writer: writer_behind (output.queue_records full), "
           "stop (a second stop signal ended the flush).");
  e.sample("flowscore_records_dropped_total", t.flows.records_dropped - std::min(t.flows.records_dropped, t.records_abandoned),
           "reason=\"writer_behind\"");
  e.sample("flowscore_records_dropped_total", t.records_abandoned, "reason=\"stop\"");
  e.counter("flowscore_write_failures_total", "Output writes that failed (their lines are lost).", s.write_failures);
  if (!s.outputs.empty()) {
    e.family("flowscore_output_lost_bytes_total", "counter", "Bytes of records an output dropped, per output.");
    for (const RunStats::Output& o : s.outputs)
      e.sample("flowscore_output_lost_bytes_total", o.lost_bytes, fmt::format("output=\"{}\"", label_value(o.name)));
    e.family("flowscore_output_lost_records_total", "counter", "Records an output dropped, per output.");
    for (const RunStats::Output& o : s.outputs)
      e.sample("flowscore_output_lost_records_total", o.lost_records, fmt::format("output=\"{}\"", label_value(o.name)));
    e.family("flowscore_output_spooled", "gauge", "Records waiting in an output's disk spool.");
    for (const RunStats::Output& o : s.outputs)
      if (o.spooled) e.sample("flowscore_output_spooled", *o.spooled, fmt::format("output=\"{}\"", label_value(o.name)));
    e.family("flowscore_output_spool_dropped_total", "counter", "Records an output's full spool dropped.");
    for (const RunStats::Output& o : s.outputs)
      if (o.spool_dropped)
        e.sample("flowscore_output_spool_dropped_total", *o.spool_dropped, fmt::format("output=\"{}\"", label_value(o.name)));
    e.family("flowscore_output_delivered_total", "counter", "Records a Kafka output's brokers acknowledged.");
    for (const RunStats::Output& o : s.outputs)
      if (o.delivered) e.sample("flowscore_output_delivered_total", *o.delivered, fmt::format("output=\"{}\"", label_value(o.name)));
  }
  e.counter("flowscore_flows_scored_total", "Flows the model scored.", t.scoring.flows_scored);
  // A summary without quantiles: the sum and count of the batches' latency
  // from a flow's end to its verdict (the mean is sum / count).
  e.family("flowscore_scoring_latency_seconds", "summary", "From a batch's oldest flow ending to its verdicts.");
  fmt::format_to(std::back_inserter(out), "flowscore_scoring_latency_seconds_sum {:.9f}\nflowscore_scoring_latency_seconds_count {}\n",
                 tsc_hz ? double(t.scoring.latency_sum_tsc) / double(tsc_hz) : 0.0, t.scoring.batches);
  e.counter("flowscore_verdicts_over_threshold_total", "Verdicts over their class threshold.", t.scoring.alerts);
  if (s.alerting) e.counter("flowscore_alerts_total", "Alert events the alert policy wrote.", s.alerting->alerts);
  e.counter("flowscore_model_reloads_total", "Models loaded by SIGHUP or /flowscore/reload.", s.model_reloads);
  e.counter("flowscore_model_refusals_total", "Models refused at reload (the running one was kept).", s.model_refusals);

  e.family("flowscore_worker_packets_total", "counter", "Packets per worker: how evenly RSS or the feeder spreads them.");
  for (size_t w = 0; w < s.workers.size(); ++w)
    e.sample("flowscore_worker_packets_total", s.workers[w].packets.packets, fmt::format("worker=\"{}\"", w));
  e.family("flowscore_worker_empty_polls_total", "counter", "Polls that found no packet: a worker's idle time.");
  for (size_t w = 0; w < s.workers.size(); ++w)
    e.sample("flowscore_worker_empty_polls_total", s.workers[w].packets.empty_polls, fmt::format("worker=\"{}\"", w));
  return out;
}

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const std::string& address, std::string sensor_name,
                                                        std::string& error) {
  // HOST:PORT or [V6]:PORT
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  if (colon != std::string::npos) {
    char* end = nullptr;
    const long p = std::strtol(address.c_str() + colon + 1, &end, 10);
    if (*end == '\0' && p >= 0 && p <= 65535 && end != address.c_str() + colon + 1) port = static_cast<int>(p);
  }
  if (host.empty() || port < 0) {
    error = fmt::format("output.metrics_listen: '{}' is not ADDR:PORT (e.g. 127.0.0.1:9464)", address);
    return nullptr;
  }
  std::unique_ptr<MetricsEndpoint> m(new MetricsEndpoint());
  m->server_ = std::make_unique<httplib::Server>();
  m->server_->new_task_queue = [] { return new httplib::ThreadPool(1); };  // one scrape at a time is plenty
  m->server_->Get("/metrics", [sensor = std::move(sensor_name)](const httplib::Request&, httplib::Response& res) {
    const std::optional<RunStats> s = StatsReporter::published();
    if (!s) {
      res.status = 503;  // before the first snapshot, about a second after start
      res.set_content("no snapshot yet\n", "text/plain");
      return;
    }
    res.set_content(prometheus_text(*s, sensor, rte_get_tsc_hz()), "text/plain; version=0.0.4; charset=utf-8");
  });
  m->port_ = port == 0 ? m->server_->bind_to_any_port(host) : (m->server_->bind_to_port(host, port) ? port : -1);
  if (m->port_ < 0) {
    error = fmt::format("output.metrics_listen: cannot listen on {}: {}", address, std::strerror(errno));
    return nullptr;
  }
  m->thread_ = std::thread([server = m->server_.get()] { server->listen_after_bind(); });
  return m;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace flowscore
