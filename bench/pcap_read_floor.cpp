// The floor for offline runs: DPDK's pcap PMD read loop and nothing else
// (rx_burst, free). flowscore's offline throughput is quoted against this.
//   pcap_read_floor FILE.pcap
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: pcap_read_floor FILE.pcap\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> args = {"floor", "--no-pci", "--no-huge", "--no-shconf", "-m256", "--no-telemetry",
                                   "--log-level=error", "-l0", fmt::format("--vdev=net_pcap0,rx_pcap={}", argv[1])};
  std::vector<char*> eal_argv;
  for (auto& a : args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) return 1;
  rte_mempool* pool = rte_pktmbuf_pool_create("mbufs", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  rte_eth_conf conf{};
  if (pool == nullptr || rte_eth_dev_configure(0, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(0, 0, 1024, 0, nullptr, pool) != 0 || rte_eth_tx_queue_setup(0, 0, 64, 0, nullptr) != 0 ||
      rte_eth_dev_start(0) != 0)
    return 1;
  const auto t1 = std::chrono::steady_clock::now();
  rte_mbuf* pkts[32];
  uint64_t packets = 0, bytes = 0;
  for (;;) {
    const uint16_t n = rte_eth_rx_burst(0, 0, pkts, 32);
    if (n == 0) break;
    for (uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(pkts[i]);
    packets += n;
    rte_pktmbuf_free_bulk(pkts, n);
  }
  const auto t2 = std::chrono::steady_clock::now();
  fmt::print("packets={} bytes={} startup_s={:.3f} read_s={:.3f} ns_per_packet={:.1f}\n", packets, bytes,
             std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count(),
             std::chrono::duration<double, std::nano>(t2 - t1).count() / double(packets ? packets : 1));
  rte_eth_dev_stop(0);
  rte_eal_cleanup();
  return 0;
}
