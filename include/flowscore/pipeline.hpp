// Runs flowscore: EAL and ports up, one worker per lcore, the writer on the
// main lcore, then a summary. `run` and `extract` are the same pipeline with
// different writers (EVE verdicts vs a labelled feature table).
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "flowscore/config.hpp"

namespace flowscore {

// run: EVE verdicts; extract: a labelled feature table; calibrate: context
// distributions and proposed thresholds (docs/OUTPUT.md "Calibration").
enum class RunMode { kEve, kExtract, kCalibrate };

struct RunRequest {
  RunMode mode = RunMode::kEve;
  Config cfg;
  std::vector<std::string> pcaps;       // offline inputs; empty = live ports from the EAL args
  std::vector<std::string> eal_args;    // live: the user's EAL arguments (argv[0] included)
  unsigned workers = 0;                 // offline: 0 = as many as cores and inputs allow
  // extract only
  std::string labels_path;              // label file (rules or flowscore-gen format)
  std::vector<std::string> input_labels;  // one label per --pcap (source (a) without a file)
  std::string default_label = "benign";
  // calibrate only
  double quantile = 0.999;
  std::string config_text;              // the configuration file as read, to write back with new thresholds
  bool quiet = false;
  // For the start-up line of the summary: when main() began, and
  // flow.table_size before fit_flow_table_to_captures().
  std::chrono::steady_clock::time_point process_start = std::chrono::steady_clock::now();
  uint32_t configured_table_size = 0;
};

// Returns the process exit status: 0 success, 1 runtime failure, 2 bad input,
// or kRetryWithoutHugepages.
int run_pipeline(const RunRequest& req);

// Hugepages looked free when the EAL started but ran out before flowscore had
// its memory (another DPDK process took them). EAL cannot start twice in one
// process, so the caller runs flowscore again with dpdk.hugepages=no.
inline constexpr int kRetryWithoutHugepages = 75;

}  // namespace flowscore
