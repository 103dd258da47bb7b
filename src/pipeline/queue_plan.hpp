// Which worker reads which RX queue of which port, live.
//
// A sensor's flow tables are per worker, so every packet of a flow, both
// directions, must reach one worker. Two ways get it there:
// - the NIC: a port with receive-side scaling spreads packets over its RX
//   queues by a Toeplitz hash, and with the symmetric key (port_setup.hpp)
//   both directions of a flow hash alike; each queue belongs to one worker;
// - software: a port that cannot (most vdevs, net_pcap, single-queue NICs)
//   is read on the main lcore, which deals each frame to a worker by a
//   symmetric hash of its addresses (CaptureFeeder), counting what a full
//   worker ring drops.
// The plan is worked out from what each port says it can do, before any port
// is configured, so a plan that cannot work is refused naming its knob. No
// DPDK calls here: the rules are tested on their own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowscore {

// What a port offers (from rte_eth_dev_info).
struct PortCapabilities {
  uint16_t port = 0;
  std::string name;             // its DPDK name (PCI address or vdev name)
  uint16_t max_rx_queues = 1;
  uint64_t rss_offloads = 0;    // flow_type_rss_offloads
  uint16_t reta_size = 0;       // RSS redirection table entries
  uint16_t min_mtu = 0, max_mtu = 0;
  bool scatters = false;        // can receive a frame into several mbufs
};

struct QueueRef {
  uint16_t port = 0;
  uint16_t queue = 0;
  bool operator==(const QueueRef&) const = default;
};

struct QueuePlan {
  struct Port {
    uint16_t port = 0;
    uint16_t rx_queues = 1;
    uint64_t rss_hf = 0;   // the hash types RSS runs on; 0: no RSS (one queue)
    bool dealt = false;    // read on the main lcore and dealt to the workers in software
  };
  std::vector<Port> ports;                         // one per port, in port order
  std::vector<std::vector<QueueRef>> worker_queues;  // per worker: the queues it polls itself
  std::vector<QueueRef> dealt;                     // the queues the main lcore reads and deals
  std::vector<std::string> notes;                  // what was chosen and why, for the log
};

struct QueueOptions {
  std::string distribute = "auto";  // auto | nic | software (dpdk.distribute)
  std::string queue_map;            // dpdk.queues: "" or e.g. "0:0-3,1:0-3"
  uint64_t rss_hf = 0;              // the hash types wanted (dpdk.rss_hash)
};

// Parses dpdk.queues: comma-separated PORT:QUEUE or PORT:FIRST-LAST.
bool parse_queue_map(const std::string& text, std::vector<QueueRef>& out, std::string& error);

// Plans `workers` workers over `ports`. Rules:
// - one worker: it polls queue 0 of every port itself;
// - dpdk.queues: each listed port gets the listed queues (0..n-1, no gaps,
//   since RSS spreads over all of them), queue q goes to worker q mod N;
//   on a port without RSS the queues are taken as filled (a note says so);
// - otherwise one queue per worker on every port that can spread over them
//   (RSS for the wanted hash types, a redirection table, the queues),
//   queue q to worker q; a port that cannot is dealt in software, unless
//   dpdk.distribute is "nic" (refused) or "software" (every port is dealt).
bool plan_queues(const std::vector<PortCapabilities>& ports, unsigned workers, const QueueOptions& opt,
                 QueuePlan& plan, std::string& error);

}  // namespace flowscore
