#include "port_setup.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fmt/format.h>

namespace flowscore {

std::vector<uint8_t> symmetric_rss_key(size_t bytes) {
  std::vector<uint8_t> key(bytes);
  for (size_t i = 0; i < bytes; ++i) key[i] = i % 2 ? 0x5a : 0x6d;
  return key;
}

uint64_t rss_hash_types(const std::string& mode) {
  if (mode == "ip") return RTE_ETH_RSS_IP;
  return RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
}

std::string rss_hash_names(uint64_t hf) {
  static const struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      {RTE_ETH_RSS_IPV4, "ipv4"},
      {RTE_ETH_RSS_FRAG_IPV4, "ipv4-frag"},
      {RTE_ETH_RSS_NONFRAG_IPV4_TCP, "ipv4-tcp"},
      {RTE_ETH_RSS_NONFRAG_IPV4_UDP, "ipv4-udp"},
      {RTE_ETH_RSS_NONFRAG_IPV4_OTHER, "ipv4-other"},
      {RTE_ETH_RSS_IPV6, "ipv6"},
      {RTE_ETH_RSS_FRAG_IPV6, "ipv6-frag"},
      {RTE_ETH_RSS_NONFRAG_IPV6_TCP, "ipv6-tcp"},
      {RTE_ETH_RSS_NONFRAG_IPV6_UDP, "ipv6-udp"},
      {RTE_ETH_RSS_NONFRAG_IPV6_OTHER, "ipv6-other"},
      {RTE_ETH_RSS_IPV6_EX, "ipv6-ex"},
      {RTE_ETH_RSS_IPV6_TCP_EX, "ipv6-tcp-ex"},
      {RTE_ETH_RSS_IPV6_UDP_EX, "ipv6-udp-ex"},
  };
  std::string out;
  for (const auto& n : kNames)
    if (hf & n.bit) out += fmt::format("{}{}", out.empty() ? "" : " ", n.name);
  return out.empty() ? "none" : out;
}

PortCapabilities port_capabilities(uint16_t port) {
  PortCapabilities c;
  c.port = port;
  char name[RTE_ETH_NAME_MAX_LEN] = "";
  c.name = rte_eth_dev_get_name_by_port(port, name) == 0 ? name : fmt::format("port{}", port);
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0) return c;
  c.max_rx_queues = info.max_rx_queues;
  c.rss_offloads = info.flow_type_rss_offloads;
  c.reta_size = info.reta_size;
  c.min_mtu = info.min_mtu;
  c.max_mtu = info.max_mtu;
  c.scatters = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) != 0;
  return c;
}

namespace {
// The longest frame an MTU allows: Ethernet header, two VLAN tags, CRC.
uint32_t frame_bytes(uint32_t mtu) { return mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 2 * RTE_VLAN_HLEN; }
}  // namespace

bool check_mtu(const PortCapabilities& port, uint32_t mtu, std::string& error) {
  if (mtu == 0) return true;
  if (mtu < port.min_mtu || mtu > port.max_mtu) {
    error = fmt::format("dpdk.mtu {}: port {} ({}) takes {}..{}", mtu, port.port, port.name, port.min_mtu, port.max_mtu);
    return false;
  }
  if (frame_bytes(mtu) > RTE_MBUF_DEFAULT_DATAROOM && !port.scatters) {
    error = fmt::format("dpdk.mtu {}: port {} ({}) would need to receive a frame into several {}-byte mbufs, and its "
                        "PMD cannot (no scatter)", mtu, port.port, port.name, RTE_MBUF_DEFAULT_DATAROOM);
    return false;
  }
  return true;
}

