#include "flowscore/pipeline.hpp"

#include <pthread.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_telemetry.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <map>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "capture_feeder.hpp"
#include "eal.hpp"
#include "flowscore/ecs_view.hpp"
#include "flowscore/fanout_sink.hpp"
#include "flowscore/kafka_sink.hpp"
#include "flowscore/spooling_sink.hpp"
#include "flowscore/labels.hpp"
#include "flowscore/model.hpp"
#include "flowscore/output_sink.hpp"
#include "flowscore/output_target.hpp"
#include "flowscore/pcap_file.hpp"
#include "flowscore/prefault.hpp"
#include "metrics_endpoint.hpp"
#include "capture_ports.hpp"
#include "port_setup.hpp"
#include "queue_plan.hpp"
#include "progress_line.hpp"
#include "record_writer.hpp"
#include "service_notify.hpp"
#include "stats_reporter.hpp"
#include "worker.hpp"

namespace flowscore {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_abort{false};  // a second SIGINT/SIGTERM: stop waiting for the writer in the final flush
std::atomic<bool> g_reload{false};
std::atomic<uint64_t> g_model_reloads{0}, g_model_refusals{0};
// What the telemetry thread reports about the running model: copies, so it
// never reaches into the pipeline's own state.
struct RunningModel {
  std::mutex mutex;
  std::string name, hash;
  void set(const CompiledModel* m) {
    std::lock_guard lock(mutex);
    name = m ? m->name() : "";
    hash = m ? m->hash() : "";
  }
} g_running_model;

// Control over DPDK's telemetry socket (dpdk-telemetry.py, or any client of
// <runtime dir>/dpdk_telemetry.v2): "/flowscore/reload" asks for the same
// model reload as SIGHUP; "/flowscore/model" says which model is running.
int telemetry_reload(const char*, const char*, rte_tel_data* d) {
  g_reload.store(true);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "reload", "requested");
  return 0;
}

int telemetry_model(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  {
    std::lock_guard lock(g_running_model.mutex);
    rte_tel_data_add_dict_string(d, "name", g_running_model.name.c_str());
    rte_tel_data_add_dict_string(d, "hash", g_running_model.hash.c_str());
  }
  rte_tel_data_add_dict_u64(d, "reloads", g_model_reloads.load());
  rte_tel_data_add_dict_u64(d, "refusals", g_model_refusals.load());
  return 0;
}

std::atomic<int> g_stop_signal{0};  // the signal that stopped the run
pthread_t g_main_thread;               // the writer's: a second stop must reach it

void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reload.store(true);
  } else if (g_stop.exchange(true)) {
    g_abort.store(true);
    // The writer may be blocked in a write to a reader that stopped reading:
    // the signal interrupts it (no SA_RESTART) only on the writer's thread.
    if (!pthread_equal(pthread_self(), g_main_thread)) pthread_kill(g_main_thread, sig);
  } else {
    g_stop_signal.store(sig);
  }
}

