#include "eal.hpp"

#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace flowscore {

namespace {

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// Free 2 MiB (default-size) hugepages, in MiB, when hugetlbfs is mounted.
size_t free_hugepage_mb() {
  std::ifstream mounts("/proc/mounts");
  std::string line;
  bool mounted = false;
  while (std::getline(mounts, line)) mounted |= line.find(" hugetlbfs ") != std::string::npos;
  if (!mounted) return 0;
  std::ifstream meminfo("/proc/meminfo");
  size_t free_pages = 0, page_kb = 0;
  while (std::getline(meminfo, line)) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "HugePages_Free:") in >> free_pages;
    if (key == "Hugepagesize:") in >> page_kb;
  }
  return free_pages * page_kb / 1024;
}

}  // namespace

std::string pcap_vdev_name(size_t i) { return fmt::format("net_pcap{}", i); }

bool pcap_devargs(const std::string& path, std::string& devargs, std::string& error) {
  // DPDK's devargs split on ',' and take '=' as key/value: such a path
  // would be misread, not merely fail.
  if (path.find_first_of(",=") != std::string::npos) {
    error = fmt::format("{}: DPDK device arguments cannot carry a path containing ',' or '='; "
                        "rename or link the file", path);
    return false;
  }
  devargs = "rx_pcap=" + path;
  return true;
}

bool plan_offline_eal(const std::vector<std::string>& pcaps, unsigned workers_wanted, const std::string& read_on,
                      size_t base_mb, size_t per_worker_mb, const std::string& hugepages,
                      const std::string& log_level, EalPlan& plan, std::string& error) {
  const std::vector<int> cpus = usable_cpus();
  // One lcore writes output (the main lcore); the rest run workers. Workers
  // that read whole capture files themselves are at most one per file; so
  // are workers by default when one reader deals the frames, since it
  // reads at about one worker's pace.
  const bool on_demand = pcaps.size() > kMaxCapturePortsAtStart;
  const unsigned files = static_cast<unsigned>(pcaps.size());
  unsigned workers = workers_wanted ? workers_wanted
                     : on_demand    ? 1u
                                    : static_cast<unsigned>(std::max<size_t>(1, cpus.size() - 1));
  const bool deal = on_demand || read_on == "main" || (read_on == "auto" && workers_wanted > files);
  if (!deal || workers_wanted == 0) workers = std::min(workers, files);
  workers = std::max(1u, workers);
  if (workers + 1 > RTE_MAX_LCORE) {
    error = fmt::format("--workers {}: DPDK was built for at most {} lcores, one of them the main lcore",
                        workers, RTE_MAX_LCORE);
    return false;
  }
  plan = EalPlan{};
  plan.worker_lcores = workers;
  plan.one_reader = deal || (read_on == "auto" && workers == 1);
  plan.ports_on_demand = on_demand;
  if (on_demand && read_on == "worker")
    plan.notes.push_back(fmt::format("{} capture files: the main lcore reads them, one at a time (dpdk.read_on "
                                     "\"worker\" needs at most {})", files, kMaxCapturePortsAtStart));
  if (workers + 1 > cpus.size())
    plan.notes.push_back(fmt::format("{} worker lcores and the main lcore share {} CPUs: lcores on one CPU take "
                                     "turns, which is slow (--workers)", workers, cpus.size()));
  const size_t memory_mb = base_mb + per_worker_mb * workers;
  plan.args = {"flowscore", "--no-pci", "--no-telemetry", fmt::format("--log-level={}", log_level)};
  // EAL warns about every hugepage size it finds no pages of; flowscore
  // says what it chose itself (plan.notes), once.
  if (log_level == "warning" || log_level == "error") plan.args.push_back("--log-level=lib.eal:error");
  // lcore i runs on cpus[i]; with fewer CPUs than lcores they share (lcore@cpu).
  std::string lcores;
  for (unsigned l = 0; l <= workers; ++l)
    lcores += fmt::format("{}{}@{}", l ? "," : "", l, cpus[std::min<size_t>(l, cpus.size() - 1)]);
  plan.args.push_back("--lcores=" + lcores);

  const size_t free_mb = hugepages == "no" ? 0 : free_hugepage_mb();
  if (hugepages == "yes" && free_mb < memory_mb) {
    error = fmt::format("dpdk.hugepages is \"yes\" but only {} MiB of hugepages are free ({} MiB needed); "
                        "reserve more with dpdk-hugepages.py, or set it to \"auto\"", free_mb, memory_mb);
    return false;
  }
  // No shared runtime files either way, so runs side by side never collide:
  // --in-memory with hugepages, --no-shconf without (--no-huge rules out --in-memory).
  if (free_mb >= memory_mb) {
    // Each worker maps its flow arrays from the same hugetlb pool while it
    // has room (map_flow_array in flow_table.cpp), after its flow index:
    // with several workers, one's arrays could take the pages the next
    // one's index needs, and the run would fall back to --no-huge. -m
    // reserves DPDK's share at start-up then. One worker does not pay for
    // that (about 30 ms here): its index comes first.
    plan.args.push_back("--in-memory");
    if (workers > 1) plan.args.push_back(fmt::format("-m{}", memory_mb));
  } else {
    plan.no_huge = true;
    plan.args.push_back("--no-huge");
    plan.args.push_back("--no-shconf");
    plan.args.push_back(fmt::format("-m{}", memory_mb));
    plan.notes.push_back(hugepages == "no"
                             ? "running with --no-huge (dpdk.hugepages is \"no\")"
                             : fmt::format("only {} MiB of hugepages free ({} MiB wanted): running with --no-huge",
                                           free_mb, memory_mb));
  }
  for (size_t i = 0; i < pcaps.size() && !on_demand; ++i) {
    std::string devargs;
    if (!pcap_devargs(pcaps[i], devargs, error)) return false;
    plan.args.push_back(fmt::format("--vdev={},{}", pcap_vdev_name(i), devargs));
  }
  return true;
}

bool start_eal(const std::vector<std::string>& args, std::string& error) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0) {
    error = fmt::format("DPDK EAL initialisation failed: {}", rte_strerror(rte_errno));
    return false;
  }
  return true;
}

}  // namespace flowscore
