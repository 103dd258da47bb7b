// Bidirectional flow identity. Both directions of a conversation map to one
// canonical key, so one table entry sees the whole flow.
#pragma once
#include <cstdint>
#include <cstring>

#include "flowscore/packet.hpp"

namespace flowscore {

// 48 bytes, no padding holes: hashed and compared as raw memory. 40 would
// save 16 B per flow in rte_hash's key store, but a store slot is then 48 B
// (8 B data pointer + key, 16-byte aligned), so half the keys straddle two
// cache lines and rte_hash prefetches only the first: with its own 40-byte
// compare it measured ~10% slower per packet at 1M flows (issue 2 §8).
// At 48 a slot is one whole cache line and rte_hash compares with SSE.
struct FlowKey {
  IpAddress addr_lo;     // the lower (address, port) endpoint
  IpAddress addr_hi;
  uint16_t port_lo = 0;  // TCP/UDP/SCTP port; for ICMP, Community ID's type/code equivalents
  uint16_t port_hi = 0;
  uint8_t proto = 0;
  uint8_t ip_version = 0;
  uint8_t pad[2] = {};
  VlanIds vlan;          // flow.vlan_tracking: flows on different VLANs are different flows; else zero
  uint8_t pad2[4] = {};

  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 48);

// One side of a flow as a packet states it.
struct Endpoint {
  IpAddress addr;
  uint16_t port = 0;
};

// ICMP has no ports. Like Community ID v1 (§ "ICMP"), the type stands in for
// the source port and, for request/response pairs, the counterpart type for
// the destination port, so an echo request and its reply share one flow.
// Other messages use the code as the destination port and are one-way.
struct IcmpPorts {
  uint16_t src_port;
  uint16_t dst_port;
  bool one_way;
};
IcmpPorts icmp_ports(uint8_t type, uint8_t code, bool is_icmpv6);

// The (src, dst) endpoints of a parsed packet, with ICMP mapped as above.
// Returns true for a one-way ICMP message.
bool packet_endpoints(const ParsedPacket& p, Endpoint& src, Endpoint& dst);

// Canonical key; `src_is_lo` tells whether the packet's source is addr_lo.
// One-way ICMP messages keep the packet's orientation (source in addr_lo),
// as Community ID does: the same message type sent back is another flow.
FlowKey make_flow_key(const ParsedPacket& p, bool& src_is_lo);

}  // namespace flowscore