// SIGINT/SIGTERM without SA_RESTART, so a write(2) blocked on a full pipe
// returns EINTR and the sink can give up (OutputSink::abandon_when).
void install_stop_handlers() {
  g_main_thread = pthread_self();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void log_line(bool quiet, const std::string& s) {
  if (!quiet) fmt::print(stderr, "flowscore: {}\n", s);
}

// DPDK memory one worker needs, so an offline --no-huge run can size -m
// (which EAL pre-faults). The flow entries themselves are mapped lazily by
// the flow table; what lives in DPDK memory is rte_hash's key store, buckets
// and free-slot rings (about 128 B per flow) and the record pool.
size_t worker_memory_bytes(const Config& cfg) {
  return size_t{cfg.flow.capacity} * 128 + size_t{cfg.output.queue_records} * sizeof(FlowRecord);
}

int worker_main(void* arg) { return static_cast<Worker*>(arg)->run(g_stop, g_abort); }

// The model at model.path, if it fits the features this run computes and
// the config's classes: at start-up and on every reload (SIGHUP,
// /flowscore/reload), so a reload cannot swap in what start-up would refuse.
// The loader's own messages name the file; the checks' get it here.
std::shared_ptr<const CompiledModel> load_run_model(const Config& cfg, const FeatureSpec& spec, std::string& error) {
  std::shared_ptr<const CompiledModel> m = CompiledModel::load(cfg.model.path, error);
  if (!m) return nullptr;
  std::vector<std::string> warnings;
  if (!check_model_for_run(*m, spec, error, warnings) || !check_model_for_config(*m, cfg.model, error, warnings)) {
    error = fmt::format("{}: {}", cfg.model.path, error);
    return nullptr;
  }
  for (const std::string& w : warnings) fmt::print(stderr, "flowscore: warning: {}\n", w);
  return m;
}

ModelInfo model_info(const CompiledModel& m, const Config& cfg) {
  ModelInfo info;
  info.name = m.name();
  info.hash = m.hash();
  for (size_t c = 0; c < m.num_classes(); ++c) {
    ClassInfo ci;
    ci.name = m.class_label(c);
    for (const ClassPolicy& p : cfg.model.classes) {
      if (p.name == ci.name) {
        ci.category = p.category;
        ci.severity = p.severity;
        ci.signature_id = p.signature_id;
      }
    }
    info.classes.push_back(std::move(ci));
  }
  return info;
}

// libpcap stops at a cut-off or corrupt record, or refuses a pcapng packet
// from an interface it cannot use, and the pcap PMD ends its burst there
// without a word, which looks like the end of the file. The file's framing
// (read_capture_layout) says how many packet records it holds and whether it
// holds together: anything short of that is reported, never lost silently,
// and fails the run as bad input (exit status 2, as tcpdump and tshark fail
// on a cut-off file) once what was read has been scored and written, so a
// batch job cannot take a partial result for a whole one.
// A classic pcap read to its end adds up exactly (header, then 16 bytes and
// the captured bytes per record), so only one that does not is walked; a
// pcapng has no such sum, so its walk (`pcapng`, started with the run, on
// another thread) is always needed. Says what part of the file was not
// read, and why. `stopped`: a signal ended the run, so that is why records
// were left unread, not libpcap: said so, and not bad input (a broken
// framing still is).
enum class Unread { kNone, kStopped, kBroken };
Unread report_unread(const std::string& path, const CapturePorts::Read& st, const std::optional<CaptureLayout>& pcapng,
                     bool stopped) {
  if (!st.opened) return Unread::kBroken;  // its port never opened: said when it failed
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Unread::kNone;  // gone since the run began: nothing left to compare with
  CaptureLayout layout;
  if (pcapng) {
    layout = *pcapng;
  } else if (size == 24 + 16 * st.packets + st.bytes || !read_capture_layout(path, layout)) {
    return Unread::kNone;
  }
  if (st.packets < layout.packet_records && stopped)
    fmt::print(stderr, "flowscore: {}: {} of {} packet records were not read: the run was stopped\n", path,
               layout.packet_records - st.packets, layout.packet_records);
  else if (st.packets < layout.packet_records)
    fmt::print(stderr,
               "flowscore: {}: {} of {} packet records were not read: libpcap refused a record (corrupt, or from an "
               "interface it cannot use) and the pcap PMD ends its burst there\n",
               path, layout.packet_records - st.packets, layout.packet_records);
  if (!layout.intact)
    fmt::print(stderr,
               "flowscore: {}: truncated or corrupt capture: its framing breaks at byte {}, and the {} bytes from "
               "there were not read\n",
               path, layout.broken_at, size - layout.broken_at);
  if (!layout.intact || (st.packets < layout.packet_records && !stopped)) return Unread::kBroken;
  return st.packets < layout.packet_records ? Unread::kStopped : Unread::kNone;
}

// The pcapng inputs' layouts, walked on one thread while the run reads them
// (classic pcaps get nullopt: see report_unread).
std::future<std::vector<std::optional<CaptureLayout>>> walk_pcapng_inputs(std::vector<std::string> paths) {
  return std::async(std::launch::async, [paths = std::move(paths)] {
    std::vector<std::optional<CaptureLayout>> out(paths.size());
    for (size_t k = 0; k < paths.size(); ++k) {
      CaptureLayout layout;
      if (read_capture_layout(paths[k], layout) && !layout.classic) out[k] = layout;
    }
    return out;
  });
}

// The writer's loop on the main lcore: feeds the workers' capture rings
// when it reads the capture files (`feeder`), drains every worker's finished
// records, scores those a worker left unscored (when `scorer` is not null),
// formats them and writes them in blocks of about 1 MiB, until all workers
// have finished and their rings are empty. `between_polls` runs once per pass
// (control requests, stats) and may append lines of its own. Counts failed
// writes in `failures` as they happen. `live`: whenever a pass finds nothing
// to do, the sink's buffer goes out too, so a verdict reaches the file within
// a pass of being formatted, not when 1 MiB has gathered.
void write_records(std::vector<std::unique_ptr<Worker>>& workers, ScoreBatch* scorer, unsigned batch_size,
                   CaptureFeeder* feeder, RecordWriter& writer, OutputSink& sink, bool live, fmt::memory_buffer& text,
                   uint64_t& failures, const std::function<void(fmt::memory_buffer&)>& between_polls) {
  writer.header(text);
  std::vector<FlowRecord*> recs(batch_size), unscored(batch_size);
  unsigned idle_polls = 0;
  auto last_turn = std::chrono::steady_clock::now();
  for (;;) {
    bool all_done = true;
    // Keep the workers' capture rings full first: a worker waiting for
    // packets costs more than a record waiting for its text.
    unsigned moved = feeder ? feeder->poll() : 0;
    for (auto& w : workers) {
      const bool done = w->finished();  // read before draining: nothing is published after it
      const unsigned n = w->queue().drain(recs.data(), batch_size);
      if (scorer) {
        unsigned u = 0;
        for (unsigned i = 0; i < n; ++i)
          if (!recs[i]->verdict.scored) unscored[u++] = recs[i];
        if (u) scorer->score(unscored.data(), u);
      }
      // The judge counts the whole batch in the context first, so the
      // context's cache misses overlap one another (RecordJudge::prepare).
      writer.prepare({recs.data(), n});
      for (unsigned i = 0; i < n; ++i) writer.write(*recs[i], text);
      w->queue().give_back(recs.data(), n);
      moved += n;
      all_done &= done && n == 0;
    }
    between_polls(text);
    if (all_done) writer.finish(text);
    // A live run whose main lcore also deals a busy port's frames (feeder)
    // moves packets on every pass, so `moved` is never 0: without a timed
    // turn, records waited for 1 MiB of text, and the sink's flush, the
    // only call that lets a collector behind a spool reconnect, never came
    // (issue 15 §3: tests/output/test_outage.py). So at least every 100 ms.
    bool due = false;
    if (live && moved != 0) {
      const auto now = std::chrono::steady_clock::now();
      due = now - last_turn >= std::chrono::milliseconds(100);
      if (due) last_turn = now;
    }
    if (text.size() >= (1u << 20) || ((moved == 0 || due) && text.size() > 0)) {
      if (!sink.write({text.data(), text.size()})) ++failures;
      text.clear();
    }
    if (live && (moved == 0 || due) && !sink.flush()) ++failures;
    if (all_done) return;
    // Poll while records flow; after a quiet spell, sleep briefly so an idle
    // sensor does not burn the main core.
    idle_polls = moved ? 0 : idle_polls + 1;
    if (idle_polls > 1024) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// The alert policy's and the campaigns' part of the summary.
void print_judgement_summary(const RecordJudge& j, bool scored) {
  const AlertPolicy::Counters& p = j.policy_counters();
  if (scored)
    fmt::print(stderr,
               "flowscore: alert policy: {} alerts ({} over their class threshold alone; {} thin flows for an attack "
               "class the context gave, not their label); {} thin flows lacked evidence, {} suppressed, {} kept to "
               "flow events by rate limits\n",
               p.alerts, p.model_alerts, p.thin_not_label, p.thin_without_evidence, p.suppressed, p.limited);
  const CampaignTracker::Counters& c = j.campaign_counters();
  if (c.opened || c.not_tracked)
    fmt::print(stderr, "flowscore: campaigns: {} opened, {} flows in them, {} events{}\n", c.opened, c.flows, c.events,
               c.not_tracked ? fmt::format(", {} not tracked (campaigns.max_open)", c.not_tracked) : "");
  if (const uint64_t n = j.context().forgotten())
    fmt::print(stderr, "flowscore: context: {} hosts or services forgotten for room (context.hosts, context.services)\n", n);
}

// Live: what each port received, per RX queue, and what it and the dealing
// dropped, so every packet is accounted: received = parsed by a worker +
// dropped at a worker's ring (the ports' own drops never reach flowscore).
void print_port_summary(const RunStats& s) {
  for (const PortStats& p : s.ports) {
    std::string queues;
    for (size_t q = 0; p.queue_packets.size() > 1 && q < p.queue_packets.size(); ++q)
      queues += fmt::format("{}{}: {}", q ? ", " : " (queue ", q, p.queue_packets[q]);
    if (!queues.empty()) queues += ")";
    fmt::print(stderr, "flowscore: port {}: {} packets received{}; dropped by the port: {} imissed, {} rx_nombuf, {} ierrors\n",
               p.port, p.packets, queues, p.imissed, p.rx_nombuf, p.ierrors);
  }
  if (!s.ring_drops.empty())
    fmt::print(stderr, "flowscore: {} frames dealt by the main lcore were dropped at full worker rings (per worker: {})\n",
               s.ring_dropped(), fmt::join(s.ring_drops, ", "));
}

void print_summary(const RunStats& s, double elapsed, const OutputSink& sink, RunMode mode,
                   const CompiledModel* model, const LabelRules* labels, const std::string& default_label) {
  const WorkerStats& t = s.total;
  fmt::print(stderr, "flowscore: {} packets ({} bytes), {} flows -> {} records in {:.3f} s ({:.2f} Mpkt/s); output: {}\n",
             t.packets.packets, t.packets.wire_bytes, t.flows.flows_created, t.flows.records_emitted, elapsed,
             t.packets.packets / elapsed / 1e6, sink.describe());
  if (s.workers.size() > 1) {  // how evenly the frames were dealt
    std::string per_worker;
    for (size_t w = 0; w < s.workers.size(); ++w)
      per_worker += fmt::format("{}{}: {}", w ? ", " : "", w, s.workers[w].packets.packets);
    fmt::print(stderr, "flowscore: packets per worker: {}\n", per_worker);
  }
  std::string drops;
  for (size_t i = 1; i < std::size(t.packets.parse_drops); ++i)
    if (const uint64_t n = t.packets.parse_drops[i]) drops += fmt::format(" {}={}", parse_status_name(static_cast<ParseStatus>(i)), n);
  if (const uint64_t n = t.packets.fragments_unattributed) drops += fmt::format(" fragment_unattributed={}", n);
  if (!drops.empty()) fmt::print(stderr, "flowscore: packets not flowed:{}\n", drops);
  if (t.flows.evicted_pressure)
    fmt::print(stderr, "flowscore: {} flows ended early because the flow table was full (flow.table_size)\n",
               t.flows.evicted_pressure);
  if (t.flows.insert_failed)
    fmt::print(stderr, "flowscore: {} packets found no place in the flow index even after an eviction\n",
               t.flows.insert_failed);
  if (t.pair_evictions)
    fmt::print(stderr, "flowscore: {} address pairs forgotten for room: their pair_flows restarted (flow.table_size)\n",
               t.pair_evictions);
  if (const AppProtoCounters& a = t.app_proto; a.flows_inspected + a.flows_no_slot != 0) {  // flow.app_proto
    fmt::print(stderr, "flowscore: app_proto: {} flows inspected ({} packets): {} named, {} failed; {} flows found "
               "no detection slot (flow.app_proto_flows)\n", a.flows_inspected, a.packets_inspected, a.flows_detected,
               a.flows_failed, a.flows_no_slot);
  }
  if (model) {
    const ScoreCounters& c = t.scoring;
    const double hz = double(rte_get_tsc_hz());
    fmt::print(stderr,
               "flowscore: model {} ({}): {} flows scored in {} batches, {} over their class threshold; "
               "expiry->verdict latency mean {:.2f} ms, max {:.2f} ms\n",
               model->name(), model->hash(), c.flows_scored, c.batches, c.alerts,
               c.batches ? c.latency_sum_tsc / double(c.batches) / hz * 1e3 : 0.0, c.latency_max_tsc / hz * 1e3);
  } else if (mode == RunMode::kEve) {
    // A config without model.path is valid (flow records alone), but a
    // sensor that was meant to score must not look as if it had.
    fmt::print(stderr, "flowscore: no model (model.path is empty, or --model none): flows recorded, not scored\n");
  }
  if (labels) {
    const LabelStats ls = labels->stats();
    fmt::print(stderr, "flowscore: labels: {} flows, {:.1f}% unmatched (default label '{}'), {} rules matched nothing\n",
               ls.flows, 100 * ls.unmatched_fraction(), default_label, ls.rules_matching_nothing());
  }
}

// What a run needs that can be refused before DPDK starts: capture files
// that open, a model that fits the features, labels that parse, an output
// that opens.
struct RunInputs {
  std::vector<PcapFileInfo> pcaps;
  std::shared_ptr<const CompiledModel> model;
  std::optional<LabelRules> labels;
  std::unique_ptr<OutputSink> sink;  // the one output, or a FanoutSink over several
  // Each output, for what only its kind has (collector state, the drain).
  struct Output {
    OutputSink* sink = nullptr;
    TcpSink* tcp = nullptr;        // a TCP or syslog collector
    KafkaSink* kafka = nullptr;    // a Kafka topic
    UdpSink* udp = nullptr;        // a syslog collector over UDP
    SpoolingSink* spool = nullptr;  // the collector's disk spool (output.spool_dir), in front of it
  };
  std::vector<Output> outputs;
};

// RFC 5424's HOSTNAME: the sensor's name (output.sensor_name, else the
// machine's), printable ASCII without spaces, at most 255 characters.
std::string syslog_hostname(const Config& cfg) {
  std::string name = cfg.output.sensor_name;
  if (name.empty()) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0) name = host;
  }
  for (char& c : name)
    if (c <= ' ' || c > '~') c = '_';
  if (name.size() > 255) name.resize(255);
  return name.empty() ? "-" : name;
}

// One output from its target text (output_target.hpp); `out` learns what
// kind of collector it is. Null with `error`.
std::unique_ptr<OutputSink> open_output(const RunRequest& req, const std::string& text, bool append,
                                        RunInputs::Output& out, std::string& error) {
  const Config& cfg = req.cfg;
  OutputTarget target;
  if (!parse_output_target(text, target, error)) return nullptr;
  using Kind = OutputTarget::Kind;
  const bool tcp = target.kind == Kind::kTcp || target.kind == Kind::kSyslogTcp || target.kind == Kind::kSyslogTls;
  if ((tcp || target.kind == Kind::kKafka || target.kind == Kind::kSyslogUdp) && req.mode == RunMode::kCalibrate) {
    error = "calibrate writes a configuration file, not to a collector";
    return nullptr;
  }
  std::unique_ptr<OutputSink> collector;
  if (tcp) {
    TcpSink::Options options;
    options.address = target.host;
    options.port = target.port;
    if (target.kind != Kind::kTcp) options.syslog = TcpSink::Syslog{syslog_hostname(cfg)};
    if (target.kind == Kind::kSyslogTls)
      options.tls = TcpSink::Tls{target.tls.ca_file, target.tls.server_name, target.tls.cert_file, target.tls.key_file};
    auto sink = TcpSink::create(options, error);
    out.tcp = sink.get();
    collector = std::move(sink);
  } else if (target.kind == Kind::kSyslogUdp) {
    // Lossy by choice (RFC 5426): no spool, no drain; failed sends are counted.
    auto sink = UdpSink::create(target.host, target.port, TcpSink::Syslog{syslog_hostname(cfg)}, error);
    out.udp = sink.get();
    return sink;
  } else if (target.kind == Kind::kKafka) {
    // Behind a spool, librdkafka keeps a message until it is delivered (no
    // timeout): what is undelivered at the end goes back to the spool.
    if (!cfg.output.spool_dir.empty()) target.properties.insert(target.properties.begin(), {"message.timeout.ms", "0"});
    auto sink = KafkaSink::create({target.brokers, target.topic, target.properties}, error);
    out.kafka = sink.get();
    collector = std::move(sink);
  } else {
    FileRotation rotation;
    rotation.max_bytes = cfg.output.rotate_bytes;
    rotation.interval_ns = cfg.output.rotate_interval_ns;
    rotation.keep = cfg.output.rotate_keep;
    rotation.gzip = cfg.output.rotate_gzip;
    rotation.fsync_interval_ns = cfg.output.fsync_interval_ns;
    return FileSink::open(target.kind == OutputTarget::Kind::kStdout ? "-" : target.path, append, error,
                          FileSink::kDefaultBufferBytes, std::move(rotation));
  }
  if (!collector || cfg.output.spool_dir.empty()) return collector;
  // Each collector its own spool directory, named after its target.
  std::string name = text.substr(0, text.find('?'));
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  Spool::Options so;
  so.dir = (std::filesystem::path(cfg.output.spool_dir) / name).string();
  so.max_bytes = cfg.output.spool_bytes;
  so.drop_oldest = cfg.output.spool_full == "drop_oldest";
  so.fsync_interval_ms = cfg.output.spool_fsync_ns / 1'000'000;
  auto spool = Spool::open(so, error);
  if (!spool) return nullptr;
  auto spooling = std::make_unique<SpoolingSink>(std::move(collector), std::move(spool));
  out.spool = spooling.get();
  return spooling;
}



bool prepare_run(const RunRequest& req, const FeatureSpec& spec, RunInputs& in, std::string& error) {
  const Config& cfg = req.cfg;
  in.pcaps.resize(req.pcaps.size());
  for (size_t i = 0; i < req.pcaps.size(); ++i)
    if (!probe_pcap_file(req.pcaps[i], in.pcaps[i], error)) return false;
  if (req.mode == RunMode::kEve && !cfg.model.path.empty()) {
    in.model = load_run_model(cfg, spec, error);
    if (!in.model) {
      error = "model " + error;
      return false;
    }
  }
  if (req.mode == RunMode::kExtract && (!req.labels_path.empty() || !req.input_labels.empty())) {
    in.labels = !req.labels_path.empty()
                    ? LabelRules::load(req.labels_path, req.pcaps, req.default_label, error)
                    : LabelRules::from_input_labels(req.pcaps, req.input_labels, req.default_label, error);
    if (!in.labels) {
      error = "labels: " + error;
      return false;
    }
  }
  // A calibration is one JSON document: never appended to an older one.
  const bool append = req.mode != RunMode::kCalibrate &&
                      (cfg.output.file_mode == "append" || (cfg.output.file_mode == "auto" && req.pcaps.empty()));
  std::vector<Config::Output::Extra> targets = {{cfg.output.path, "all", 0}};
  targets.insert(targets.end(), cfg.output.also.begin(), cfg.output.also.end());
  std::vector<FanoutSink::Output> sinks;
  for (const Config::Output::Extra& target : targets) {
    const std::string& text = target.target;
    RunInputs::Output out;
    std::unique_ptr<OutputSink> sink = open_output(req, text, append, out, error);
    if (!sink) {
      error = fmt::format("output{}: {}", targets.size() > 1 ? fmt::format(" {}", text) : "", error);
      return false;
    }
    out.sink = sink.get();
    in.outputs.push_back(out);
    sinks.push_back({std::move(sink), target.events == "alerts", target.benign_sample});
  }
  in.sink = sinks.size() == 1 ? std::move(sinks[0].sink) : std::make_unique<FanoutSink>(std::move(sinks));
  return true;
}

// Starts the EAL: offline with arguments flowscore plans itself, live with
// the user's. Sets how many workers the run gets. Returns 0 or an exit status.
int start_dpdk(const RunRequest& req, unsigned& worker_count, bool& one_reader, bool& ports_on_demand,
               bool& may_retry_without_hugepages) {
  const Config& cfg = req.cfg;
  std::string error;
  worker_count = 1;
  one_reader = false;
  ports_on_demand = false;
  may_retry_without_hugepages = false;
  if (!req.pcaps.empty()) {
    EalPlan plan;
    // dpdk.memory_mb, when set, is the whole budget; else 128 MiB + each worker's share.
    const size_t base_mb = cfg.dpdk.memory_mb ? cfg.dpdk.memory_mb : 128;
    const size_t per_worker_mb = cfg.dpdk.memory_mb ? 0 : worker_memory_bytes(cfg) >> 20;
    // app_proto needs each frame's bytes where its flow is tracked: the
    // workers read (validate_config refuses an explicit "main").
    const std::string read_on = cfg.app_proto.enabled && cfg.dpdk.read_on == "auto" ? "worker" : cfg.dpdk.read_on;
    if (!plan_offline_eal(req.pcaps, req.workers, read_on, base_mb, per_worker_mb, cfg.dpdk.hugepages,
                          cfg.dpdk.log_level, plan, error)) {
      fmt::print(stderr, "flowscore: {}\n", error);
      return 2;
    }
    for (const std::string& note : plan.notes) log_line(req.quiet, note);
    worker_count = plan.worker_lcores;
    one_reader = plan.one_reader;
    ports_on_demand = plan.ports_on_demand;
    may_retry_without_hugepages = !plan.no_huge && cfg.dpdk.hugepages == "auto";
    if (!start_eal(plan.args, error)) {
      fmt::print(stderr, "flowscore: {}\n", error);
      return 1;
    }
  } else {
    if (!start_eal(req.eal_args, error)) {
      fmt::print(stderr, "flowscore: {}\n", error);
      return 1;
    }
    if (rte_eth_dev_count_avail() == 0) {
      fmt::print(stderr, "flowscore: no ports: give DPDK a device (PCI address or --vdev) before '--'\n");
      rte_eal_cleanup();
      return 2;
    }
    worker_count = std::max(1u, rte_lcore_count() - 1);  // queues are planned per worker (queue_plan.hpp)
  }
  if (rte_lcore_count() < 2) {
    fmt::print(stderr, "flowscore: need at least two lcores (one writer, one worker); use -l or --lcores\n");
    rte_eal_cleanup();
    return 2;
  }
  return 0;
}

// Offline, ports opened on demand (CapturePorts): one input per capture
// file, its port filled in by the feeder when it opens it.
std::vector<WorkerInput> capture_inputs(const std::vector<PcapFileInfo>& pcaps) {
  std::vector<WorkerInput> inputs;
  for (size_t i = 0; i < pcaps.size(); ++i)
    inputs.push_back({0, 0, static_cast<uint32_t>(i), pcaps[i].link, pcaps[i].snaplen});
  return inputs;
}

// Offline: capture file i is port net_pcap<i>, started with one queue.
bool open_capture_ports(const RunRequest& req, const std::vector<PcapFileInfo>& pcaps, rte_mempool* pool,
                        std::vector<WorkerInput>& inputs, std::string& error) {
  for (size_t i = 0; i < req.pcaps.size(); ++i) {
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(pcap_vdev_name(i).c_str(), &port) != 0) {
      error = fmt::format("{}: the pcap PMD did not open it", req.pcaps[i]);
      return false;
    }
    inputs.push_back({port, 0, static_cast<uint32_t>(i), pcaps[i].link, pcaps[i].snaplen});
    QueuePlan::Port plan;
    plan.port = port;
    Config::Dpdk dpdk = req.cfg.dpdk;
    dpdk.mtu = 0;  // a live knob: the pcap PMD hands over whole records whatever their size
    std::string describe;
    if (!configure_port(plan, dpdk, pool, describe, error)) return false;
  }
  return true;
}

