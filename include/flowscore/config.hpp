// flowscore's configuration: a JSON file (conf/flowscore.json documents every
// key) plus command-line overrides. Loading validates everything up front and
// names the offending key, so nothing downstream has to.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowscore/alert_policy.hpp"
#include "flowscore/app_proto.hpp"
#include "flowscore/campaigns.hpp"
#include "flowscore/context.hpp"
#include "flowscore/features.hpp"
#include "flowscore/flow_table.hpp"

namespace flowscore {

struct Config {
  FlowTableConfig flow;
  // Offline: shrink the flow table to the most flows the captures can hold
  // (fit_flow_table_to_captures), so a small capture does not pay start-up
  // time for a table sized for a live link.
  bool fit_table_to_input = true;
  uint32_t fragment_table_size = 4096;
  uint64_t fragment_timeout_ns = 30'000'000'000;  // Linux ipfrag_time default
  FeatureConfig features;
  // flow.app_proto*: the application protocol of each flow, from nDPI on
  // its first packets (app_proto.hpp). Off by default.
  AppProtoConfig app_proto;

  struct Output {
    std::string path = "-";
    // More outputs beside `path` (--out given again, or the config's list):
    // each a target as `path` takes, with the events it gets: "all", or
    // "alerts" (alert events: per-flow alerts and campaigns), and with
    // "alerts" a share of the benign flows' events (0..1, chosen by a hash
    // of the Community ID, so every record of a chosen flow goes).
    struct Extra {
      std::string target;
      std::string events = "all";
      float benign_sample = 0;
    };
    std::vector<Extra> also;
    // An existing output file: "append" to it, "replace" it, or "auto":
    // live runs append (a restarted sensor must not wipe the log a shipper
    // may still be reading, as Suricata's EVE appends), offline runs replace.
    std::string file_mode = "auto";
    // Each line in Suricata's EVE shape, the Elastic Common Schema, or one
    // object with both: "eve" | "ecs" | "eve+ecs" (docs/OUTPUT.md).
    std::string format = "eve";
    // Output files (not stdout, FIFOs or devices): rotate before a file
    // passes rotate_bytes, and at each multiple of rotate_interval (UTC);
    // 0: never. Rotated files are PATH.<UTC time>Z, gzipped when
    // rotate_gzip, the newest rotate_keep kept (0: all). fsync_interval:
    // fdatasync the file this often while writing (0: leave it to the kernel).
    uint64_t rotate_bytes = 0;
    uint64_t rotate_interval_ns = 0;
    uint32_t rotate_keep = 0;
    bool rotate_gzip = false;
    uint64_t fsync_interval_ns = 0;
    bool include_features = false;
    uint16_t community_id_seed = 0;
    std::string sensor_name;
    uint32_t queue_records = 16384;   // records in flight between a worker and the writer
    // Live runs: an EVE "stats" event this often, and one at shutdown; 0 = none.
    // Offline runs write none, so their output depends on the captures alone.
    uint64_t stats_interval_ns = 60'000'000'000;
    // At the end of a run, how long a TCP collector gets to take what is
    // still queued (it may be restarting) before the rest counts as lost.
    uint64_t drain_timeout_ns = 30'000'000'000;
    // A disk spool in front of each collector output (TCP, syslog, Kafka):
    // a directory ("" = none; each collector gets a subdirectory), its bound
    // per collector, what goes when it is full, how often it is fsynced.
    std::string spool_dir;
    uint64_t spool_bytes = 1ull << 30;
    std::string spool_full = "drop_oldest";  // drop_oldest | drop_newest
    uint64_t spool_fsync_ns = 1'000'000'000;
    // Live runs: Prometheus /metrics on this ADDR:PORT ("" = off).
    std::string metrics_listen;
    // Live runs: also log a one-line status with each stats event.
    bool status_log = false;
  } output;

  struct Model {
    std::string path;                  // compiled model; empty = no scoring
    uint32_t batch_size = 256;
    uint64_t batch_deadline_ns = 100'000'000;
    std::string benign_class = "benign";
    std::vector<ClassPolicy> classes;  // per-class alert policy (by class name)
    float default_threshold = 0.5f;
    // Where batches are scored: "worker" (each worker scores its own: scales
    // with workers), "writer" (the main lcore scores before formatting: uses
    // its idle time when there are few workers), or "auto" (writer with one
    // worker that reads its own input, worker otherwise).
    std::string score_on = "auto";
  } model;

  // Cross-flow context and what the alert policy does with it
  // (docs/FEATURES.md §12, docs/OUTPUT.md "Alert policy").
  ContextConfig context;
  AlertPolicyConfig alerting;
  CampaignConfig campaigns;

  struct Dpdk {
    uint32_t burst_size = 32;
    uint32_t mbufs = 0;                // 0 = sized from the ports' queues and descriptors (at least 8191)
    std::string hugepages = "auto";    // auto | yes | no
    uint32_t memory_mb = 0;            // 0 = sized from the flow table
    std::string log_level = "warning";
    // Offline, who reads the capture files: "worker" (each worker reads and
    // parses its own files), "main" (the main lcore reads and parses them all
    // between its writer passes and deals the parsed frames to the workers by
    // a symmetric hash of the address pair, so reading overlaps tracking and
    // one file can feed several workers), or "auto" (main with one worker,
    // whose main lcore has time to spare, or with more --workers than files;
    // else workers, since one reader could not keep up with several).
    std::string read_on = "auto";
    // Live, how packets reach the workers (src/pipeline/queue_plan.hpp):
    // "nic" (receive-side scaling over one RX queue per worker; a port that
    // cannot is refused), "software" (the main lcore reads every port and
    // deals frames by address pair), or "auto" (nic where the port can,
    // software where it cannot).
    std::string distribute = "auto";
    std::string queues;                // explicit map, e.g. "0:0-3,1:0-3"; empty = one queue per worker
    // What NIC RSS hashes: "ip" (addresses only: an address pair's flows and
    // fragments stay on one worker, so pair_flows and fragment attribution are
    // exact, as with one worker) or "ip_port" (addresses and TCP/UDP ports:
    // spreads better when a few address pairs carry most traffic, but each
    // worker then sees only some of a pair's flows, so pair_flows is smaller).
    std::string rss_hash = "ip";
    uint32_t rx_descriptors = 1024;    // per RX queue
    uint32_t mtu = 0;                  // 0 = the port's default; larger frames need a PMD that scatters
  } dpdk;
};

// Loads `path` over the defaults. On error returns false with a message that
// names the key ("flow.idle_timeout: must be a positive number of seconds").
bool load_config(const std::string& path, Config& out, std::string& error);
// Applies one "key=value" override with the same validation (e.g. from --set).
bool apply_override(const std::string& key, const std::string& value, Config& cfg, std::string& error);
// Checks cross-key rules (e.g. active timeout >= idle timeout is not required,
// but both must be positive). Called by load_config and after overrides.
bool validate_config(const Config& cfg, std::string& error);

// Offline runs: a flow needs at least one packet and a packet at least a
// 16-byte record header in a pcap (32 in a pcapng), and each file is flushed
// before the next is read, so the largest capture's size bounds how many
// flows can ever be live. When that bound is below
// flow.table_size, the table's capacity drops to it (rounded up to 2^k - 1,
// at least 1023): the table can still never fill, so the records are the
// same, and start-up (rte_hash's index is cleared at creation, about 128 B a
// flow) and memory shrink with the input. Returns the capacity chosen.
uint32_t fit_flow_table_to_captures(Config& cfg, const std::vector<std::string>& pcaps);

}  // namespace flowscore