bool configure_port(const QueuePlan::Port& p, const Config::Dpdk& cfg, rte_mempool* pool, std::string& describe,
                    std::string& error) {
  const uint16_t port = p.port;
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
    error = fmt::format("port {}: no device information: {}", port, rte_strerror(-rc));
    return false;
  }
  rte_eth_conf conf{};
  std::vector<uint8_t> key;
  if (p.rx_queues > 1) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    key = symmetric_rss_key(info.hash_key_size ? info.hash_key_size : 40);
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = p.rss_hf;
  }
  if (cfg.mtu != 0) {
    if (!check_mtu(port_capabilities(port), cfg.mtu, error)) return false;
    conf.rxmode.mtu = cfg.mtu;
    // A frame longer than one mbuf's room arrives as a chain of segments,
    // which FrameStager linearises.
    if (frame_bytes(cfg.mtu) > RTE_MBUF_DEFAULT_DATAROOM) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
  }
  uint16_t rx_desc = static_cast<uint16_t>(cfg.rx_descriptors), tx_desc = 64;
  int rc = rte_eth_dev_configure(port, p.rx_queues, 1, &conf);
  if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
  const int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; rc == 0 && q < p.rx_queues; ++q)
    rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(port, 0, tx_desc, socket, nullptr);
  if (rc == 0) rc = rte_eth_dev_start(port);
  if (rc != 0) {
    error = fmt::format("cannot start port {} with {} RX queue(s): {}", port, p.rx_queues, rte_strerror(-rc));
    return false;
  }
  rte_eth_promiscuous_enable(port);  // a sensor sees traffic not addressed to it

  char name[RTE_ETH_NAME_MAX_LEN] = "";
  rte_eth_dev_get_name_by_port(port, name);
  describe = fmt::format("port {} ({}): {} RX queue{} of {} descriptors", port, name, p.rx_queues,
                         p.rx_queues > 1 ? "s" : "", rx_desc);
  if (p.rx_queues > 1) {
    // What the port reports back, where it can: it may trim the hash types.
    std::vector<uint8_t> got(key.size());
    rte_eth_rss_conf rss{};
    rss.rss_key = got.data();
    rss.rss_key_len = static_cast<uint8_t>(got.size());
    bool read_back = rte_eth_dev_rss_hash_conf_get(port, &rss) == 0;
    if (read_back && got != key) {
      // Some PMDs (net_null among them) take the key only through the
      // explicit update, not from the port configuration.
      rte_eth_rss_conf update{};
      update.rss_key = key.data();
      update.rss_key_len = static_cast<uint8_t>(key.size());
      update.rss_hf = p.rss_hf;
      if (rte_eth_dev_rss_hash_update(port, &update) == 0) read_back = rte_eth_dev_rss_hash_conf_get(port, &rss) == 0;
    }
    describe += fmt::format(", RSS (Toeplitz, symmetric key 0x6d5a x {}{}) over {}, redirection table of {}",
                            key.size() / 2, read_back && got != key ? ", NOT taken: the port kept its own key" : "",
                            rss_hash_names(read_back ? rss.rss_hf : p.rss_hf), info.reta_size);
  }
  if (p.dealt) describe += ", read on the main lcore and dealt to the workers by address pair";
  if (cfg.mtu) describe += fmt::format(", MTU {}{}", cfg.mtu, conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER ? " (scattered)" : "");
  return true;
}

uint32_t mbufs_needed(const QueuePlan& plan, const Config::Dpdk& cfg, unsigned lcores, unsigned cache_size) {
  uint64_t n = 0;
  for (const QueuePlan::Port& p : plan.ports) n += uint64_t{p.rx_queues} * cfg.rx_descriptors + 64;  // + TX ring
  n += uint64_t{lcores} * (cfg.burst_size + cache_size);
  return static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
}

LinkWatch::LinkWatch(std::vector<uint16_t> ports) : ports_(std::move(ports)), last_(ports_.size(), -1) {}

std::vector<std::string> LinkWatch::changes() {
  std::vector<std::string> out;
  for (size_t i = 0; i < ports_.size(); ++i) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(ports_[i], &link) != 0) continue;
    const int up = link.link_status == RTE_ETH_LINK_UP;
    if (up == last_[i]) continue;
    // Written here: rte_eth_link_to_str is still experimental in 22.11.
    if (!up)
      out.push_back(fmt::format("port {}: link down", ports_[i]));
    else if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN || link.link_speed == RTE_ETH_SPEED_NUM_NONE)
      out.push_back(fmt::format("port {}: link up", ports_[i]));
    else
      out.push_back(fmt::format("port {}: link up at {} Mbps, {} duplex", ports_[i], link.link_speed,
                                link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half"));
    last_[i] = up;
  }
  return out;
}

}  // namespace flowscore