// Live: the ports' RX queues planned over the workers (queue_plan.hpp).
bool plan_live_ports(const Config& cfg, unsigned worker_count, QueuePlan& plan, std::string& error) {
  std::vector<PortCapabilities> caps;
  uint16_t port = 0;
  RTE_ETH_FOREACH_DEV(port) {
    caps.push_back(port_capabilities(port));
    if (!check_mtu(caps.back(), cfg.dpdk.mtu, error)) return false;
  }
  QueueOptions opt;
  opt.distribute = cfg.dpdk.distribute;
  opt.queue_map = cfg.dpdk.queues;
  opt.rss_hf = rss_hash_types(cfg.dpdk.rss_hash);
  return plan_queues(caps, worker_count, opt, plan, error);
}

// The mbuf pool(s): offline one of dpdk.mbufs (default 8191) on the main
// lcore's socket; live one per NUMA socket of the ports, each sized for its
// ports' queues and descriptors (dpdk.mbufs 0), or of dpdk.mbufs, refused
// when that is too few to fill the descriptors. Returns false with `error`;
// `refused` tells a configuration that cannot work from memory that ran out.
bool make_mbuf_pools(const Config& cfg, const QueuePlan* live, std::map<int, rte_mempool*>& pools, bool& refused,
                     std::string& error) {
  constexpr unsigned kCache = 256;
  refused = false;
  std::map<int, QueuePlan> per_socket;
  if (live) {
    for (const QueuePlan::Port& p : live->ports) {
      const int socket = rte_eth_dev_socket_id(p.port) >= 0 ? rte_eth_dev_socket_id(p.port) : static_cast<int>(rte_socket_id());
      per_socket[socket].ports.push_back(p);
    }
  } else {
    per_socket[static_cast<int>(rte_socket_id())];
  }
  for (const auto& [socket, share] : per_socket) {
    const uint32_t needed = mbufs_needed(share, cfg.dpdk, rte_lcore_count(), kCache);
    uint32_t size = cfg.dpdk.mbufs;
    if (size == 0) size = std::max<uint32_t>(8191, std::bit_ceil(2 * needed) - 1);  // a power of two less one suits the ring
    if (live && size < needed) {
      uint64_t rx_descriptors = 0;
      for (const QueuePlan::Port& p : share.ports) rx_descriptors += uint64_t{p.rx_queues} * cfg.dpdk.rx_descriptors;
      error = fmt::format("dpdk.mbufs {} is too few for the ports on socket {}: {} RX descriptors (dpdk.rx_descriptors "
                          "per queue), the TX rings, bursts and lcore caches take {}; raise it, or set 0 to size it "
                          "from the ports", size, socket, rx_descriptors, needed);
      refused = true;
      return false;
    }
    rte_mempool* pool = rte_pktmbuf_pool_create(fmt::format("mbufs_s{}", socket).c_str(), size, kCache, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (pool == nullptr) {
      error = fmt::format("cannot create the mbuf pool ({} mbufs on socket {}): {}", size, socket, rte_strerror(rte_errno));
      return false;
    }
    pools[socket] = pool;
  }
  return true;
}

// Live: starts every port as planned. `inputs` gets one entry per port (for
// names, stats and teardown), `assigned` each worker's own queues, `dealt`
// the queues the main lcore reads and deals.
bool open_live_ports(const RunRequest& req, const QueuePlan& plan, const std::map<int, rte_mempool*>& pools,
                     std::vector<WorkerInput>& inputs, std::vector<std::vector<WorkerInput>>& assigned,
                     std::vector<CaptureFeeder::Input>& dealt, std::string& error) {
  for (const std::string& note : plan.notes) log_line(false, note);
  for (const QueuePlan::Port& p : plan.ports) {
    const int socket = rte_eth_dev_socket_id(p.port) >= 0 ? rte_eth_dev_socket_id(p.port) : static_cast<int>(rte_socket_id());
    std::string describe;
    if (!configure_port(p, req.cfg.dpdk, pools.at(socket), describe, error)) return false;
    log_line(req.quiet, describe);
    inputs.push_back({p.port, 0, p.port, LinkType::kEthernet, 0});
  }
  assigned.assign(plan.worker_queues.size(), {});
  for (size_t w = 0; w < plan.worker_queues.size(); ++w)
    for (const QueueRef& q : plan.worker_queues[w]) assigned[w].push_back({q.port, q.queue, q.port, LinkType::kEthernet, 0});
  for (const QueueRef& q : plan.dealt) dealt.push_back({q.port, q.queue, q.port, LinkType::kEthernet, 0});
  return true;
}

// Offline, when the main lcore reads the capture files (`one_reader`, from
// dpdk.read_on), the feeder that deals their frames to the workers; null
// when the workers read.
std::unique_ptr<CaptureFeeder> make_capture_feeder(const RunRequest& req, const std::vector<WorkerInput>& inputs,
                                                   unsigned worker_count, bool one_reader, CapturePorts* ports,
                                                   std::string& error) {
  const Config& cfg = req.cfg;
  if (req.pcaps.empty() || !one_reader) return nullptr;
  std::vector<CaptureFeeder::Input> feeds;
  for (const WorkerInput& in : inputs)
    feeds.push_back({in.port, in.queue, static_cast<uint16_t>(in.input_index), in.link, in.snaplen});
  auto feeder = CaptureFeeder::create(std::move(feeds), worker_count, static_cast<uint16_t>(cfg.dpdk.burst_size),
                                      static_cast<int>(rte_socket_id()), ports, error);
  if (!feeder && ports) return nullptr;  // no one else can open the ports: the run cannot go on
  if (feeder && worker_count == 1)
    log_line(req.quiet, "the main lcore reads and parses the capture files; the worker tracks flows (dpdk.read_on)");
  else if (feeder)
    log_line(req.quiet, fmt::format("the main lcore reads and parses the capture files and deals frames to {} "
                                    "workers by address pair (dpdk.read_on)", worker_count));
  else if (worker_count > inputs.size())
    log_line(req.quiet, fmt::format("the workers read the capture files themselves, and {} of them have none: {}",
                                    worker_count - inputs.size(), error));
  else
    log_line(req.quiet, fmt::format("the workers read the capture files themselves: {}", error));
  return feeder;
}

// Each worker's inputs: with a feeder every worker sees every file (frames
// dealt by the feeder); else files dealt round-robin, each read by one worker.
std::vector<std::vector<WorkerInput>> deal_inputs(const std::vector<WorkerInput>& inputs, unsigned worker_count,
                                                  bool feeder) {
  std::vector<std::vector<WorkerInput>> assigned(worker_count);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (feeder) {
      for (auto& a : assigned) a.push_back(inputs[i]);
    } else {
      assigned[i % worker_count].push_back(inputs[i]);
    }
  }
  return assigned;
}

