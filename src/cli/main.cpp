// flowscore command line: parses arguments into a RunRequest (run, extract)
// or hands over to the model tools (compile, predict); feature-spec prints
// what a configuration's features are.
#include <getopt.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flowscore/config.hpp"
#include "flowscore/features.hpp"
#include "flowscore/model_cli.hpp"
#include "flowscore/pipeline.hpp"
#include "flowscore/report_cli.hpp"
#include "capture_inputs.hpp"
#include "install_paths.hpp"

namespace fs = std::filesystem;
using namespace flowscore;

namespace {

// Start-up is reported from here (static initialisation, before main()).
const std::chrono::steady_clock::time_point g_process_start = std::chrono::steady_clock::now();

constexpr const char* kUsage = R"(flowscore {} - score network flows with a compiled XGBoost model

Usage:
  flowscore run --pcap FILE [--pcap FILE...] [--out FILE] [options]   offline, on capture files
  flowscore run [EAL options] -- [options]                             live, on DPDK ports
  flowscore extract --pcap FILE... [--labels FILE] --out features.csv [options]
  flowscore calibrate --pcap BENIGN... -o thresholds.json [--quantile Q] [options]
                    the configuration (--config, --set) with alert-policy and campaign
                    thresholds measured on this benign traffic (docs/OUTPUT.md "Calibration")
  flowscore compile model.json -o MODEL [--name NAME] [--class-names a,b,...]
                    [--feature-spec-version VERSION]
  flowscore predict --model MODEL --in table.csv --out scores.csv [--margin] [--keep COLUMNS]
  flowscore report EVE.json... -o report.html [--model-card metrics.json]
                    one self-contained HTML file: traffic, verdicts, top talkers, health
  flowscore feature-spec [--config FILE] [--set KEY=VALUE...]
                    the features extract and run compute with this configuration,
                    as JSON {{"version", "features"}} (scripts/train --feature-spec)
  flowscore --help | --version

Options for run and extract:
  --pcap FILE|DIR           capture file (pcap or pcapng); repeat for several. A directory
                            gives its *.pcap, *.pcapng and *.cap files (not below it), by name
  --pcap-list FILE          capture files, one path (or directory) per line ("-": standard
                            input; '#' comments and blank lines skipped). Any number of files
                            (at most 65536) run in one process, each file on its own as if
                            run alone (flows never span files); in_iface/input names the file
  --skip-unreadable         leave out (and name on standard error) capture files that cannot be
                            read: missing, empty, not pcap/pcapng, or a link type flowscore
                            cannot parse. Without it, one such file refuses the run
  -o, --out TARGET          where records go: a file, "-" (standard output), tcp://ADDR:PORT,
                            syslog+tcp://ADDR:PORT, syslog+tls://ADDR:PORT?ca=FILE or
                            kafka://HOST:PORT,.../TOPIC (docs/OUTPUT.md); default from config;
                            run: give it again for more outputs at once (also output.also)
  --config FILE             JSON config (default: {})
  --idle-timeout SECONDS    end a flow after this long without packets
  --active-timeout SECONDS  report a long flow every this many seconds
  --community-id-seed N     Community ID seed (0-65535)
  --set KEY=VALUE           any config key, e.g. --set flow.table_size=262144
  --workers N               offline worker lcores (default: cores - 1, at most one per file
                            unless the main lcore deals frames: dpdk.read_on; one beyond 32
                            files, which the main lcore reads one at a time)
  -q, --quiet               no summary on standard error
Options for run:
  --model FILE              compiled model ("none": no scoring)
  --features                add flowscore.features to each EVE record
  --format VIEW             eve (default), ecs or eve+ecs: each line as Suricata's EVE, the
                            Elastic Common Schema 8.17, or both in one object (output.format)
Options for calibrate:
  --quantile Q              propose thresholds above this share of benign flows (default 0.999)
Options for extract:
  --labels FILE             label rules or flowscore-gen label file (docs/LABELS.md)
  --label LABEL             label every flow of the matching --pcap (give one per --pcap)
  --default-label LABEL     label of flows no rule matches (default: benign)

Signals: SIGINT/SIGTERM stop (flows are flushed; a second one stops without waiting for the
writer); SIGHUP reloads the model and reopens the output file (logrotate). Live runs write an EVE stats event every output.stats_interval.

Exit status: 0 success, 1 runtime failure, 2 bad input or usage (a capture file
that could not be read to its end too, after what was read is written); offline,
128 + the signal's number when SIGINT/SIGTERM stopped the run before the end of
its captures (what was read is written).
)";

