// Ports, live: what each can do, how it is configured (RX queues, symmetric
// RSS, MTU, descriptors), how many mbufs that takes, and its link state.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowscore/config.hpp"
#include "queue_plan.hpp"

struct rte_mempool;

namespace flowscore {

// The Toeplitz key whose hash is the same for a packet and its reply: 0x6d5a
// repeated. Toeplitz hashes each input bit with the 32-bit window of the key
// that starts at that bit; with a key of period 16 bits, the windows for the
// source and destination fields (addresses 32 or 128 bits apart, ports 16)
// are equal, so swapping them leaves the hash unchanged (Woo and Park,
// "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling",
// KAIST 2012; the key Intel's ixgbe/i40e guides give for symmetric RSS).
// DPDK 22.11's port configuration has no symmetric hash function (that came
// with rte_eth_rss_conf.algorithm in 23.11), but every Toeplitz NIC takes a key.
std::vector<uint8_t> symmetric_rss_key(size_t bytes);

// dpdk.rss_hash as RTE_ETH_RSS_* bits: "ip" (addresses only) or "ip_port"
// (addresses and TCP/UDP ports). A NIC hashes a fragment on its addresses
// alone, so with ports in the hash a flow's fragments can reach another
// worker than its whole packets, and an address pair's flows spread over
// workers (pair_flows, FEATURES.md §7a, then counts one worker's share).
uint64_t rss_hash_types(const std::string& mode);
// The RTE_ETH_RSS_* bits by name, for the log ("ipv4-tcp ipv6-udp ...").
std::string rss_hash_names(uint64_t hf);

PortCapabilities port_capabilities(uint16_t port);

// Whether a port can take frames of dpdk.mtu: within its MTU range, and, for
// frames longer than one mbuf's room, able to scatter them over several.
// False with `error` naming the knob (checked before any port starts).
bool check_mtu(const PortCapabilities& port, uint32_t mtu, std::string& error);

// Configures and starts `p` with its planned RX queues (and one TX queue,
// which some PMDs need to start), descriptors, MTU and RSS, in promiscuous
// mode. `describe` says what was configured, read back from the port where
// it can say (RSS key size, hash types, redirection table).
bool configure_port(const QueuePlan::Port& p, const Config::Dpdk& cfg, rte_mempool* pool, std::string& describe,
                    std::string& error);

// The mbufs a live run needs at least: every RX descriptor filled, a burst in
// every worker's and the main lcore's hands, and the per-lcore caches.
uint32_t mbufs_needed(const QueuePlan& plan, const Config::Dpdk& cfg, unsigned lcores, unsigned cache_size);

// Link state, polled by the main lcore (PMD-agnostic: no LSC interrupt
// needed); returns a line for every port whose link changed since the last
// call (the first call reports the links as they are).
class LinkWatch {
 public:
  explicit LinkWatch(std::vector<uint16_t> ports);
  std::vector<std::string> changes();

 private:
  std::vector<uint16_t> ports_;
  std::vector<int> last_;  // -1 unknown, 0 down, 1 up
};

}  // namespace flowscore