// One worker per worker lcore. Each gets its own flow table, record queue
// and score batch, on its lcore's NUMA socket.
bool create_workers(const RunRequest& req, const FeatureSpec& spec, const ModelSlot& model_slot,
                    bool score_on_writer, std::vector<std::vector<WorkerInput>> assigned, CaptureFeeder* feeder,
                    std::vector<std::unique_ptr<Worker>>& workers, std::string& error) {
  const Config& cfg = req.cfg;
  const unsigned worker_count = static_cast<unsigned>(assigned.size());
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned w = 0; w < worker_count; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
    FlowTableConfig tcfg = cfg.flow;
    tcfg.worker_id = static_cast<uint16_t>(w);
    tcfg.socket_id = static_cast<int>(rte_lcore_to_socket_id(lcore));
    tcfg.hugetlb_arrays = rte_eal_has_hugepages();
    std::unique_ptr<AppProtoDetector> app_proto;
    if (cfg.app_proto.enabled && !(app_proto = AppProtoDetector::create(cfg.app_proto, error))) {
      error = fmt::format("worker {}: {}", w, error);
      return false;
    }
    auto table = FlowTable::create(tcfg, cfg.features, error, std::move(app_proto));
    auto queue = table ? RecordQueue::create(cfg.output.queue_records, static_cast<uint16_t>(w), tcfg.socket_id, error)
                       : nullptr;
    if (!table || !queue) {
      error = fmt::format("worker {}: {}", w, error);
      return false;
    }
    auto scorer = req.mode == RunMode::kEve ? std::make_unique<ScoreBatch>(spec, cfg, model_slot) : nullptr;
    workers.push_back(std::make_unique<Worker>(static_cast<uint16_t>(w), cfg, !req.pcaps.empty(),
                                               std::move(assigned[w]), std::move(table), std::move(queue),
                                               std::move(scorer), score_on_writer, feeder ? &feeder->lane(w) : nullptr));
  }
  return true;
}

