// What a Toeplitz RSS NIC computes for a packet, emulated with DPDK's own
// software Toeplitz (rte_softrss), for tests that have no NIC: the words it
// hashes (addresses, then TCP/UDP ports outside fragments unless the hash
// is on addresses only, as dpdk.rss_hash says), and the queue its 128-entry
// redirection table, filled round-robin as PMDs fill it by default, picks.
#pragma once
#include <rte_byteorder.h>
#include <rte_thash.h>

#include <cstring>
#include <vector>

#include "flowscore/packet.hpp"

namespace flowscore::test {

// Host-order words, as rte_softrss takes them; `swapped`: the reply's.
inline std::vector<uint32_t> nic_rss_input(const ParsedPacket& p, bool with_ports, bool swapped = false) {
  const IpAddress& a = swapped ? p.dst : p.src;
  const IpAddress& b = swapped ? p.src : p.dst;
  const int words = p.ip_version == 4 ? 1 : 4;
  std::vector<uint32_t> in;
  for (const IpAddress* addr : {&a, &b})
    for (int w = 0; w < words; ++w) {
      uint32_t be;
      std::memcpy(&be, addr->bytes.data() + 4 * w, 4);
      in.push_back(rte_be_to_cpu_32(be));
    }
  if (with_ports && (p.proto == 6 || p.proto == 17) && p.fragment == Fragment::kNone && p.has_l4) {
    const uint16_t sport = swapped ? p.dst_port : p.src_port, dport = swapped ? p.src_port : p.dst_port;
    in.push_back(uint32_t{sport} << 16 | dport);
  }
  return in;
}

inline uint32_t nic_rss_hash(std::vector<uint32_t> in, const uint8_t* key) {
  return rte_softrss(in.data(), static_cast<uint32_t>(in.size()), key);
}

inline unsigned nic_rss_queue(uint32_t hash, unsigned queues) { return (hash % 128) % queues; }

}  // namespace flowscore::test
