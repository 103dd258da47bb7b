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
  bool no_huge = false;
  std::string note;               // one line for the log, e.g. why --no-huge
};

// `hugepages`: "auto" (use them when enough are free), "yes", "no".
// DPDK memory is sized as base_mb + per_worker_mb for each worker planned.
// `one_reader`: the main lcore reads every file and deals frames to the
// workers (dpdk.read_on), so workers are not limited to one per file.
bool plan_offline_eal(const std::vector<std::string>& pcaps, unsigned workers_wanted, bool one_reader, size_t base_mb,
                      size_t per_worker_mb, const std::string& hugepages, const std::string& log_level,
                      EalPlan& plan, std::string& error);

// Name of the vdev for capture file i, as rte_eth_dev_get_port_by_name knows it.
std::string pcap_vdev_name(size_t i);

// Starts the EAL; false + error with DPDK's reason.
bool start_eal(const std::vector<std::string>& args, std::string& error);

}  // namespace flowscore