// EVE's in_iface per FlowRecord::input_index: offline the capture file's
// name, live the port's DPDK name (a PCI address, or a vdev's name).
std::vector<std::string> input_names(const RunRequest& req, const std::vector<WorkerInput>& inputs) {
  std::vector<std::string> names;
  for (const WorkerInput& i : inputs) {
    if (names.size() <= i.input_index) names.resize(i.input_index + 1);
    char port_name[RTE_ETH_NAME_MAX_LEN] = "";
    names[i.input_index] = !req.pcaps.empty() ? std::filesystem::path(req.pcaps[i.input_index]).filename().string()
                           : rte_eth_dev_get_name_by_port(i.port, port_name) == 0 ? std::string(port_name)
                                                                                   : fmt::format("port{}", i.port);
  }
  return names;
}

RecordFormat record_format(const Config& cfg) {
  RecordFormat f = RecordFormat::kEve;
  parse_record_format(cfg.output.format, f);  // the config takes only the names it knows
  return f;
}

std::unique_ptr<RecordWriter> make_record_writer(const RunRequest& req, const FeatureSpec& spec,
                                                 const RunInputs& in, const std::vector<WorkerInput>& inputs,
                                                 uint64_t model_generation) {
  if (req.mode == RunMode::kExtract)
    return std::make_unique<CsvRecordWriter>(spec, req.pcaps, in.labels ? &*in.labels : nullptr, req.default_label);
  if (req.mode == RunMode::kCalibrate)
    return std::make_unique<CalibrationWriter>(req.cfg, !req.pcaps.empty(), req.quantile, req.config_text, req.pcaps);
  EveOptions eo;
  eo.format = record_format(req.cfg);
  eo.community_id_seed = req.cfg.output.community_id_seed;
  eo.include_features = req.cfg.output.include_features;
  eo.feature_names = spec.names();
  eo.sensor_name = req.cfg.output.sensor_name;
  eo.input_names = input_names(req, inputs);
  if (in.model) eo.model = model_info(*in.model, req.cfg);
  eo.model_generation = model_generation;
  auto judge = req.cfg.alerting.mode == "evidence" ? std::make_unique<RecordJudge>(req.cfg, !req.pcaps.empty()) : nullptr;
  return std::make_unique<EveRecordWriter>(eo, spec, std::move(judge));
}

// Offline, a thread on the main lcore's CPU faults each flow table's memory
// in a little ahead of its worker (one thread per table), so page zeroing
// leaves the packet path. Only tables on the main lcore's own NUMA socket:
// pages land where the faulting thread runs, and a worker on another socket
// wants them local.
std::vector<std::unique_ptr<Prefaulter>> prefault_flow_tables(const std::vector<std::unique_ptr<Worker>>& workers) {
  constexpr size_t kLeadFlows = 65536;  // ~20 MB: over 0.1 s of new flows at full speed
  std::vector<std::unique_ptr<Prefaulter>> prefaulters;
  for (const auto& w : workers) {
    const FlowTable& t = w->table();
    if (t.socket_id() == SOCKET_ID_ANY || t.socket_id() == static_cast<int>(rte_socket_id()))
      prefaulters.push_back(std::make_unique<Prefaulter>(t.lazily_mapped(), t.capacity(), t.positions_used(), kLeadFlows));
  }
  return prefaulters;
}

// output.status_log: one line per stats event, for journald or a terminal.
std::string status_text(const RunStats& s) {
  uint64_t active = 0;
  for (const WorkerStats& w : s.workers) active += w.flows_active;
  const double up = s.uptime_ns / 1e9;
  return fmt::format("status: up {:.0f} s, {} packets ({:.1f} kpkt/s), {} dropped by the NIC, {} flows tracked, "
                     "{} records ({} dropped), {} alerts, {} write failures",
                     up, s.total.packets.packets, up > 0 ? s.total.packets.packets / up / 1e3 : 0.0, s.dropped(), active,
                     s.total.flows.records_emitted, s.total.flows.records_dropped, s.total.scoring.alerts, s.write_failures);
}

