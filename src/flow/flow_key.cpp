#include "flowscore/flow_key.hpp"

namespace flowscore {

namespace {
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmpv6 = 58;

// Endpoint order used for the canonical key: address first, then port, as
// Community ID orders its tuple, so one flow has one key whichever side sends.
bool endpoint_less(const Endpoint& a, const Endpoint& b) {
  const int c = std::memcmp(a.addr.bytes.data(), b.addr.bytes.data(), a.addr.bytes.size());
  return c < 0 || (c == 0 && a.port < b.port);
}
}  // namespace

bool packet_endpoints(const ParsedPacket& p, Endpoint& src, Endpoint& dst) {
  src.addr = p.src;
  dst.addr = p.dst;
  if (p.proto == kProtoIcmp || p.proto == kProtoIcmpv6) {
    if (!p.has_l4) {
      src.port = dst.port = 0;
      return false;
    }
    const IcmpPorts m = icmp_ports(p.icmp_type, p.icmp_code, p.proto == kProtoIcmpv6);
    src.port = m.src_port;
    dst.port = m.dst_port;
    return m.one_way;
  }
  src.port = p.src_port;
  dst.port = p.dst_port;
  return false;
}

FlowKey make_flow_key(const ParsedPacket& p, bool& src_is_lo) {
  Endpoint src, dst;
  const bool one_way = packet_endpoints(p, src, dst);
  src_is_lo = one_way || !endpoint_less(dst, src);
  const Endpoint& lo = src_is_lo ? src : dst;
  const Endpoint& hi = src_is_lo ? dst : src;
  FlowKey k;
  k.addr_lo = lo.addr;
  k.addr_hi = hi.addr;
  k.port_lo = lo.port;
  k.port_hi = hi.port;
  k.proto = p.proto;
  k.ip_version = p.ip_version;
  return k;
}

}  // namespace flowscore