// The config file, then the command line's overrides. False after printing
// the problem (a usage error).
bool build_config(const std::string& config_path, const std::vector<std::pair<std::string, std::string>>& overrides,
                  Config& cfg) {
  std::string error;
  if (!config_path.empty()) {
    if (!load_config(config_path, cfg, error)) {
      fmt::print(stderr, "flowscore: config {}\n", error);
      return false;
    }
    cfg.model.path = resolve_model_path(cfg.model.path, config_path);
  }
  for (const auto& [k, v] : overrides) {
    if (!apply_override(k, v, cfg, error)) {
      fmt::print(stderr, "flowscore: {}\n", error);
      return false;
    }
  }
  return true;
}

// "model.classes.flood.threshold" as a JSON pointer (RFC 6901: '~' and '/'
// inside a name escaped), to patch a config document the way --set does.
nlohmann::json::json_pointer dotted_key_pointer(const std::string& key) {
  std::string ptr = "/";
  for (const char ch : key) ptr += ch == '.' ? "/" : ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return nlohmann::json::json_pointer(ptr);
}

int run_or_extract(int argc, char** argv, RunMode mode) {
  RunRequest req;
  req.mode = mode;
  // Live form: EAL arguments before "--", ours after it.
  int ours_from = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      req.eal_args.push_back("flowscore");
      for (int j = 1; j < i; ++j) req.eal_args.push_back(argv[j]);
      ours_from = i + 1;
      break;
    }
  }
  std::vector<char*> args = {argv[0]};
  for (int i = ours_from; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);

  enum { kPcap = 1000, kPcapList, kOut, kConfig, kModel, kFeatures, kFormat, kIdle, kActive, kSeed, kSet, kWorkers, kLabels, kLabel, kDefaultLabel, kQuantile, kSkipUnreadable, kHelp };
  static const option opts[] = {
      {"pcap", required_argument, nullptr, kPcap},       {"pcap-list", required_argument, nullptr, kPcapList},
      {"out", required_argument, nullptr, kOut},
      {"config", required_argument, nullptr, kConfig},   {"model", required_argument, nullptr, kModel},
      {"features", no_argument, nullptr, kFeatures},     {"idle-timeout", required_argument, nullptr, kIdle},
      {"format", required_argument, nullptr, kFormat},
      {"active-timeout", required_argument, nullptr, kActive}, {"community-id-seed", required_argument, nullptr, kSeed},
      {"set", required_argument, nullptr, kSet},         {"workers", required_argument, nullptr, kWorkers},
      {"labels", required_argument, nullptr, kLabels},   {"label", required_argument, nullptr, kLabel},
      {"default-label", required_argument, nullptr, kDefaultLabel}, {"quiet", no_argument, nullptr, 'q'},
      {"quantile", required_argument, nullptr, kQuantile},
      {"skip-unreadable", no_argument, nullptr, kSkipUnreadable},
      {"help", no_argument, nullptr, kHelp},             {nullptr, 0, nullptr, 0}};

  // Pass 1: the config file, so command-line overrides apply on top of it.
  std::string config_path = default_config_path();
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string out_path, model_path;
  std::vector<std::string> more_outs;  // --out given again: more outputs (run)
  std::vector<CaptureSource> capture_sources;  // --pcap and --pcap-list, in order
  bool model_given = false;
  bool skip_unreadable = false;
  optind = 1;
  opterr = 1;
  int c;
  const int nargs = static_cast<int>(args.size()) - 1;
  std::vector<std::string> given;  // long options seen, for the mode check below
  int option_index = -1;
  while ((c = getopt_long(nargs, args.data(), "qo:", opts, &option_index)) != -1) {
    if (option_index >= 0) given.push_back(opts[option_index].name);
    option_index = -1;
    switch (c) {
      case kPcap: capture_sources.push_back({CaptureSource::Kind::kPath, optarg}); break;
      case kPcapList: capture_sources.push_back({CaptureSource::Kind::kList, optarg}); break;
      case kSkipUnreadable: skip_unreadable = true; break;
      case kOut:
      case 'o':
        (out_path.empty() ? out_path : more_outs.emplace_back()) = optarg;
        break;
      case kQuantile: {
        char* end = nullptr;
        req.quantile = std::strtod(optarg, &end);
        if (end == optarg || *end != '\0' || !(req.quantile > 0.0 && req.quantile <= 1.0)) {
          fmt::print(stderr, "flowscore: --quantile wants a number above 0 and at most 1, got '{}'\n", optarg);
          return 2;
        }
        break;
      }
      case kConfig: config_path = optarg; break;
      case kModel: model_path = optarg; model_given = true; break;
      case kFeatures: overrides.emplace_back("output.include_features", "true"); break;
      case kFormat: overrides.emplace_back("output.format", optarg); break;
      case kIdle: overrides.emplace_back("flow.idle_timeout", optarg); break;
      case kActive: overrides.emplace_back("flow.active_timeout", optarg); break;
      case kSeed: overrides.emplace_back("output.community_id_seed", optarg); break;
      case kSet: {
        const char* eq = std::strchr(optarg, '=');
        if (!eq) {
          fmt::print(stderr, "flowscore: --set wants KEY=VALUE, got '{}'\n", optarg);
          return 2;
        }
        overrides.emplace_back(std::string(static_cast<const char*>(optarg), eq), std::string(eq + 1));
        break;
      }
      case kWorkers: {
        char* end = nullptr;
        const unsigned long n = std::strtoul(optarg, &end, 10);
        if (end == optarg || *end != '\0' || optarg[0] == '-' || n > 1024) {
          fmt::print(stderr, "flowscore: --workers wants a whole number from 0 (as many as there are CPUs) to 1024, "
                             "got '{}'\n", optarg);
          return 2;
        }
        req.workers = static_cast<unsigned>(n);
        break;
      }
      case kLabels: req.labels_path = optarg; break;
      case kLabel: req.input_labels.push_back(optarg); break;
      case kDefaultLabel: req.default_label = optarg; break;
      case 'q': req.quiet = true; break;
      case kHelp: fmt::print(kUsage, FLOWSCORE_VERSION, default_config_path()); return 0;
      default: return 2;
    }
  }
  if (optind < nargs) {
    fmt::print(stderr, "flowscore: unexpected argument '{}' (see --help)\n", args[optind]);
    return 2;
  }
  // An option the other command takes would be ignored here: say so instead.
  for (const std::string& name : given) {
    const bool extract_only = name == "labels" || name == "label" || name == "default-label";
    const bool run_only = name == "model" || name == "features" || name == "format";
    if (mode == RunMode::kCalibrate && (extract_only || run_only)) {
      fmt::print(stderr, "flowscore calibrate: --{} is for {} (calibrate measures context, with no model)\n", name,
                 run_only ? "run" : "extract");
      return 2;
    }
    if (mode != RunMode::kCalibrate && name == "quantile") {
      fmt::print(stderr, "flowscore: --quantile is for calibrate\n");
      return 2;
    }
    if (mode == RunMode::kEve && extract_only) {
      fmt::print(stderr, "flowscore run: --{} is for extract (it labels the feature table for training)\n", name);
      return 2;
    }
    if (mode == RunMode::kExtract && run_only) {
      fmt::print(stderr, "flowscore extract: --{} is for run (extract writes every feature and scores nothing)\n",
                 name);
      return 2;
    }
  }
  if (std::string error; !expand_capture_sources(capture_sources, req.pcaps, error)) {
    fmt::print(stderr, "flowscore: {}\n", error);
    return 2;
  }
  if (skip_unreadable) {
    if (!req.input_labels.empty()) {
      fmt::print(stderr, "flowscore: --skip-unreadable with --label would pair labels with the wrong files; "
                         "use --labels FILE (file,label rules) instead\n");
      return 2;
    }
    const std::vector<std::string> skipped = drop_unreadable_captures(req.pcaps);
    for (const std::string& why : skipped) fmt::print(stderr, "flowscore: skipped: {}\n", why);
    if (!skipped.empty())
      fmt::print(stderr, "flowscore: skipped {} of {} capture files (--skip-unreadable)\n", skipped.size(),
                 skipped.size() + req.pcaps.size());
    if (req.pcaps.empty() && !capture_sources.empty()) {
      fmt::print(stderr, "flowscore: no capture file left to read\n");
      return 2;
    }
  }
  if (req.pcaps.empty() && !capture_sources.empty()) {
    fmt::print(stderr, "flowscore: the --pcap-list names no capture file\n");
    return 2;
  }
  if (req.pcaps.empty() && req.eal_args.empty()) {
    fmt::print(stderr, "flowscore: give --pcap FILE (offline) or DPDK EAL options before '--' (live); see --help\n");
    return 2;
  }
  if (!req.input_labels.empty() && req.input_labels.size() != req.pcaps.size()) {
    fmt::print(stderr, "flowscore: --label given {} times for {} --pcap files: give one per file\n",
               req.input_labels.size(), req.pcaps.size());
    return 2;
  }

  if (!build_config(config_path, overrides, req.cfg)) return 2;
  if (mode == RunMode::kCalibrate) {
    if (out_path.empty()) {
      fmt::print(stderr, "flowscore calibrate: give -o FILE for the configuration it proposes\n");
      return 2;
    }
    // Written back with new thresholds: the file as read (its comments and
    // keys kept), with --set overrides on top (as the run used them).
    std::ifstream in(config_path);
    req.config_text = config_path.empty() ? "{}" : std::string(std::istreambuf_iterator<char>(in), {});
    nlohmann::json doc = nlohmann::json::parse(req.config_text, nullptr, false, true);
    for (const auto& [key, value] : overrides) {
      nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
      doc[dotted_key_pointer(key)] = v.is_discarded() ? nlohmann::json(value) : v;
    }
    // The file is written elsewhere: its model path must not depend on where.
    if (!req.cfg.model.path.empty()) doc["model"]["path"] = fs::absolute(req.cfg.model.path).string();
    req.config_text = doc.dump();
    req.cfg.model.path.clear();  // no scoring: only the context is measured
  }
  if (!out_path.empty()) req.cfg.output.path = out_path;
  for (const std::string& target : more_outs) req.cfg.output.also.push_back({target, "all"});
  if (mode != RunMode::kEve && !req.cfg.output.also.empty()) {
    fmt::print(stderr, "flowscore: one output only for {} (--out given {} times, or output.also)\n",
               mode == RunMode::kExtract ? "extract" : "calibrate", 1 + req.cfg.output.also.size());
    return 2;
  }
  if (model_given) req.cfg.model.path = model_path == "none" ? std::string() : model_path;
  // Every event names its sensor (EVE "host"): the machine's name unless
  // output.sensor_name says otherwise.
  if (req.cfg.output.sensor_name.empty()) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) req.cfg.output.sensor_name = host;
  }
  req.configured_table_size = req.cfg.flow.capacity;
  fit_flow_table_to_captures(req.cfg, req.pcaps);
  req.process_start = g_process_start;
  return run_pipeline(req);
}