// A PMD that finds no free mbuf drops the packet (the pcap PMD after it has
// read it from the file). Every burst is freed at once, so this should never
// happen offline; if it does, the output misses packets of the file and the
// run fails. Live, it means the workers fell behind: reported, not fatal.
int report_mbuf_shortage(uint16_t port, uint64_t rx_nombuf, const std::string& pcap) {
  if (rx_nombuf == 0) return 0;
  fmt::print(stderr, "flowscore: {}: {} packets lost: no free mbuf (dpdk.mbufs)\n",
             pcap.empty() ? fmt::format("port {}", port) : pcap, rx_nombuf);
  return pcap.empty() ? 0 : 1;
}

// Exit status from what the run counted: lost records and failed writes fail it.
int report_losses(const RunStats& s, const OutputSink& sink) {
  int status = 0;
  const uint64_t abandoned = s.total.records_abandoned;
  if (const uint64_t n = s.total.flows.records_dropped - std::min(abandoned, s.total.flows.records_dropped)) {
    fmt::print(stderr, "flowscore: {} records dropped: the writer could not keep up (output.queue_records)\n", n);
    status = 1;
  }
  if (abandoned) {
    fmt::print(stderr, "flowscore: {} records dropped: a second stop signal ended the flush before the writer took them\n",
               abandoned);
    status = 1;
  }
  if (const uint64_t write_failures = s.write_failures) {
    fmt::print(stderr, "flowscore: writing {} failed: {} ({} records, {} bytes, lost)\n", sink.describe(),
               sink.last_error(), sink.dropped_lines(), sink.dropped_bytes());
    status = 1;
  }
  return status;
}

// The end of a run: each collector gets output.drain_timeout to take what is
// queued (it may be restarting), side by side within the one deadline. A
// collector behind a spool keeps what it has not taken in the spool, for
// the next start; without a spool, that is lost, and said so. Returns 1
// when a spool lost lines to its bound (else 0); counts failed writes.
int drain_outputs(RunInputs& in, const Config& cfg, bool quiet, uint64_t& write_failures) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(cfg.output.drain_timeout_ns);
  for (const RunInputs::Output& o : in.outputs)
    if (o.tcp == nullptr && o.kafka == nullptr && !o.sink->flush()) ++write_failures;
  for (bool waiting = true; waiting && std::chrono::steady_clock::now() < deadline && !g_abort.load();) {
    waiting = false;
    for (const RunInputs::Output& o : in.outputs) {
      if (o.spool) {
        o.spool->flush();  // hands the spool on
        waiting |= !o.spool->spool().empty();
      }
      if (o.tcp) {
        o.tcp->flush();
        waiting |= o.tcp->queued_bytes() > 0;
      }
      if (o.kafka) {
        o.kafka->flush();  // serves delivery reports: in_flight() counts the unreported
        waiting |= o.kafka->in_flight() > 0;
      }
    }
    if (waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = 0;
  for (const RunInputs::Output& o : in.outputs) {
    if (o.spool != nullptr) {
      o.spool->finish();  // what the collector still holds goes back to the spool
      const Spool& sp = o.spool->spool();
      const Spool::Counters& c = sp.counters();
      if (!quiet || c.dropped_lines)
        fmt::print(stderr, "flowscore: {}: spool {}: {} records from an earlier run, {} spooled, {} handed on, {} "
                   "dropped (output.spool_bytes, {}), {} left for the next start\n",
                   o.spool->describe(), sp.dir(), c.recovered_lines, c.spooled_lines, c.handed_on_lines,
                   c.dropped_lines, cfg.output.spool_full, sp.lines());
      if (c.dropped_lines) status = 1;
    } else if (o.tcp != nullptr && o.tcp->queued_bytes()) {
      fmt::print(stderr, "flowscore: {} did not take {} bytes of records within output.drain_timeout: lost\n",
                 o.tcp->describe(), o.tcp->queued_bytes());
      ++write_failures;
    } else if (o.kafka != nullptr) {
      const uint64_t queued = o.kafka->in_flight();
      if (!o.kafka->give_up_undelivered()) {  // the deadline has passed
        fmt::print(stderr, "flowscore: {}: {} of {} queued records were not delivered within output.drain_timeout: lost\n",
                   o.kafka->describe(), o.kafka->counters().failed, queued);
        ++write_failures;
      }
    }
    if (o.tcp != nullptr && o.tcp->long_messages() && !quiet)
      fmt::print(stderr, "flowscore: {}: {} messages were longer than 8 KiB, rsyslog's default maxMessageSize: raise it "
                 "at the collector, or it cuts them\n", o.tcp->describe(), o.tcp->long_messages());
    if (o.udp != nullptr && !quiet)
      fmt::print(stderr, "flowscore: {}: {} records sent, {} not sent (counted lost); what UDP loses after a send "
                 "is not seen{}\n", o.udp->describe(), o.udp->sent(), o.udp->dropped_lines(),
                 o.udp->long_messages() ? fmt::format("; {} messages over 8 KiB", o.udp->long_messages()) : "");
    if (o.kafka != nullptr && !quiet) {
      const KafkaSink::Counters& k = o.kafka->counters();
      fmt::print(stderr, "flowscore: {}: {} records produced, {} delivered, {} failed, {} dropped (local queue full){}\n",
                 o.kafka->describe(), k.produced, k.delivered, k.failed, k.queue_full,
                 k.respooled ? fmt::format(", {} back to the spool", k.respooled) : "");
    }
  }
  return status;
}

}  // namespace

