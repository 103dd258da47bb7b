// Frame parser: link layer -> outermost IP header -> its L4 header.
//
// Every read goes through `has(off, n)` first, so no byte at or past
// `captured` is ever touched. Lengths that drive the walk (IHL, extension
// header lengths, TCP data offset) are checked against both the captured
// bytes and the IP length field before they are used.
#include "flowscore/packet.hpp"

#include <cstring>

namespace flowscore {
namespace {

// Chain bounds. Real traffic stays far below them (QinQ = 2 tags, plus a
// VN-Tag or E-Tag from a fabric extender; MPLS L3VPN = 2-3 labels; RFC 8200
// §4.1 allows each extension header once, Destination Options twice); a
// longer chain is hostile or broken and is not followed.
constexpr int kMaxL2Tags = 4;
constexpr int kMaxMplsLabels = 8;
constexpr int kMaxIpv6ExtHeaders = 8;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeMplsUnicast = 0x8847;    // RFC 3032 §5
constexpr uint16_t kEtherTypeMplsMulticast = 0x8848;
constexpr uint16_t kEtherTypePppoeSession = 0x8864;   // RFC 2516 §4
constexpr uint16_t kPppProtoIpv4 = 0x0021, kPppProtoIpv6 = 0x0057;  // RFC 1332, RFC 5072
constexpr uint32_t kPppoeHeaderLen = 6;

constexpr uint8_t kProtoHopByHop = 0, kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17,
                  kProtoRouting = 43, kProtoFragment = 44, kProtoAh = 51,
                  kProtoIcmpv6 = 58, kProtoNoNext = 59, kProtoDstOpts = 60, kProtoSctp = 132;

constexpr uint32_t kEthernetHeaderLen = 14;
constexpr uint32_t kSllHeaderLen = 16;    // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
constexpr uint32_t kSll2HeaderLen = 20;   // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
constexpr uint32_t kNullHeaderLen = 4;    // https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
constexpr uint32_t kIpv4MinHeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kTcpMinHeaderLen = 20;
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kSctpCommonHeaderLen = 12;  // RFC 9260 §3.1
// Type, code, checksum and the 4-byte type-specific word every ICMP (RFC 792)
// and ICMPv6 (RFC 4443 §2.1) message starts with.
constexpr uint32_t kIcmpHeaderLen = 8;

// Address-family values in the NULL/LOOP pseudo-header: AF_INET is 2
// everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
constexpr uint32_t kAfInet = 2;
constexpr bool is_af_inet6(uint32_t af) { return af == 24 || af == 28 || af == 30; }

// Tags between the MAC header and the payload that end in the next
// EtherType: their length after the EtherType that announces them, else 0.
constexpr uint32_t l2_tag_len(uint16_t ethertype) {
  switch (ethertype) {
    case 0x8100:  // IEEE 802.1Q C-tag: TCI, EtherType
    case 0x88A8:  // IEEE 802.1ad S-tag
    case 0x9100:  // pre-802.1ad vendor S-tag
      return 4;
    case 0x8926:  // Cisco VN-Tag (fabric extenders): 4-byte tag, EtherType
      return 6;
    case 0x893F:  // IEEE 802.1BR E-Tag: 6-byte E-TCI, EtherType
      return 8;
    case 0x8903:  // Cisco FabricPath: FTag/TTL, then the inner MAC header
      return 16;
    default:
      return 0;
  }
}

inline uint16_t load_be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}

// The bytes [off, off+n) are captured. Written so it cannot overflow.
inline bool has(uint32_t captured, uint32_t off, uint32_t n) {
  return off <= captured && n <= captured - off;
}

// Where the IP header starts and which version the link layer announced
// (0: take it from the first nibble, as for LINKTYPE_RAW and after MPLS).
struct L3Start {
  uint32_t offset = 0;
  uint8_t version = 0;
  VlanIds vlan;
};

constexpr bool is_vlan_tag(uint16_t ethertype) {
  return ethertype == 0x8100 || ethertype == 0x88A8 || ethertype == 0x9100;
}

ParseStatus l3_from_ethertype(uint16_t ethertype, L3Start& l3) {
  if (ethertype == kEtherTypeIpv4) {
    l3.version = 4;
    return ParseStatus::kOk;
  }
  if (ethertype == kEtherTypeIpv6) {
    l3.version = 6;
    return ParseStatus::kOk;
  }
  return ParseStatus::kNotIp;
}

// Walks L2 tags, then a PPPoE session header or an MPLS label stack, from
// the EtherType `ethertype` whose payload starts at `off`.
// Shared by Ethernet and Linux cooked captures, whose protocol field is an
// EtherType and may itself announce a tag libpcap put back.
ParseStatus walk_ethertype_chain(const uint8_t* f, uint32_t captured, uint16_t ethertype,
                                 uint32_t off, L3Start& l3) {
  for (int tags = 0;; ++tags) {
    const uint32_t tag_len = l2_tag_len(ethertype);
    if (tag_len == 0) break;
    if (tags == kMaxL2Tags) return ParseStatus::kTooManyHeaders;
    if (!has(captured, off, tag_len)) return ParseStatus::kTruncatedL2;
    if (is_vlan_tag(ethertype)) l3.vlan.push(load_be16(f + off) & 0x0fff);  // the TCI's VID
    ethertype = load_be16(f + off + tag_len - 2);
    off += tag_len;
  }
  l3.offset = off;
  if (ethertype == kEtherTypePppoeSession) {
    // Broadband access links carry subscribers' IP in PPP over PPPoE.
    if (!has(captured, off, kPppoeHeaderLen + 2)) return ParseStatus::kTruncatedL2;
    const uint16_t ppp_proto = load_be16(f + off + kPppoeHeaderLen);
    l3.offset = off + kPppoeHeaderLen + 2;
    if (ppp_proto == kPppProtoIpv4) return l3_from_ethertype(kEtherTypeIpv4, l3);
    if (ppp_proto == kPppProtoIpv6) return l3_from_ethertype(kEtherTypeIpv6, l3);
    return ParseStatus::kNotIp;
  }
  if (ethertype != kEtherTypeMplsUnicast && ethertype != kEtherTypeMplsMulticast)
    return l3_from_ethertype(ethertype, l3);

  // RFC 3032 §2.1: 4-byte entries; the lowest bit of the third byte is S, bottom of stack.
  for (int labels = 0;; ++labels) {
    if (labels == kMaxMplsLabels) return ParseStatus::kTooManyHeaders;
    if (!has(captured, off, 4)) return ParseStatus::kTruncatedL2;
    const bool bottom = f[off + 2] & 0x01;
    off += 4;
    if (bottom) break;
  }
  // MPLS carries no payload type; RFC 4385 §3 lets a receiver tell IP from a
  // pseudowire control word (first nibble 0) by the first nibble.
  l3.offset = off;
  if (!has(captured, off, 1)) return ParseStatus::kTruncatedL3;
  const uint8_t nibble = f[off] >> 4;
  if (nibble != 4 && nibble != 6) return ParseStatus::kNotIp;
  l3.version = nibble;
  return ParseStatus::kOk;
}

ParseStatus l3_from_address_family(uint32_t af, uint32_t off, L3Start& l3) {
  l3.offset = off;
  if (af == kAfInet) {
    l3.version = 4;
    return ParseStatus::kOk;
  }
  if (is_af_inet6(af)) {
    l3.version = 6;
    return ParseStatus::kOk;
  }
  return ParseStatus::kNotIp;
}

ParseStatus find_l3(const uint8_t* f, uint32_t captured, LinkType link, L3Start& l3) {
  switch (link) {
    case LinkType::kEthernet:
      if (!has(captured, 0, kEthernetHeaderLen)) return ParseStatus::kTruncatedL2;
      // Values below 0x0600 are an 802.3 length (LLC follows): never IP here.
      return walk_ethertype_chain(f, captured, load_be16(f + 12), kEthernetHeaderLen, l3);
    case LinkType::kLinuxSll:
      if (!has(captured, 0, kSllHeaderLen)) return ParseStatus::kTruncatedL2;
      return walk_ethertype_chain(f, captured, load_be16(f + 14), kSllHeaderLen, l3);
    case LinkType::kLinuxSll2:
      if (!has(captured, 0, kSll2HeaderLen)) return ParseStatus::kTruncatedL2;
      return walk_ethertype_chain(f, captured, load_be16(f), kSll2HeaderLen, l3);
    case LinkType::kNull: {
      if (!has(captured, 0, kNullHeaderLen)) return ParseStatus::kTruncatedL2;
      // Host byte order of the capturing machine, which need not be ours.
      // Every valid value fits in 16 bits, so a value with the low half zero
      // was written in the other byte order.
      uint32_t af = load_le32(f);
      if ((af & 0xFFFF) == 0) af = load_be32(f);
      return l3_from_address_family(af, kNullHeaderLen, l3);
    }
    case LinkType::kLoop:
      if (!has(captured, 0, kNullHeaderLen)) return ParseStatus::kTruncatedL2;
      return l3_from_address_family(load_be32(f), kNullHeaderLen, l3);
    case LinkType::kRaw:
      l3 = {0, 0};
      return ParseStatus::kOk;
    case LinkType::kIpv4:
      l3 = {0, 4};
      return ParseStatus::kOk;
    case LinkType::kIpv6:
      l3 = {0, 6};
      return ParseStatus::kOk;
  }
  return ParseStatus::kNotIp;
}

// Per L4 protocol: the fixed header length, which must fit in the IP length
// and is what payload_len excludes, and how many of its bytes must be
// captured: through the last field ParsedPacket takes, so a short snaplen
// costs nothing it does not have to.
struct L4Layout {
  uint32_t header_len = 0;  // 0: a protocol flowscore does not look into
  uint32_t needed = 0;
};
constexpr L4Layout l4_layout(uint8_t proto) {
  switch (proto) {
    case kProtoTcp: return {kTcpMinHeaderLen, 16};  // through the window
    case kProtoUdp: return {kUdpHeaderLen, 4};      // ports
    case kProtoSctp: return {kSctpCommonHeaderLen, 4};
    case kProtoIcmp:
    case kProtoIcmpv6: return {kIcmpHeaderLen, 2};  // type, code
    default: return {};
  }
}

// Parses the L4 header at `off`. `l4_ip_len` is what the IP length field
// leaves for L4 header + payload: the header must fit in it (bytes past the
// IP length are link padding, not packet), while only `captured` bounds reads.
ParseStatus parse_l4(const uint8_t* f, uint32_t captured, uint32_t off, uint32_t l4_ip_len,
                     ParsedPacket& out) {
  const L4Layout layout = l4_layout(out.proto);
  if (layout.header_len == 0) {  // GRE, IP-in-IP, ESP, ...: flowed on the IP header, no ports
    out.payload_len = l4_ip_len;
    return ParseStatus::kOk;
  }
  // Also rejects RFC 1858 tiny first fragments that split the TCP header.
  if (l4_ip_len < layout.header_len) return ParseStatus::kBadL4Header;
  if (!has(captured, off, layout.needed)) return ParseStatus::kTruncatedL4;
  const uint8_t* l4 = f + off;
  uint32_t header_len = layout.header_len;
  if (out.proto == kProtoTcp) {
    // RFC 9293 §3.1. Options need not be captured.
    header_len = uint32_t(l4[12] >> 4) * 4;
    if (header_len < kTcpMinHeaderLen || header_len > l4_ip_len) return ParseStatus::kBadL4Header;
    out.tcp_header_len = uint8_t(header_len);
    out.tcp_flags = l4[13];
    out.tcp_window = load_be16(l4 + 14);
  }
  if (out.proto == kProtoIcmp || out.proto == kProtoIcmpv6) {
    out.icmp_type = l4[0];
    out.icmp_code = l4[1];
  } else {  // ports are the first four bytes of TCP, UDP and SCTP alike
    out.src_port = load_be16(l4);
    out.dst_port = load_be16(l4 + 2);
  }
  out.has_l4 = true;
  out.payload_len = l4_ip_len - header_len;
  return ParseStatus::kOk;
}

// RFC 791 §3.1.
ParseStatus parse_ipv4(const uint8_t* f, uint32_t captured, uint32_t off, ParsedPacket& out) {
  if (!has(captured, off, kIpv4MinHeaderLen)) return ParseStatus::kTruncatedL3;
  const uint8_t* ip = f + off;
  const uint32_t header_len = uint32_t(ip[0] & 0x0F) * 4;
  if (header_len < kIpv4MinHeaderLen) return ParseStatus::kBadIpHeaderLength;
  if (!has(captured, off, header_len)) return ParseStatus::kTruncatedL3;
  uint32_t total_len = load_be16(ip + 2);
  // Segmentation offload hands captures super-packets whose total length is
  // 0 (the NIC fills it in per segment): the captured bytes are the packet.
  if (total_len == 0) total_len = captured - off;
  if (total_len < header_len) return ParseStatus::kBadIpHeaderLength;

  out.ip_version = 4;
  out.ip_len = total_len;
  out.proto = ip[9];
  out.fragment_id = load_be16(ip + 4);
  std::memcpy(out.src.bytes.data(), ip + 12, 4);
  std::memcpy(out.dst.bytes.data(), ip + 16, 4);

  const uint16_t frag = load_be16(ip + 6);
  const bool more_fragments = frag & 0x2000;
  const uint16_t frag_offset = frag & 0x1FFF;
  const uint32_t l4_ip_len = total_len - header_len;
  if (frag_offset != 0) {
    out.fragment = Fragment::kLater;
    out.payload_len = l4_ip_len;
    return ParseStatus::kOk;
  }
  if (more_fragments) out.fragment = Fragment::kFirst;
  return parse_l4(f, captured, off + header_len, l4_ip_len, out);
}

// RFC 8200 §3-§4. Follows the extension-header chain to the upper-layer header.
ParseStatus parse_ipv6(const uint8_t* f, uint32_t captured, uint32_t off, ParsedPacket& out) {
  if (!has(captured, off, kIpv6HeaderLen)) return ParseStatus::kTruncatedL3;
  const uint8_t* ip = f + off;
  const uint32_t payload_len = load_be16(ip + 4);
  uint8_t next = ip[6];
  // Payload length 0 is a jumbogram (RFC 2675 §2) or an offloaded
  // super-packet; either way the captured bytes are the packet. With No Next
  // Header it is just an empty packet.
  out.ip_len = (payload_len == 0 && next != kProtoNoNext) ? captured - off
                                                          : kIpv6HeaderLen + payload_len;
  out.ip_version = 6;
  std::memcpy(out.src.bytes.data(), ip + 8, 16);
  std::memcpy(out.dst.bytes.data(), ip + 24, 16);

  // ip_len is at most max(40 + 65535, captured - off): the sum cannot overflow.
  const uint32_t ip_end = off + out.ip_len;
  uint32_t cur = off + kIpv6HeaderLen;
  for (int headers = 0;; ++headers) {
    if (next != kProtoHopByHop && next != kProtoRouting && next != kProtoDstOpts &&
        next != kProtoFragment && next != kProtoAh) {
      // Upper layer, ESP (the rest is encrypted), No Next Header, or unknown.
      out.proto = next;
      return parse_l4(f, captured, cur, ip_end - cur, out);
    }
    if (headers == kMaxIpv6ExtHeaders) return ParseStatus::kTooManyHeaders;
    if (!has(captured, cur, 2)) return ParseStatus::kTruncatedL3;
    uint32_t ext_len;
    if (next == kProtoFragment) {
      ext_len = 8;  // §4.5: fixed size
    } else if (next == kProtoAh) {
      ext_len = (uint32_t(f[cur + 1]) + 2) * 4;  // RFC 4302 §2.2: 4-octet units, minus 2
    } else {
      ext_len = (uint32_t(f[cur + 1]) + 1) * 8;  // §4.3: 8-octet units, first one excluded
    }
    if (ext_len > ip_end - cur) return ParseStatus::kBadIpHeaderLength;
    if (!has(captured, cur, ext_len)) return ParseStatus::kTruncatedL3;
    const uint8_t header_next = f[cur];
    if (next == kProtoFragment) {
      const uint16_t offset_flags = load_be16(f + cur + 2);
      out.fragment_id = load_be32(f + cur + 4);
      if ((offset_flags & 0xFFF8) != 0) {
        out.fragment = Fragment::kLater;  // no upper-layer header in here
        out.proto = header_next;
        out.payload_len = ip_end - (cur + ext_len);
        return ParseStatus::kOk;
      }
      // M set: first fragment. M clear at offset 0 is an atomic fragment
      // (RFC 6946): a whole packet, so Fragment::kNone.
      if (offset_flags & 0x0001) out.fragment = Fragment::kFirst;
    }
    next = header_next;
    cur += ext_len;
  }
}

}  // namespace

