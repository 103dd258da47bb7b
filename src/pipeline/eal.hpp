// Building and starting DPDK's EAL for offline runs, where flowscore chooses
// the arguments itself: no PCI, no shared runtime files (so runs side by side
// never collide), one net_pcap vdev per capture file, and hugepages only
// where the machine has them.
#pragma once
#include <string>
#include <vector>

namespace flowscore {

struct EalPlan {
  std::vector<std::string> args;  // argv for rte_eal_init, argv[0] included
  unsigned worker_lcores = 0;
  bool one_reader = false;        // the main lcore reads every file and deals frames (dpdk.read_on)
  bool no_huge = false;
  std::vector<std::string> notes; // lines for the log, e.g. why --no-huge
};

// `hugepages`: "auto" (use them when enough are free), "yes", "no".
// DPDK memory is sized as base_mb + per_worker_mb for each worker planned.
// `read_on` (dpdk.read_on) decides plan.one_reader: "main", or "auto" with
// one worker or with more workers asked for than files. Workers that read
// their own files are at most one per file; with one reader, only workers
// asked for (`workers_wanted`) go past that.
bool plan_offline_eal(const std::vector<std::string>& pcaps, unsigned workers_wanted, const std::string& read_on,
                      size_t base_mb, size_t per_worker_mb, const std::string& hugepages,
                      const std::string& log_level, EalPlan& plan, std::string& error);

// Name of the vdev for capture file i, as rte_eth_dev_get_port_by_name knows it.
std::string pcap_vdev_name(size_t i);

// Starts the EAL; false + error with DPDK's reason.
bool start_eal(const std::vector<std::string>& args, std::string& error);

}  // namespace flowscore
