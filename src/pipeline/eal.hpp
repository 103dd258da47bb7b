// Building and starting DPDK's EAL for offline runs, where flowscore chooses
// the arguments itself: no PCI, no shared runtime files (so runs side by side
// never collide), one net_pcap vdev per capture file, and hugepages only
// where the machine has them.
#pragma once
#include <rte_config.h>

#include <cstddef>
#include <string>
#include <vector>

namespace flowscore {

struct EalPlan {
  std::vector<std::string> args;  // argv for rte_eal_init, argv[0] included
  unsigned worker_lcores = 0;
  bool one_reader = false;        // the main lcore reads every file and deals frames (dpdk.read_on)
  bool ports_on_demand = false;   // no vdev per file at start: each file's port is opened as it is read (CapturePorts)
  bool no_huge = false;
  std::vector<std::string> notes; // lines for the log, e.g. why --no-huge
};

// `hugepages`: "auto" (use them when enough are free), "yes", "no".
// DPDK memory is sized as base_mb + per_worker_mb for each worker planned.
// `read_on` (dpdk.read_on) decides plan.one_reader: "main", or "auto" with
// one worker or with more workers asked for than files. Workers that read
// their own files are at most one per file; with one reader, only workers
// asked for (`workers_wanted`) go past that.
// More files than kMaxCapturePortsAtStart: no vdev is given to the EAL;
// the main lcore reads the files one after another (plan.one_reader, even
// with read_on "worker", said in plan.notes), opening each one's port as it
// comes to it (plan.ports_on_demand), for one worker unless more are asked for.
bool plan_offline_eal(const std::vector<std::string>& pcaps, unsigned workers_wanted, const std::string& read_on,
                      size_t base_mb, size_t per_worker_mb, const std::string& hugepages,
                      const std::string& log_level, EalPlan& plan, std::string& error);

// Up to this many capture files each get a port at start-up, as they
// always have (workers may then read files side by side, dpdk.read_on);
// beyond it, which DPDK could not take at all, ports open one at a time.
constexpr size_t kMaxCapturePortsAtStart = RTE_MAX_ETHPORTS;

// Name of the vdev for capture file i, as rte_eth_dev_get_port_by_name knows it.
std::string pcap_vdev_name(size_t i);
// The pcap PMD's device arguments for capture file `path` ("rx_pcap=PATH"),
// or false + error for a path DPDK would misread.
bool pcap_devargs(const std::string& path, std::string& devargs, std::string& error);

// Starts the EAL; false + error with DPDK's reason.
bool start_eal(const std::vector<std::string>& args, std::string& error);

}  // namespace flowscore