ParseStatus parse_frame(const uint8_t* frame, uint32_t captured, LinkType link,
                        ParsedPacket& out) {
  out = ParsedPacket{};
  L3Start l3;
  const ParseStatus link_status = find_l3(frame, captured, link, l3);
  if (link_status != ParseStatus::kOk) return link_status;
  if (!has(captured, l3.offset, 1)) return ParseStatus::kTruncatedL3;
  const uint8_t version = frame[l3.offset] >> 4;
  if (l3.version != 0 && version != l3.version) return ParseStatus::kBadIpVersion;
  out.l3_offset = l3.offset;
  out.vlan = l3.vlan;
  if (version == 4) return parse_ipv4(frame, captured, l3.offset, out);
  if (version == 6) return parse_ipv6(frame, captured, l3.offset, out);
  return ParseStatus::kBadIpVersion;
}

bool link_type_from_pcap(uint32_t pcap_linktype, LinkType& out) {
  switch (pcap_linktype) {
    case uint32_t(LinkType::kNull):
    case uint32_t(LinkType::kEthernet):
    case uint32_t(LinkType::kRaw):
    case uint32_t(LinkType::kLoop):
    case uint32_t(LinkType::kLinuxSll):
    case uint32_t(LinkType::kIpv4):
    case uint32_t(LinkType::kIpv6):
    case uint32_t(LinkType::kLinuxSll2):
      out = LinkType(pcap_linktype);
      return true;
    default:
      return false;
  }
}

