#include "frame_composer.hpp"

#include <cstring>

#include "checksum.hpp"
#include "payload.hpp"
#include "rng.hpp"

namespace flowscore::gen {
namespace {

constexpr uint32_t kIpv4HeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
// IGMP rides with the Router Alert option (RFC 2236 §2, RFC 3376 §4; RFC 2113),
// so its IPv4 header is 24 bytes (IHL 6).
constexpr uint32_t kIpv4RouterAlertHeaderLen = 24;
constexpr uint32_t kRouterAlertOption = 0x94040000;  // type 148, length 4, value 0

uint32_t ipv4_header_len(uint8_t proto) {
  return proto == kProtoIgmp ? kIpv4RouterAlertHeaderLen : kIpv4HeaderLen;
}
constexpr uint32_t kTcpHeaderLen = 20;
constexpr uint32_t kTcpSynOptionsLen = 12;
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kIcmpHeaderLen = 8;
// RFC 1812 §4.3.2.3: an ICMPv4 error carries as much of the invoking packet as
// fits in 576 bytes; RFC 4443 §2.4(c): ICMPv6 fills up to the 1280-byte minimum MTU.
constexpr uint32_t kIcmpV4ErrorMax = 576;
constexpr uint32_t kIcmpV6ErrorMax = 1280;

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

// Locally administered unicast MAC derived from an address, so a host keeps
// one MAC across all its flows. A multicast group maps to its multicast MAC:
// 01:00:5e + the low 23 bits (RFC 1112 §6.4); IPv6 33:33 + the low 32 bits
// (RFC 2464 §7).
void put_mac(uint8_t* p, const IpAddr& addr, bool ipv6) {
  if (!ipv6 && (addr.bytes[0] & 0xf0) == 0xe0) {
    const uint8_t mac[6] = {0x01, 0x00, 0x5e, static_cast<uint8_t>(addr.bytes[1] & 0x7f),
                            addr.bytes[2], addr.bytes[3]};
    std::memcpy(p, mac, 6);
    return;
  }
  if (ipv6 && addr.bytes[0] == 0xff) {
    const uint8_t mac[6] = {0x33, 0x33, addr.bytes[12], addr.bytes[13], addr.bytes[14], addr.bytes[15]};
    std::memcpy(p, mac, 6);
    return;
  }
  uint64_t h = 0x6d6163;
  for (uint8_t b : addr.bytes) h = (h ^ b) * 0x100000001b3ULL;
  p[0] = 0x02;
  for (int i = 1; i < 6; ++i) p[i] = static_cast<uint8_t>(h >> (8 * i));
}

}  // namespace

uint8_t FrameComposer::wire_proto() const {
  return a_.proto == kProtoIcmp && a_.ipv6 ? kProtoIcmpV6 : a_.proto;
}

void FrameComposer::reset(const FlowAddressing& addressing, uint64_t token) {
  a_ = addressing;
  token_ = static_cast<uint32_t>(token);
  uint64_t s = token;
  for (int d = 0; d < 2; ++d) {
    isn_[d] = static_cast<uint32_t>(splitmix64(s));
    ip_id_[d] = static_cast<uint16_t>(splitmix64(s));
    flow_label_[d] = static_cast<uint32_t>(splitmix64(s)) & 0xfffff;
    rtp_seq_[d] = static_cast<uint16_t>(splitmix64(s));
    rtp_ts_[d] = static_cast<uint32_t>(splitmix64(s));
  }
  // Drawn after the others, so every other field keeps its value.
  for (int d = 0; d < 2; ++d) {
    esp_spi_[d] = static_cast<uint32_t>(splitmix64(s)) | 0x100;  // 1-255 are reserved (RFC 4303 §2.1)
    esp_seq_[d] = 1;
  }
  icmp_seq_ = 0;
  last_probe_ = Sent{};
  l2_len_ = a_.vlan != 0 ? 18 : 14;
  for (int d = 0; d < 2; ++d) {
    uint8_t* e = l2_[d].data();
    const IpAddr& src = d == kToResponder ? a_.initiator : a_.responder;
    const IpAddr& dst = d == kToResponder ? a_.responder : a_.initiator;
    if (d == kToResponder && a_.responder_broadcast) std::memset(e, 0xff, 6);
    else put_mac(e, dst, a_.ipv6);
    put_mac(e + 6, src, a_.ipv6);
    uint8_t* type = e + 12;
    if (a_.vlan != 0) {
      put16(type, 0x8100);  // IEEE 802.1Q tag: TPID, then PCP 0 / DEI 0 / VID
      put16(type + 2, a_.vlan & 0x0fff);
      type += 4;
    }
    put16(type, a_.ipv6 ? 0x86dd : 0x0800);
  }
}

uint32_t FrameComposer::finish_ip(uint8_t* ip, Dir dir, uint8_t proto, uint32_t l4_len,
                                  uint16_t ip_id) {
  const IpAddr& src = dir == kToResponder ? a_.initiator : a_.responder;
  const IpAddr& dst = dir == kToResponder ? a_.responder : a_.initiator;
  if (a_.ipv6) {
    put32(ip, 0x60000000u | flow_label_[dir]);  // version 6, traffic class 0
    put16(ip + 4, l4_len);
    ip[6] = proto;
    ip[7] = a_.ttl[dir];
    std::memcpy(ip + 8, src.bytes.data(), 16);
    std::memcpy(ip + 24, dst.bytes.data(), 16);
    return kIpv6HeaderLen + l4_len;
  }
  const uint32_t hdr = ipv4_header_len(proto);
  ip[0] = static_cast<uint8_t>(0x40 | hdr / 4);  // version 4, IHL
  ip[1] = 0;
  put16(ip + 2, hdr + l4_len);
  put16(ip + 4, ip_id);
  // DF on TCP, as every modern stack sets it for PMTU discovery (RFC 1191).
  put16(ip + 6, proto == kProtoTcp ? 0x4000 : 0);
  ip[8] = a_.ttl[dir];
  ip[9] = proto;
  put16(ip + 10, 0);
  std::memcpy(ip + 12, src.bytes.data(), 4);
  std::memcpy(ip + 16, dst.bytes.data(), 4);
  if (hdr != kIpv4HeaderLen) put32(ip + kIpv4HeaderLen, kRouterAlertOption);
  put16(ip + 10, checksum_finish(checksum_partial(ip, hdr)));
  return hdr + l4_len;
}

uint32_t FrameComposer::write_ip_packet(uint8_t* ip, const PacketSpec& pkt, int64_t ts_us,
                                        uint16_t ip_id, uint32_t seq, uint32_t ack) {
  const Dir dir = pkt.dir;
  const uint8_t proto = wire_proto();
  const uint32_t ip_len = a_.ipv6 ? kIpv6HeaderLen : ipv4_header_len(proto);
  uint8_t* l4 = ip + ip_len;
  const uint16_t src_port = dir == kToResponder ? a_.initiator_port : a_.responder_port;
  const uint16_t dst_port = dir == kToResponder ? a_.responder_port : a_.initiator_port;
  PayloadContext ctx{token_, ts_us, rtp_seq_[dir], rtp_ts_[dir], esp_spi_[dir], esp_seq_[dir]};
  uint32_t l4_len = 0;
  uint32_t csum_offset = 0;
  switch (proto) {
    case kProtoTcp: {
      const bool syn = pkt.tcp_flags & tcp::kSyn;
      const uint32_t hdr = kTcpHeaderLen + (syn && a_.syn_options[dir] ? kTcpSynOptionsLen : 0);
      put16(l4, src_port);
      put16(l4 + 2, dst_port);
      put32(l4 + 4, seq);
      put32(l4 + 8, (pkt.tcp_flags & tcp::kAck) ? ack : 0);
      l4[12] = static_cast<uint8_t>((hdr / 4) << 4);
      l4[13] = pkt.tcp_flags;
      put16(l4 + 14, a_.tcp_window[dir]);
      put32(l4 + 16, 0);  // checksum, urgent pointer
      if (hdr > kTcpHeaderLen) {
        // MSS, NOP, window scale 7, NOP, NOP, SACK permitted (RFC 9293, 7323, 2018)
        uint8_t* o = l4 + kTcpHeaderLen;
        o[0] = 2;
        o[1] = 4;
        put16(o + 2, a_.mss);
        o[4] = 1;
        o[5] = 3;
        o[6] = 3;
        o[7] = 7;
        o[8] = 1;
        o[9] = 1;
        o[10] = 4;
        o[11] = 2;
      }
      write_payload(l4 + hdr, pkt, ctx);
      l4_len = hdr + pkt.payload_len;
      csum_offset = 16;
      break;
    }
    case kProtoUdp:
      put16(l4, src_port);
      put16(l4 + 2, dst_port);
      put16(l4 + 4, kUdpHeaderLen + pkt.payload_len);
      put16(l4 + 6, 0);
      write_payload(l4 + kUdpHeaderLen, pkt, ctx);
      l4_len = kUdpHeaderLen + pkt.payload_len;
      csum_offset = 6;
      break;
    case kProtoEsp:  // no checksum: the ICV authenticates the packet (RFC 4303 §2.8)
      write_payload(l4, pkt, ctx);
      return finish_ip(ip, dir, proto, pkt.payload_len, ip_id);
    case kProtoIgmp:  // checksum over the IGMP message alone (RFC 2236 §2.3)
      write_payload(l4, pkt, ctx);
      l4_len = pkt.payload_len;
      csum_offset = 2;
      break;
    default: {  // ICMP / ICMPv6 echo (RFC 792, RFC 4443 §4)
      const bool request = dir == kToResponder;
      l4[0] = a_.ipv6 ? (request ? 128 : 129) : (request ? 8 : 0);
      l4[1] = 0;
      put16(l4 + 2, 0);
      put16(l4 + 4, a_.icmp_id);
      put16(l4 + 6, icmp_seq_);
      write_opaque(l4 + kIcmpHeaderLen, pkt.payload_len, token_ + icmp_seq_);
      l4_len = kIcmpHeaderLen + pkt.payload_len;
      csum_offset = 2;
      break;
    }
  }
  const uint32_t total = finish_ip(ip, dir, proto, l4_len, ip_id);
  uint64_t sum = 0;
  if (proto != kProtoIcmp && proto != kProtoIgmp) {  // ICMPv4 and IGMP have no pseudo-header
    const IpAddr& src = dir == kToResponder ? a_.initiator : a_.responder;
    const IpAddr& dst = dir == kToResponder ? a_.responder : a_.initiator;
    sum = a_.ipv6 ? pseudo_header_sum_v6(src.bytes.data(), dst.bytes.data(), proto, l4_len)
                  : pseudo_header_sum_v4(src.bytes.data(), dst.bytes.data(), proto, l4_len);
  }
  uint16_t csum = checksum_finish(checksum_partial(l4, l4_len, sum));
  if (proto == kProtoUdp && csum == 0) csum = 0xffff;  // 0 means "no checksum" (RFC 768)
  put16(l4 + csum_offset, csum);
  return total;
}

uint32_t FrameComposer::write_icmp_error(uint8_t* ip, const PacketSpec& pkt) {
  const uint32_t ip_len = a_.ipv6 ? kIpv6HeaderLen : kIpv4HeaderLen;
  uint8_t* icmp = ip + ip_len;
  const uint8_t proto = a_.ipv6 ? kProtoIcmpV6 : kProtoIcmp;
  // Port unreachable: type 3 code 3 (RFC 792), ICMPv6 type 1 code 4 (RFC 4443 §3.1).
  icmp[0] = a_.ipv6 ? 1 : 3;
  icmp[1] = a_.ipv6 ? 4 : 3;
  put32(icmp + 2, 0);
  put16(icmp + 6, 0);
  uint32_t quoted = 0;
  if (last_probe_.valid) {
    quoted = write_ip_packet(icmp + kIcmpHeaderLen, last_probe_.pkt, last_probe_.ts_us,
                             last_probe_.ip_id, last_probe_.seq, 0);
  }
  const uint32_t limit = (a_.ipv6 ? kIcmpV6ErrorMax : kIcmpV4ErrorMax) - ip_len - kIcmpHeaderLen;
  if (quoted > limit) quoted = limit;
  const uint32_t l4_len = kIcmpHeaderLen + quoted;
  const uint32_t total = finish_ip(ip, pkt.dir, proto, l4_len, ip_id_[pkt.dir]++);
  uint64_t sum = 0;
  if (a_.ipv6) {
    const IpAddr& src = pkt.dir == kToResponder ? a_.initiator : a_.responder;
    const IpAddr& dst = pkt.dir == kToResponder ? a_.responder : a_.initiator;
    sum = pseudo_header_sum_v6(src.bytes.data(), dst.bytes.data(), proto, l4_len);
  }
  put16(icmp + 2, checksum_finish(checksum_partial(icmp, l4_len, sum)));
  return total;
}

uint32_t FrameComposer::compose(const PacketSpec& pkt, int64_t ts_us, uint8_t* out) {
  const Dir dir = pkt.dir;
  std::memcpy(out, l2_[dir].data(), l2_len_);
  uint8_t* ip = out + l2_len_;
  uint32_t ip_total;
  if (pkt.payload == Payload::kIcmpPortUnreachable) {
    ip_total = write_icmp_error(ip, pkt);
  } else {
    if (a_.proto == kProtoIcmp && dir == kToResponder) ++icmp_seq_;  // a reply echoes it
    const uint32_t seq = isn_[dir] + pkt.seq_rel;
    const uint32_t ack = isn_[dir ^ 1] + pkt.ack_rel;
    const uint16_t ip_id = ip_id_[dir]++;
    ip_total = write_ip_packet(ip, pkt, ts_us, ip_id, seq, ack);
    if (pkt.payload == Payload::kRtp) {
      ++rtp_seq_[dir];
      rtp_ts_[dir] += pkt.payload_len - kRtpHeaderLen;  // 8 kHz PCMU: one sample per byte
    } else if (pkt.payload == Payload::kEsp) {
      ++esp_seq_[dir];  // per SA, never reused (RFC 4303 §3.3.3)
    }
    if (dir == kToResponder) last_probe_ = Sent{pkt, ts_us, ip_id, seq, true};
  }
  uint32_t len = l2_len_ + ip_total;
  if (len < kEthernetMinFrame) {
    std::memset(out + len, 0, kEthernetMinFrame - len);
    len = kEthernetMinFrame;
  }
  return len;
}

}  // namespace flowscore::gen
