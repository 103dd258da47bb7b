// Bidirectional flow identity. Both directions of a conversation map to one
// canonical key, so one table entry sees the whole flow.
#pragma once
#include <cstdint>
#include <cstring>

#include "flowscore/packet.hpp"

namespace flowscore {

// 40 bytes, no padding holes: hashed and compared as raw memory (the two
// pad bytes are always zero). rte_hash has vector compares only for 16, 32,
// 48, ... byte keys and would fall back to memcmp for 40, so the flow table
// installs flow_keys_differ() below as the index's compare instead.
struct FlowKey {
  IpAddress addr_lo;     // the lower (address, port) endpoint
  IpAddress addr_hi;
  uint16_t port_lo = 0;  // TCP/UDP/SCTP port; for ICMP, Community ID's type/code equivalents
  uint16_t port_hi = 0;
  uint8_t proto = 0;
  uint8_t ip_version = 0;
  uint8_t pad[2] = {};

  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40 && sizeof(FlowKey) % 8 == 0);

// rte_hash_cmp_eq_t for FlowKey: 0 when equal, like memcmp, but as five
// 8-byte XORs with no loop and no call into libc. `len` is sizeof(FlowKey).
int flow_keys_differ(const void* a, const void* b, size_t len);

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