int run_pipeline(const RunRequest& req) {
  const Config& cfg = req.cfg;
  const bool offline = !req.pcaps.empty();
  const FeatureSpec spec(cfg.features);
  std::string error;

  RunInputs in;
  if (!prepare_run(req, spec, in, error)) {
    fmt::print(stderr, "flowscore: {}\n", error);
    return 2;
  }

  // ---- DPDK -----------------------------------------------------------------
  const auto t_start = std::chrono::steady_clock::now();
  unsigned worker_count = 1;
  bool one_reader = false, ports_on_demand = false, may_retry_without_hugepages = false;
  if (const int rc = start_dpdk(req, worker_count, one_reader, ports_on_demand, may_retry_without_hugepages); rc != 0)
    return rc;
  const auto t_eal_ready = std::chrono::steady_clock::now();

  // DPDK memory ran out after start-up: with hugepages chosen by "auto",
  // another process probably took them since we counted; say so and retry.
  auto out_of_memory = [&](const std::string& what) {
    rte_eal_cleanup();
    if (may_retry_without_hugepages) {
      log_line(false, fmt::format("{}; hugepages ran out (another DPDK process?): retrying with --no-huge", what));
      return kRetryWithoutHugepages;
    }
    fmt::print(stderr, "flowscore: {}\n", what);
    return 1;
  };

  QueuePlan live_plan;
  if (!offline && !plan_live_ports(cfg, worker_count, live_plan, error)) {
    fmt::print(stderr, "flowscore: {}\n", error);
    rte_eal_cleanup();
    return 2;
  }
  std::map<int, rte_mempool*> pools;  // per NUMA socket
  auto free_pools = [&] {
    for (auto& [socket, pool] : pools) rte_mempool_free(pool);
    pools.clear();
  };
  if (bool refused = false; !make_mbuf_pools(cfg, offline ? nullptr : &live_plan, pools, refused, error)) {
    free_pools();
    if (!refused) return out_of_memory(error);
    fmt::print(stderr, "flowscore: {}\n", error);
    rte_eal_cleanup();
    return 2;
  }
  std::vector<WorkerInput> inputs;  // offline one per capture file, live one per port
  std::vector<std::vector<WorkerInput>> assigned;
  std::vector<CaptureFeeder::Input> dealt;  // live: the queues the main lcore reads and deals
  // Offline with more files than ports at start: the feeder opens each
  // file's port as it reads it (CapturePorts, issue 17).
  std::unique_ptr<CapturePorts> capture_ports;
  if (ports_on_demand) {
    capture_ports = std::make_unique<CapturePorts>(req.pcaps, cfg.dpdk, pools.begin()->second);
    inputs = capture_inputs(in.pcaps);
  } else if (offline ? !open_capture_ports(req, in.pcaps, pools.begin()->second, inputs, error)
                     : !open_live_ports(req, live_plan, pools, inputs, assigned, dealt, error)) {
    fmt::print(stderr, "flowscore: {}\n", error);
    rte_eal_cleanup();
    return 1;
  }
  // The main lcore deals parsed headers, not bytes (frame_stager.hpp):
  // nDPI on the workers would see nothing of those frames.
  if (cfg.app_proto.enabled && (one_reader || ports_on_demand || !dealt.empty())) {
    fmt::print(stderr, "flowscore: flow.app_proto: needs every packet read by the worker that tracks its flow; {}\n",
               offline ? fmt::format("give at most {} capture files at once", kMaxCapturePortsAtStart)
                       : std::string("a port here cannot spread packets over the workers' RX queues (NIC RSS, "
                                     "dpdk.queues)"));
    rte_eal_cleanup();
    return 2;
  }

  ModelSlot model_slot;
  model_slot.set(in.model);
  g_running_model.set(in.model.get());
  rte_telemetry_register_cmd("/flowscore/reload", telemetry_reload,
                             "Reload the model from model.path and reopen the output file, like SIGHUP");
  rte_telemetry_register_cmd("/flowscore/model", telemetry_model, "The running model: name, hash, reload counts");
  rte_telemetry_register_cmd("/flowscore/stats", StatsReporter::telemetry_stats,
                             "Packets, drops, flows, records, alerts: at most about a second old");
  std::unique_ptr<CaptureFeeder> feeder;
  if (offline) {
    feeder = make_capture_feeder(req, inputs, worker_count, one_reader, capture_ports.get(), error);
    if (!feeder && capture_ports) {
      capture_ports.reset();
      free_pools();
      return out_of_memory(error);
    }
    assigned = deal_inputs(inputs, worker_count, feeder != nullptr);
  } else if (!dealt.empty()) {
    feeder = CaptureFeeder::create_live(std::move(dealt), worker_count, static_cast<uint16_t>(cfg.dpdk.burst_size),
                                        static_cast<int>(rte_socket_id()), g_stop, error);
    if (!feeder) {
      free_pools();
      return out_of_memory(error);
    }
  }
  // Scoring runs on the workers, or on the writer's lcore, which is mostly
  // idle while it serves a single worker that reads its own input
  // (model.score_on). A worker always scores what its flushes emit: it has
  // no packets to serve then.
  const bool score_on_writer =
      req.mode == RunMode::kEve &&
      (cfg.model.score_on == "writer" || (cfg.model.score_on == "auto" && worker_count == 1 && !feeder));
  std::unique_ptr<ScoreBatch> writer_scorer =
      score_on_writer ? std::make_unique<ScoreBatch>(spec, cfg, model_slot) : nullptr;
  std::vector<std::unique_ptr<Worker>> workers;
  if (!create_workers(req, spec, model_slot, score_on_writer, std::move(assigned), feeder.get(), workers, error)) {
    workers.clear();
    feeder.reset();
    free_pools();
    return out_of_memory(error);
  }
  std::unique_ptr<RecordWriter> writer = make_record_writer(req, spec, in, inputs, model_slot.generation());

  std::vector<std::unique_ptr<Prefaulter>> prefaulters;
  if (offline) prefaulters = prefault_flow_tables(workers);
  install_stop_handlers();
  in.sink->abandon_when(&g_abort);
  for (const RunInputs::Output& o : in.outputs) o.sink->abandon_when(&g_abort);
  std::signal(SIGHUP, on_signal);
  // A closed pipe on --out - is a failed write, counted and reported, not a
  // silent death.
  std::signal(SIGPIPE, SIG_IGN);
  std::future<std::vector<std::optional<CaptureLayout>>> pcapng_layouts;
  if (offline) {
    std::vector<std::string> paths;
    for (const WorkerInput& i : inputs) paths.push_back(is_pcapng(req.pcaps[i.input_index]) ? req.pcaps[i.input_index] : "");
    pcapng_layouts = walk_pcapng_inputs(std::move(paths));
  }
  const auto t_first_packet = std::chrono::steady_clock::now();  // the workers start polling now
  {
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    for (auto& w : workers) {
      rte_eal_remote_launch(worker_main, w.get(), lcore);
      lcore = rte_get_next_lcore(lcore, 1, 0);
    }
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!offline && !cfg.output.metrics_listen.empty()) {
    metrics = MetricsEndpoint::start(cfg.output.metrics_listen, cfg.output.sensor_name, error);
    if (metrics)
      log_line(req.quiet, fmt::format("Prometheus metrics on http://{}/metrics", cfg.output.metrics_listen));
    else
      log_line(false, fmt::format("{}; running without /metrics", error));  // a sensor still senses without it
  }
  if (!offline) {
    log_line(req.quiet, fmt::format("live on {} port(s) with {} worker(s); SIGHUP reloads the model and reopens the output, SIGINT stops",
                                    inputs.size(), workers.size()));
    notify_ready(fmt::format("live on {} port(s) with {} worker(s)", inputs.size(), workers.size()));
  }

  // ---- the writer: main lcore --------------------------------------------
  auto reload_model = [&] {
    auto fresh = load_run_model(cfg, spec, error);
    if (fresh) {
      g_running_model.set(fresh.get());
      // The writer learns the new model's names before any verdict of it can
      // reach the writer: only this thread swaps models, so the generation
      // set() gives it is known now.
      writer->model_changed(model_slot.generation() + 1, model_info(*fresh, cfg));
      model_slot.set(std::move(fresh));
      ++g_model_reloads;
      log_line(false, fmt::format("model reloaded from {}", cfg.model.path));
    } else {
      ++g_model_refusals;
      log_line(false, fmt::format("model reload refused, keeping the running model: {}", error));
    }
  };
  uint64_t write_failures = 0;
  // SIGHUP also reopens the output file, so logrotate can move it away
  // (postrotate: kill -HUP), as with Suricata's EVE log.
  auto reopen_output = [&] {
    if (cfg.output.path == "-") return;
    if (in.sink->reopen()) {
      log_line(false, fmt::format("output reopened: {}", in.sink->describe()));
    } else {
      log_line(false, fmt::format("output reopen failed, still writing to the old file: {}", in.sink->last_error()));
    }
  };
  const bool can_reload = req.mode == RunMode::kEve && !cfg.model.path.empty();
  std::vector<PortRef> ports;  // with capture_ports, their totals instead (below)
  for (const WorkerInput& i : capture_ports ? std::vector<WorkerInput>{} : inputs) {
    uint16_t queues = 1;
    for (const QueuePlan::Port& p : live_plan.ports)
      if (p.port == i.port) queues = p.rx_queues;
    ports.push_back({i.port, queues});
  }
  StatsReporter stats(workers, writer_scorer.get(), std::move(ports), offline ? 0 : cfg.output.stats_interval_ns,
                      cfg.output.sensor_name, record_format(cfg), [&](RunStats& s) {
    s.write_failures = write_failures;
    if (capture_ports) s.ports.push_back(capture_ports->totals());  // the main lcore's, as the feeder that uses them
    if (!offline && feeder) s.ring_drops = feeder->ring_drops();
    for (const RunInputs::Output& o : in.outputs) {
      RunStats::Output& os = s.outputs.emplace_back();
      os.name = o.sink->describe();
      os.lost_bytes = o.sink->dropped_bytes() + (o.spool ? o.spool->collector().dropped_bytes() : 0);
      os.lost_records = o.sink->dropped_lines() + (o.spool ? o.spool->collector().dropped_lines() : 0);
      if (o.spool) {
        os.spooled = o.spool->spool().lines();
        os.spool_dropped = o.spool->spool().counters().dropped_lines;
      }
      if (o.kafka) {
        os.delivered = o.kafka->counters().delivered;
        os.failed = o.kafka->counters().failed;
      }
    }
    s.model_reloads = g_model_reloads.load();
    s.model_refusals = g_model_refusals.load();
    std::lock_guard lock(g_running_model.mutex);
    s.model_name = g_running_model.name;
    s.model_hash = g_running_model.hash;
    if (const auto* eve = dynamic_cast<const EveRecordWriter*>(writer.get()); eve && eve->judge()) {
      const RecordJudge& j = *eve->judge();
      s.alerting = RunStats::Alerting{j.policy_counters().alerts,      j.policy_counters().limited,
                                      j.policy_counters().suppressed,  j.campaign_counters().opened,
                                      j.campaign_counters().flows,     j.context().forgotten()};
    }
  });
  // Offline on a terminal: a progress line, from snapshots four times a second.
  uint64_t capture_bytes = 0;
  for (const std::string& path : req.pcaps) {
    std::error_code ec;
    capture_bytes += std::filesystem::file_size(path, ec);
  }
  ProgressLine progress(capture_bytes, req.pcaps.size(), offline && !req.quiet && isatty(STDERR_FILENO));
  if (progress.enabled()) stats.set_refresh(250'000'000);
  uint64_t status_events = 0;
  // A failing output is said at once and then every 10 s while it fails,
  // not only in the summary; so is a collector lost or found again.
  uint64_t failures_reported = 0;
  auto failures_reported_at = std::chrono::steady_clock::time_point{};
  std::vector<bool> collector_up(in.outputs.size(), false);
  auto report_output_health = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (write_failures != failures_reported && (failures_reported == 0 || now - failures_reported_at >= std::chrono::seconds(10))) {
      log_line(false, fmt::format("writing {} is failing: {}; {} writes failed, {} records ({} bytes) lost so far",
                                  in.sink->describe(), in.sink->last_error(), write_failures, in.sink->dropped_lines(),
                                  in.sink->dropped_bytes()));
      failures_reported = write_failures;
      failures_reported_at = now;
    }
    for (size_t k = 0; k < in.outputs.size(); ++k) {
      const TcpSink* tcp = in.outputs[k].tcp;
      if (tcp == nullptr || tcp->connected() == collector_up[k]) continue;
      collector_up[k] = tcp->connected();
      const SpoolingSink* spool = in.outputs[k].spool;
      log_line(false, collector_up[k] ? fmt::format("connected to {}", tcp->describe())
                      : spool        ? fmt::format("lost {}: {}; spooling to {}", tcp->describe(), tcp->last_error(),
                                                   spool->spool().dir())
                                     : fmt::format("lost {}: {}; queuing up to {} MiB", tcp->describe(),
                                                   tcp->last_error(), TcpSink::Options{}.buffer_bytes >> 20));
    }
  };
  // Live, link changes are logged as the main lcore sees them (polled once
  // a second: not every PMD raises link-state interrupts).
  std::vector<uint16_t> port_ids;
  for (const WorkerInput& i : inputs)
    if (!capture_ports) port_ids.push_back(i.port);
  LinkWatch link_watch(std::move(port_ids));
  auto next_link_check = std::chrono::steady_clock::now();
  bool links_reported = false;
  fmt::memory_buffer text;
  write_records(workers, writer_scorer.get(), cfg.model.batch_size, feeder.get(), *writer, *in.sink, !offline,
                text, write_failures, [&](fmt::memory_buffer& out) {
    if (progress.enabled()) {
      const uint64_t seen = stats.snapshots();
      stats.poll(out);  // offline: no stats events, only snapshots
      if (stats.snapshots() != seen)
        progress.update(stats.latest(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
    }
    if (g_reload.load(std::memory_order_relaxed) && g_reload.exchange(false)) {
      if (!offline) notify_reloading();
      if (can_reload) reload_model();
      reopen_output();  // lines not yet written go to the new file
      if (!offline) notify_ready("reloaded");
    }
    if (!offline) stats.poll(out);
    report_output_health();
    if (!offline && std::chrono::steady_clock::now() >= next_link_check) {
      for (const std::string& line : link_watch.changes()) log_line(req.quiet && !links_reported, line);
      links_reported = true;
      next_link_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (cfg.output.status_log && stats.events() != status_events) {
      status_events = stats.events();
      log_line(false, status_text(stats.latest()));
    }
  });
  progress.finish();
  if (!offline) notify_stopping();  // every record is written; the summary and teardown follow
  rte_eal_mp_wait_lcore();
  prefaulters.clear();
  RunStats t = stats.finish(text);
  if (text.size() && !in.sink->write({text.data(), text.size()})) ++write_failures;
  int spool_status = drain_outputs(in, cfg, req.quiet, write_failures);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // ---- summary and teardown ---------------------------------------------------
  t.write_failures = write_failures;  // the last writes came after the snapshot
  if (!req.quiet)
    print_summary(t, elapsed, *in.sink, req.mode, model_slot.get().get(), in.labels ? &*in.labels : nullptr,
                  req.default_label);
  if (!offline && !req.quiet) print_port_summary(t);
  if (!req.quiet) fmt::print(stderr, "flowscore: {}\n", accounting_line(t, !offline));
  if (const auto* eve = dynamic_cast<const EveRecordWriter*>(writer.get()); eve && eve->judge() && !req.quiet)
    print_judgement_summary(*eve->judge(), model_slot.get() != nullptr);
  if (const auto* cal = dynamic_cast<const CalibrationWriter*>(writer.get()); cal && !req.quiet)
    fmt::print(stderr, "flowscore: calibration: {} records at quantile {}; the configuration with its thresholds: {}\n",
               cal->calibrator().records(), req.quantile, in.sink->describe());
  if (!req.quiet) {
    auto seconds = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
    const uint32_t table = cfg.flow.capacity;
    fmt::print(stderr, "flowscore: start-up {:.3f} s to the first packet (DPDK EAL {:.3f} s); flow table {} flows per worker{}\n",
               seconds(req.process_start, t_first_packet), seconds(t_start, t_eal_ready), table,
               req.configured_table_size > table
                   ? fmt::format(" (fitted to the captures' size; flow.table_size {})", req.configured_table_size)
                   : std::string());
  }
  if (g_model_reloads || g_model_refusals)
    fmt::print(stderr, "flowscore: model reloads: {} taken, {} refused\n", g_model_reloads.load(), g_model_refusals.load());
  int status = report_losses(t, *in.sink) | spool_status;
  // Each capture file's counters: its port's, or kept from it when it was
  // closed (CapturePorts).
  if (capture_ports) capture_ports->close_all();  // a stop may have left one open
  auto counters = [&](const WorkerInput& i) {
    if (capture_ports) return capture_ports->read(i.input_index);
    rte_eth_stats st{};
    CapturePorts::Read r;
    r.opened = rte_eth_stats_get(i.port, &st) == 0;
    r.packets = st.ipackets;
    r.bytes = st.ibytes;
    r.ierrors = st.ierrors;
    r.rx_nombuf = st.rx_nombuf;
    return r;
  };
  for (const WorkerInput& i : inputs)
    status |= report_mbuf_shortage(i.port, counters(i).rx_nombuf, offline ? req.pcaps[i.input_index] : "");
  if (offline) {
    const auto pcapng = pcapng_layouts.get();
    const int stop_signal = g_stop_signal.load();
    bool broken = false, cut_short = false;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const CapturePorts::Read r = counters(inputs[k]);
      // Never opened without a failure said (a stop came first): nothing to compare.
      if (!r.opened && capture_ports && stop_signal != 0) {
        cut_short = true;
        continue;
      }
      const Unread u = r.opened || capture_ports ? report_unread(req.pcaps[inputs[k].input_index], r, pcapng[k], stop_signal != 0)
                                                 : Unread::kNone;
      broken |= u == Unread::kBroken;
      cut_short |= u == Unread::kStopped;
    }
    if (broken && status == 0) status = 2;  // bad input; a runtime failure (1) reported above says more
    // An offline run is a batch job: one stopped before the end of its
    // captures did not do its job, and says so as a shell would (128 + signal).
    if (cut_short && status == 0) {
      fmt::print(stderr, "flowscore: stopped by {} before the end of the captures: what was read is written\n",
                 sigabbrev_np(stop_signal) ? fmt::format("SIG{}", sigabbrev_np(stop_signal)) : std::to_string(stop_signal));
      status = 128 + stop_signal;
    }
  }
  for (const WorkerInput& i : capture_ports ? std::vector<WorkerInput>{} : inputs) rte_eth_dev_stop(i.port);
  workers.clear();
  feeder.reset();
  capture_ports.reset();
  free_pools();
  rte_eal_cleanup();
  return status;
}

}  // namespace flowscore
