// Byte-level frame builders for the parser tests. Each writes a header field
// by field as the cited spec lays it out; none of them calls the parser, so a
// test's expected values are the literals it passed in here.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace flowscore::test {

using Bytes = std::vector<uint8_t>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline const Ip4 kSrc4{192, 0, 2, 1};     // RFC 5737 documentation addresses
inline const Ip4 kDst4{198, 51, 100, 7};
inline const Ip6 kSrc6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};  // RFC 3849
inline const Ip6 kDst6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef};

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}
inline Bytes zeros(size_t n) { return Bytes(n, 0); }
inline Bytes filler(size_t n) {  // recognisable non-zero payload
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(0xA0 + i % 16);
  return b;
}

// Ethernet II: destination MAC, source MAC, EtherType (IEEE 802.3 §3.1).
inline Bytes ethernet(uint16_t ethertype) {
  Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(b, ethertype);
  return b;
}
// One 802.1Q/802.1ad tag after its TPID: TCI, then the next EtherType.
inline Bytes vlan_tag(uint16_t vid, uint16_t next_ethertype) {
  Bytes b;
  put16(b, vid & 0x0FFF);
  put16(b, next_ethertype);
  return b;
}
// A VN-Tag / E-Tag / FabricPath shim after its EtherType: `body` zero bytes
// (tag fields, or FabricPath's FTag/TTL plus inner MACs), then the next EtherType.
inline Bytes l2_shim(size_t body, uint16_t next_ethertype) {
  Bytes b(body, 0);
  put16(b, next_ethertype);
  return b;
}
// RFC 3032 §2.1 label stack entry: label(20) TC(3) S(1) TTL(8).
inline Bytes mpls_label(uint32_t label, bool bottom) {
  Bytes b;
  put32(b, label << 12 | (bottom ? 1u : 0u) << 8 | 64u);
  return b;
}
// RFC 2516 §4 PPPoE session header + 2-byte PPP protocol.
inline Bytes pppoe_session(uint16_t ppp_proto, uint16_t ppp_len) {
  Bytes b = {0x11, 0x00};
  put16(b, 0x0001);  // session id
  put16(b, ppp_len);
  put16(b, ppp_proto);
  return b;
}
// Linux cooked v1: packet type, ARPHRD, address length, 8-byte address, protocol.
inline Bytes sll(uint16_t protocol) {
  Bytes b;
  put16(b, 0);      // sent to us
  put16(b, 1);      // ARPHRD_ETHER
  put16(b, 6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  put16(b, protocol);
  return b;
}
// Linux cooked v2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, address.
inline Bytes sll2(uint16_t protocol) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);
  put32(b, 3);
  put16(b, 1);
  b.push_back(0);
  b.push_back(6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});
  return b;
}
inline Bytes u32_le(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }
inline Bytes u32_be(uint32_t v) { Bytes b; put32(b, v); return b; }

struct Ipv4Options {
  uint16_t id = 0x1234;
  bool more_fragments = false;
  uint16_t fragment_offset_units = 0;  // 8-byte units
  Bytes options;                       // multiple of 4 bytes
  int total_length = -1;               // -1: header + payload_len
  int ihl = -1;                        // -1: from the options
};
// RFC 791 §3.1. `payload_len` is what follows the header.
inline Bytes ipv4(uint8_t proto, size_t payload_len, const Ipv4Options& o = {},
                  const Ip4& src = kSrc4, const Ip4& dst = kDst4) {
  const size_t header_len = 20 + o.options.size();
  const int ihl = o.ihl >= 0 ? o.ihl : int(header_len / 4);
  Bytes b;
  b.push_back(uint8_t(0x40 | ihl));
  b.push_back(0);
  put16(b, uint16_t(o.total_length >= 0 ? size_t(o.total_length) : header_len + payload_len));
  put16(b, o.id);
  put16(b, uint16_t((o.more_fragments ? 0x2000 : 0) | o.fragment_offset_units));
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);  // checksum: the parser does not verify it
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  b.insert(b.end(), o.options.begin(), o.options.end());
  return b;
}
// RFC 8200 §3.
inline Bytes ipv6(uint8_t next_header, uint16_t payload_len, const Ip6& src = kSrc6,
                  const Ip6& dst = kDst6) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, payload_len);
  b.push_back(next_header);
  b.push_back(64);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  return b;
}
// Hop-by-hop / routing / destination options: (len_units + 1) * 8 bytes (§4.3).
inline Bytes ipv6_ext(uint8_t next_header, uint8_t len_units) {
  Bytes b = zeros((len_units + 1u) * 8);
  b[0] = next_header;
  b[1] = len_units;
  b[2] = 1;  // PadN option: keeps the zero bytes a valid option area
  b[3] = uint8_t(b.size() - 4);
  return b;
}
// §4.5 fragment header.
inline Bytes ipv6_fragment(uint8_t next_header, uint16_t offset_units, bool more, uint32_t id) {
  Bytes b = {next_header, 0};
  put16(b, uint16_t(offset_units << 3 | (more ? 1 : 0)));
  put32(b, id);
  return b;
}
// RFC 4302 §2: AH, (len_field + 2) * 4 bytes.
inline Bytes ipv6_ah(uint8_t next_header, uint8_t len_field) {
  Bytes b = zeros((len_field + 2u) * 4);
  b[0] = next_header;
  b[1] = len_field;
  return b;
}
// RFC 9293 §3.1. `data_offset` in 32-bit words; options are zero (EOL).
inline Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint16_t window,
                 uint8_t data_offset = 5) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);  // seq
  put32(b, 0);     // ack
  b.push_back(uint8_t(data_offset << 4));
  b.push_back(flags);
  put16(b, window);
  put16(b, 0);  // checksum
  put16(b, 0);  // urgent pointer
  if (data_offset > 5) b.resize(size_t(data_offset) * 4, 0);
  return b;
}
// RFC 768.
inline Bytes udp(uint16_t sport, uint16_t dport, uint16_t payload_len) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, uint16_t(8 + payload_len));
  put16(b, 0);
  return b;
}
// RFC 9260 §3.1 common header.
inline Bytes sctp(uint16_t sport, uint16_t dport) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 0xC0FFEE);  // verification tag
  put32(b, 0);         // checksum
  return b;
}
// RFC 792 / RFC 4443: type, code, checksum, 4-byte rest of header.
inline Bytes icmp(uint8_t type, uint8_t code) { return {type, code, 0, 0, 0, 1, 0, 1}; }

}  // namespace flowscore::test