std::string_view link_type_name(LinkType t) {
  switch (t) {
    case LinkType::kNull: return "NULL";
    case LinkType::kEthernet: return "EN10MB";
    case LinkType::kRaw: return "RAW";
    case LinkType::kLoop: return "LOOP";
    case LinkType::kLinuxSll: return "LINUX_SLL";
    case LinkType::kIpv4: return "IPV4";
    case LinkType::kIpv6: return "IPV6";
    case LinkType::kLinuxSll2: return "LINUX_SLL2";
  }
  return "unknown";
}

std::string_view parse_status_name(ParseStatus s) {
  switch (s) {
    case ParseStatus::kOk: return "ok";
    case ParseStatus::kNotIp: return "not_ip";
    case ParseStatus::kTruncatedL2: return "truncated_l2";
    case ParseStatus::kTruncatedL3: return "truncated_l3";
    case ParseStatus::kTruncatedL4: return "truncated_l4";
    case ParseStatus::kBadIpVersion: return "bad_ip_version";
    case ParseStatus::kBadIpHeaderLength: return "bad_ip_header_length";
    case ParseStatus::kBadL4Header: return "bad_l4_header";
    case ParseStatus::kTooManyHeaders: return "too_many_headers";
    case ParseStatus::kCount: break;
  }
  return "unknown";
}

}  // namespace flowscore