// flowscore feature-spec [--config FILE] [--set KEY=VALUE...]: what training
// records as the model's feature spec (docs/TRAINING.md), from the same
// configuration extract reads, so it cannot drift from what extract computed.
constexpr const char* kFeatureSpecUsage = "usage: flowscore feature-spec [--config FILE] [--set KEY=VALUE...]\n";

int print_feature_spec(int argc, char** argv) {
  std::string config_path = default_config_path();
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "--set") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--config") {
        config_path = value;
      } else if (const size_t eq = value.find('='); eq != std::string::npos) {
        overrides.emplace_back(value.substr(0, eq), value.substr(eq + 1));
      } else {
        fmt::print(stderr, "flowscore: --set wants KEY=VALUE, got '{}'\n", value);
        return 2;
      }
    } else if (arg == "--help" || arg == "-h") {
      fmt::print("{}", kFeatureSpecUsage);
      return 0;
    } else {
      fmt::print(stderr, "flowscore feature-spec: unexpected argument '{}'\n{}", arg, kFeatureSpecUsage);
      return 2;
    }
  }
  Config cfg;
  if (!build_config(config_path, overrides, cfg)) return 2;
  const FeatureSpec spec(cfg.features);
  const nlohmann::json out = {{"version", spec.version()}, {"features", spec.names()}};
  fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, kUsage, FLOWSCORE_VERSION, default_config_path());
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    fmt::print(kUsage, FLOWSCORE_VERSION, default_config_path());
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    // What an operator checks first on a new install: which files it uses.
    const InstallPaths& paths = install_paths();
    const std::string config = default_config_path();
    fmt::print("flowscore {} ({})\n", FLOWSCORE_VERSION, paths.installed ? "installed" : "build tree");
    fmt::print("config:  {}{}\n", config.empty() ? paths.config.string() : config,
               config.empty() ? " (absent: built-in defaults)" : std::getenv("FLOWSCORE_CONFIG") ? " ($FLOWSCORE_CONFIG)" : "");
    fmt::print("models:  {}\n", (paths.data_dir / "models").string());
    fmt::print("state:   {}\n", paths.state_dir.string());
    fmt::print("logs:    {}\n", paths.log_dir.string());
    return 0;
  }
  if (cmd == "run" || cmd == "extract" || cmd == "calibrate") {
    // EAL pins this thread to the main lcore's CPU, and exec keeps the
    // calling thread's affinity: the re-run below must see every CPU again.
    cpu_set_t cpus_at_start;
    const bool have_cpus = sched_getaffinity(0, sizeof cpus_at_start, &cpus_at_start) == 0;
    const int rc = run_or_extract(argc - 1, argv + 1,
                                  cmd == "run" ? RunMode::kEve : cmd == "extract" ? RunMode::kExtract : RunMode::kCalibrate);
    if (rc != kRetryWithoutHugepages) return rc;
    if (have_cpus) sched_setaffinity(0, sizeof cpus_at_start, &cpus_at_start);
    // Same command, without hugepages: EAL cannot be started twice in one process.
    std::vector<char*> again(argv, argv + argc);
    std::string set = "--set", value = "dpdk.hugepages=\"no\"";
    again.push_back(set.data());
    again.push_back(value.data());
    again.push_back(nullptr);
    execv("/proc/self/exe", again.data());
    fmt::print(stderr, "flowscore: cannot re-run without hugepages: {}\n", std::strerror(errno));
    return 1;
  }
  if (cmd == "compile") return run_compile_command(argc - 1, argv + 1);
  if (cmd == "predict") return run_predict_command(argc - 1, argv + 1);
  if (cmd == "report") return run_report_command(argc - 1, argv + 1);
  if (cmd == "feature-spec") return print_feature_spec(argc - 1, argv + 1);
  fmt::print(stderr, "flowscore: unknown command '{}' (run, extract, calibrate, compile, predict, feature-spec; see --help)\n",
             cmd);
  return 2;
}
