// Offline, each capture file's pcap port opened when the main lcore starts
// reading the file and closed once it has read it, so one process (one EAL
// start-up, about 0.2 s) takes any number of files, not only as many as
// DPDK has ports (RTE_MAX_ETHPORTS, 32 here). Issue 17.
//
// A port is a net_pcap vdev hot-plugged into the running EAL
// (rte_eal_hotplug_add) and removed again after the file's last burst; its
// counters are kept per file before it goes, so the end-of-run checks
// (records left unread, mbufs lacking) still name each file, and the run's
// totals count every file read. Only the main lcore, which reads the files
// (CaptureFeeder), calls this: the workers never see these ports.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowscore/config.hpp"
#include "run_stats.hpp"

struct rte_mempool;

namespace flowscore {

class CapturePorts {
 public:
  // What a file's port counted while the file was read.
  struct Read {
    uint64_t packets = 0, bytes = 0, ierrors = 0, rx_nombuf = 0;
    bool opened = false;  // false: the port never opened (said on standard error when it failed)
  };

  CapturePorts(std::vector<std::string> paths, const Config::Dpdk& dpdk, rte_mempool* pool);
  ~CapturePorts();  // closes a port left open by a stop
  CapturePorts(const CapturePorts&) = delete;
  CapturePorts& operator=(const CapturePorts&) = delete;

  // Plugs, configures and starts file i's port. False with `error` (naming
  // the file) when DPDK refuses it.
  bool open(size_t i, uint16_t& port, std::string& error);
  // Keeps the counters of file i's port, then stops and removes it.
  void close(size_t i);
  void close_all();  // before the end-of-run checks, should a stop leave a file open

  const Read& read(size_t i) const { return reads_[i]; }
  // Over every file so far, the open one included: one PortStats, so the
  // run's statistics stay one entry long however many files it reads.
  PortStats totals() const;

 private:
  std::vector<std::string> paths_;
  Config::Dpdk dpdk_;
  rte_mempool* pool_ = nullptr;
  std::vector<Read> reads_;  // per file: 40 bytes, at most kMaxCaptureInputs of them
  Read closed_total_;        // over the files closed so far
  static constexpr size_t kNone = SIZE_MAX;
  size_t open_ = kNone;      // the file whose port is open
  uint16_t port_ = 0;
};

}  // namespace flowscore
