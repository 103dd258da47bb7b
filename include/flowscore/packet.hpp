// Packet parsing: one frame in, the fields flow tracking needs out.
// Every read is bounds-checked against the captured length; a frame that
// cannot be parsed yields a ParseStatus naming why, never an out-of-bounds read.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace flowscore {

// Link types flowscore understands. Values are the pcap LINKTYPE_* numbers
// (https://www.tcpdump.org/linktypes.html) so a pcap header maps directly.
// Ethernet and Linux cooked captures follow 802.1Q/802.1ad/0x9100 tags,
// Cisco VN-Tag and FabricPath, IEEE 802.1BR E-Tag, PPPoE sessions and MPLS
// label stacks (IP guessed from the first nibble after bottom of stack).
enum class LinkType : uint16_t {
  kNull = 0,        // BSD loopback: 4-byte host-order address family (either order accepted)
  kEthernet = 1,
  kRaw = 101,       // raw IPv4/IPv6, version from the first nibble
  kLoop = 108,      // OpenBSD loopback: 4-byte network-order address family
  kLinuxSll = 113,  // Linux cooked capture v1 (tcpdump -i any, older libpcap)
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276, // Linux cooked capture v2 (tcpdump -i any, libpcap >= 1.10)
};

// Maps a pcap link-type number to a LinkType; false when flowscore cannot parse it.
bool link_type_from_pcap(uint32_t pcap_linktype, LinkType& out);
std::string_view link_type_name(LinkType t);

// Why a frame was not flowed. kOk frames carry a valid ParsedPacket.
enum class ParseStatus : uint8_t {
  kOk = 0,
  kNotIp,              // ARP, LLDP, STP, PPP control, MPLS pseudowires, ...: counted, not flowed
  kTruncatedL2,        // captured length ends inside the link/VLAN/PPPoE/MPLS headers
  kTruncatedL3,        // ... inside the IPv4/IPv6 header or an extension header
  kTruncatedL4,        // ... before the L4 fields read: TCP through the window,
                       //     UDP/SCTP ports, ICMP type/code (not for later fragments)
  kBadIpVersion,       // version nibble disagrees with the link layer, or is not 4/6
  kBadIpHeaderLength,  // IPv4 IHL < 5, IP total length < header length, or an
                       // IPv6 extension header running past the payload length
  kBadL4Header,        // TCP data offset < 5, or the L4 header does not fit in
                       // the IP length (incl. RFC 1858 tiny first fragments)
  kTooManyHeaders,     // L2 tag/MPLS/extension-header chain longer than we follow
  kCount
};
std::string_view parse_status_name(ParseStatus s);

enum class Fragment : uint8_t {
  kNone = 0,   // not a fragment
  kFirst,      // offset 0 with more-fragments set: carries the L4 header
  kLater,      // offset > 0: no L4 header; ports come from the fragment map
};

// Address of either family; IPv4 lives in bytes[0..3], the rest stay zero.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// The first two IEEE 802.1Q / 802.1ad VLAN IDs of a frame, outermost first
// (EVE's "vlan", in Suricata's order), 12 bits each, and how many, in one
// word.
struct VlanIds {
  uint32_t bits = 0;
  unsigned count() const { return bits >> 24; }
  uint16_t id(unsigned i) const { return static_cast<uint16_t>(bits >> (12 * i) & 0xfff); }
  void push(uint16_t vid) {
    const unsigned n = count();
    if (n < 2) bits = (bits & 0xffffffu) | uint32_t{vid & 0xfffu} << (12 * n) | (n + 1) << 24;
  }
  friend bool operator==(VlanIds, VlanIds) = default;
};

// What the parser extracts from the OUTERMOST IP header and its L4 header.
// Tunnels (IP-in-IP, 6in4, GRE) are flowed on the outer header, like tshark's
// first ip.src/ip.dst.
struct ParsedPacket {
  IpAddress src;
  IpAddress dst;
  uint32_t l3_offset = 0;    // byte offset of the IP header in the frame
  uint32_t ip_len = 0;       // IP length from the header: IPv4 total length, IPv6 40 + payload length
  uint32_t payload_len = 0;  // L4 payload bytes per the IP length (not the captured length)
  uint32_t fragment_id = 0;  // IPv4 identification or IPv6 fragment identification
  uint16_t src_port = 0;     // TCP/UDP/SCTP ports; 0 when the protocol has none
  uint16_t dst_port = 0;
  uint16_t tcp_window = 0;   // raw window field (unscaled)
  uint8_t ip_version = 0;    // 4 or 6
  uint8_t proto = 0;         // L4 protocol after IPv6 extension headers
  uint8_t tcp_flags = 0;     // TCP byte 13: CWR ECE URG ACK PSH RST SYN FIN
  uint8_t tcp_header_len = 0;
  uint8_t icmp_type = 0;     // ICMP / ICMPv6 type and code
  uint8_t icmp_code = 0;
  Fragment fragment = Fragment::kNone;
  bool has_l4 = false;       // L4 header parsed (false for kLater fragments and unknown protos)
  VlanIds vlan;              // the frame's VLAN tags (C-tag, S-tag), before its IP header
};

// TCP flag bits (RFC 9293 §3.1, plus ECE/CWR from RFC 3168).
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08,
                         kAck = 0x10, kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
}

// Parses one frame. `captured` is the number of bytes present at `frame`.
// Lengths come from the IP header, not from `captured`: a snaplen-cut frame
// whose needed headers are present is kOk with its true ip_len/payload_len.
// Two zero length fields mean "the captured bytes": IPv4 total length 0
// (segmentation offload on the capturing host) and IPv6 payload length 0
// (jumbogram, RFC 2675, or offload) unless the next header is No Next Header.
// Bytes past the IP length (Ethernet padding) are never read as headers.
// On any status but kOk, `out` holds no meaning.
ParseStatus parse_frame(const uint8_t* frame, uint32_t captured, LinkType link, ParsedPacket& out);

// Frame length on the wire. The pcap PMD hands over only the captured bytes.
// A frame shorter than the capture's snap length was captured whole: its
// captured length is its wire length, whatever its IP header claims (a
// malformed or crafted IP length must not inflate byte counts). A frame cut
// at the snap length lost its tail: then the IP header's length is the best
// witness of its size (docs/FEATURES.md §4). snaplen 0 = frames are whole
// (live ports).
inline uint32_t wire_length(const ParsedPacket& p, uint32_t captured, uint32_t snaplen) {
  if (snaplen == 0 || captured < snaplen) return captured;
  const uint32_t from_ip = p.l3_offset + p.ip_len;
  return from_ip > captured ? from_ip : captured;
}

}  // namespace flowscore
