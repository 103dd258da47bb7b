#include "capture_ports.hpp"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>

#include <fmt/format.h>

#include "eal.hpp"
#include "port_setup.hpp"

namespace flowscore {

CapturePorts::CapturePorts(std::vector<std::string> paths, const Config::Dpdk& dpdk, rte_mempool* pool)
    : paths_(std::move(paths)), dpdk_(dpdk), pool_(pool), reads_(paths_.size()) {
  dpdk_.mtu = 0;  // a live knob: the pcap PMD hands over whole records whatever their size
  // The pcap PMD registers the Rx timestamp field when it probes its first
  // port, and the feeder looks it up before any port exists here: register
  // it now, as the PMD would (the same name, so the PMD finds it).
  int offset = -1;
  uint64_t flag = 0;
  rte_mbuf_dyn_rx_timestamp_register(&offset, &flag);
}

CapturePorts::~CapturePorts() { close_all(); }

bool CapturePorts::open(size_t i, uint16_t& port, std::string& error) {
  if (open_ != kNone) close(open_);
  const std::string& path = paths_[i];
  std::string devargs;
  if (!pcap_devargs(path, devargs, error)) return false;
  const std::string name = pcap_vdev_name(i);
  if (int rc = rte_eal_hotplug_add("vdev", name.c_str(), devargs.c_str()); rc != 0) {
    error = fmt::format("{}: the pcap PMD did not open it: {}", path, rte_strerror(-rc));
    return false;
  }
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
    rte_eal_hotplug_remove("vdev", name.c_str());
    error = fmt::format("{}: the pcap PMD did not open it", path);
    return false;
  }
  open_ = i;
  port_ = port;
  reads_[i].opened = true;
  QueuePlan::Port plan;
  plan.port = port;
  std::string describe;
  if (!configure_port(plan, dpdk_, pool_, describe, error)) {
    error = fmt::format("{}: {}", path, error);
    close(i);
    return false;
  }
  return true;
}

void CapturePorts::close(size_t i) {
  if (open_ != i) return;
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_, &st) == 0) {
    reads_[i].packets = st.ipackets;
    reads_[i].bytes = st.ibytes;
    reads_[i].ierrors = st.ierrors;
    reads_[i].rx_nombuf = st.rx_nombuf;
    closed_total_.packets += st.ipackets;
    closed_total_.bytes += st.ibytes;
    closed_total_.ierrors += st.ierrors;
    closed_total_.rx_nombuf += st.rx_nombuf;
  }
  rte_eth_dev_stop(port_);
  rte_eth_dev_close(port_);
  rte_eal_hotplug_remove("vdev", pcap_vdev_name(i).c_str());
  open_ = kNone;
}

void CapturePorts::close_all() {
  if (open_ != kNone) close(open_);
}

PortStats CapturePorts::totals() const {
  PortStats p;
  p.port = open_ != kNone ? port_ : 0;
  p.packets = closed_total_.packets;
  p.bytes = closed_total_.bytes;
  p.ierrors = closed_total_.ierrors;
  p.rx_nombuf = closed_total_.rx_nombuf;
  rte_eth_stats st{};
  if (open_ != kNone && rte_eth_stats_get(port_, &st) == 0) {
    p.packets += st.ipackets;
    p.bytes += st.ibytes;
    p.ierrors += st.ierrors;
    p.rx_nombuf += st.rx_nombuf;
  }
  return p;
}

}  // namespace flowscore
