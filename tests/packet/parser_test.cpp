// parse_frame on crafted frames: every link type and header path, malformed
// headers, truncation at every byte, and random input. Frames come from
// frames.hpp; expected values are the literals written into them.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <string>

#include "flowscore/packet.hpp"
#include "frames.hpp"

namespace flowscore {
namespace {

using namespace test;

// Parses from an exactly-sized heap copy, so that AddressSanitizer and
// valgrind flag any read past `captured`.
ParseStatus parse(const Bytes& frame, LinkType link, ParsedPacket& out,
                  size_t captured = SIZE_MAX) {
  const size_t n = std::min(captured, frame.size());
  std::unique_ptr<uint8_t[]> copy(new uint8_t[n]);
  std::copy(frame.begin(), frame.begin() + std::ptrdiff_t(n), copy.get());
  return parse_frame(copy.get(), uint32_t(n), link, out);
}

IpAddress addr(const Ip4& a) {
  IpAddress r;
  std::copy(a.begin(), a.end(), r.bytes.begin());
  return r;
}
IpAddress addr(const Ip6& a) {
  IpAddress r;
  r.bytes = a;
  return r;
}

constexpr uint8_t kSynAck = tcp_flag::kSyn | tcp_flag::kAck;

// Ethernet / IPv4 / TCP with 12 bytes of options and 100 bytes of payload.
Bytes eth_ipv4_tcp() {
  const Bytes l4 = cat({tcp(49152, 443, kSynAck, 64240, 8), filler(100)});
  return cat({ethernet(0x0800), ipv4(6, l4.size()), l4});
}

TEST(ParseFrame, EthernetIpv4TcpFields) {
  ParsedPacket p;
  ASSERT_EQ(parse(eth_ipv4_tcp(), LinkType::kEthernet, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.l3_offset, 14u);
  EXPECT_EQ(p.src, addr(kSrc4));
  EXPECT_EQ(p.dst, addr(kDst4));
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.src_port, 49152);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.tcp_flags, kSynAck);
  EXPECT_EQ(p.tcp_window, 64240);
  EXPECT_EQ(p.tcp_header_len, 32);
  EXPECT_EQ(p.ip_len, 20u + 32 + 100);
  EXPECT_EQ(p.payload_len, 100u);
  EXPECT_EQ(p.fragment, Fragment::kNone);
  EXPECT_EQ(p.fragment_id, 0x1234u);
  EXPECT_TRUE(p.has_l4);
}

TEST(ParseFrame, UdpSctpIcmp) {
  ParsedPacket p;
  const Bytes u = cat({udp(5353, 53, 30), filler(30)});
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(17, u.size()), u}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.proto, 17);
  EXPECT_EQ(p.src_port, 5353);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.payload_len, 30u);
  EXPECT_TRUE(p.has_l4);

  const Bytes s = cat({sctp(2905, 2944), filler(16)});
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(132, s.size()), s}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.proto, 132);
  EXPECT_EQ(p.src_port, 2905);
  EXPECT_EQ(p.dst_port, 2944);
  EXPECT_EQ(p.payload_len, 16u);

  const Bytes i = cat({icmp(3, 3), filler(28)});
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(1, i.size()), i}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.proto, 1);
  EXPECT_EQ(p.icmp_type, 3);
  EXPECT_EQ(p.icmp_code, 3);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.payload_len, 28u);
  EXPECT_TRUE(p.has_l4);

  const Bytes i6 = cat({icmp(135, 0), filler(16)});
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(58, uint16_t(i6.size())), i6}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.proto, 58);
  EXPECT_EQ(p.icmp_type, 135);
  EXPECT_EQ(p.src, addr(kSrc6));
  EXPECT_EQ(p.dst, addr(kDst6));
  EXPECT_EQ(p.ip_len, 40u + 24);
  EXPECT_EQ(p.payload_len, 16u);
}

TEST(ParseFrame, OtherProtocolsAreFlowedOnTheIpHeaderWithoutPorts) {
  for (uint8_t proto : {47 /*GRE*/, 4 /*IP-in-IP*/, 41 /*6in4*/, 50 /*ESP*/, 89 /*OSPF*/}) {
    const Bytes inner = filler(60);
    ParsedPacket p;
    ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(proto, inner.size()), inner}),
                    LinkType::kEthernet, p),
              ParseStatus::kOk);
    EXPECT_EQ(p.proto, proto);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.src_port, 0);
    EXPECT_EQ(p.dst_port, 0);
    EXPECT_EQ(p.payload_len, 60u);
    EXPECT_EQ(p.src, addr(kSrc4));  // outer header
  }
}

TEST(ParseFrame, Ipv4OptionsMoveTheL4Header) {
  Ipv4Options o;
  o.options = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00};  // router alert + NOPs + EOL
  const Bytes l4 = tcp(1, 2, tcp_flag::kRst, 0);
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(6, l4.size(), o), l4}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(p.dst_port, 2);
  EXPECT_EQ(p.tcp_flags, tcp_flag::kRst);
  EXPECT_EQ(p.ip_len, 48u);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(ParseFrame, L2TagsAreSkipped) {
  const Bytes l4 = udp(1000, 2000, 0);
  const Bytes ip = cat({ipv4(17, l4.size()), l4});
  struct Case {
    Bytes l2;
    uint32_t l3_offset;
    std::vector<uint16_t> vlans;  // the VLAN IDs kept: the first two, outermost first
  };
  const Case cases[] = {
      {cat({ethernet(0x8100), vlan_tag(100, 0x0800)}), 18, {100}},                       // 802.1Q
      {cat({ethernet(0x88A8), vlan_tag(10, 0x8100), vlan_tag(20, 0x0800)}), 22, {10, 20}},  // 802.1ad
      {cat({ethernet(0x9100), vlan_tag(10, 0x8100), vlan_tag(20, 0x0800)}), 22, {10, 20}},  // old QinQ
      {cat({ethernet(0x8100), vlan_tag(1, 0x8100), vlan_tag(2, 0x8100), vlan_tag(3, 0x8100),
            vlan_tag(4095, 0x0800)}),
       30, {1, 2}},  // four tags: the most we follow
      {cat({ethernet(0x8926), l2_shim(4, 0x8100), vlan_tag(20, 0x0800)}), 24, {20}},  // VN-Tag
      {cat({ethernet(0x893F), l2_shim(6, 0x0800)}), 22, {}},                          // 802.1BR E-Tag
      {cat({ethernet(0x8903), l2_shim(14, 0x8100), vlan_tag(30, 0x0800)}), 34, {30}},  // FabricPath
      {cat({ethernet(0x0800)}), 14, {}},
  };
  for (const Case& c : cases) {
    ParsedPacket p;
    ASSERT_EQ(parse(cat({c.l2, ip}), LinkType::kEthernet, p), ParseStatus::kOk);
    EXPECT_EQ(p.l3_offset, c.l3_offset);
    ASSERT_EQ(p.vlan.count(), c.vlans.size());
    for (size_t i = 0; i < c.vlans.size(); ++i) EXPECT_EQ(p.vlan.id(static_cast<unsigned>(i)), c.vlans[i]);
    EXPECT_EQ(p.src_port, 1000);
    EXPECT_EQ(p.dst_port, 2000);
  }
  ParsedPacket p;
  const Bytes five_tags = cat({ethernet(0x8100), vlan_tag(1, 0x8100), vlan_tag(2, 0x8100),
                               vlan_tag(3, 0x8100), vlan_tag(4, 0x8100), vlan_tag(5, 0x0800), ip});
  EXPECT_EQ(parse(five_tags, LinkType::kEthernet, p), ParseStatus::kTooManyHeaders);
}

TEST(ParseFrame, MplsLabelStacksAreSkippedToBottomOfStack) {
  const Bytes l4 = tcp(80, 50000, tcp_flag::kAck, 512);
  const Bytes ip4 = cat({ipv4(6, l4.size()), l4});
  const Bytes ip6 = cat({ipv6(6, uint16_t(l4.size())), l4});
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x8847), mpls_label(16, true), ip4}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 18u);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src_port, 80);

  ASSERT_EQ(parse(cat({ethernet(0x8848), mpls_label(16, false), mpls_label(17, false),
                       mpls_label(18, true), ip6}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 26u);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.dst_port, 50000);

  ASSERT_EQ(parse(cat({ethernet(0x8100), vlan_tag(7, 0x8847), mpls_label(3, true), ip4}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 22u);

  // A pseudowire control word (first nibble 0, RFC 4385) is not IP.
  EXPECT_EQ(parse(cat({ethernet(0x8847), mpls_label(16, true), zeros(4), ethernet(0x0800), ip4}),
                  LinkType::kEthernet, p),
            ParseStatus::kNotIp);

  Bytes nine = ethernet(0x8847);
  for (int i = 0; i < 8; ++i) nine = cat({nine, mpls_label(100 + i, false)});
  EXPECT_EQ(parse(cat({nine, mpls_label(200, true), ip4}), LinkType::kEthernet, p),
            ParseStatus::kTooManyHeaders);
  // Bottom of stack never reached within the capture.
  EXPECT_EQ(parse(cat({ethernet(0x8847), mpls_label(1, false), mpls_label(2, false)}),
                  LinkType::kEthernet, p),
            ParseStatus::kTruncatedL2);
}

TEST(ParseFrame, PppoeSession) {
  const Bytes l4 = udp(67, 68, 4);
  const Bytes ip = cat({ipv4(17, l4.size() + 4), l4, filler(4)});
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x8864), pppoe_session(0x0021, uint16_t(ip.size() + 2)), ip}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 22u);
  EXPECT_EQ(p.src_port, 67);
  const Bytes ip6 = cat({ipv6(17, uint16_t(l4.size())), l4});
  ASSERT_EQ(parse(cat({ethernet(0x8100), vlan_tag(5, 0x8864), pppoe_session(0x0057, 50), ip6}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 26u);
  EXPECT_EQ(p.ip_version, 6);
  // LCP (0xC021) is PPP control traffic, not IP.
  EXPECT_EQ(parse(cat({ethernet(0x8864), pppoe_session(0xC021, 10), filler(10)}),
                  LinkType::kEthernet, p),
            ParseStatus::kNotIp);
}

TEST(ParseFrame, NonIpEthernet) {
  ParsedPacket p;
  EXPECT_EQ(parse(cat({ethernet(0x0806), filler(28)}), LinkType::kEthernet, p),
            ParseStatus::kNotIp);  // ARP
  EXPECT_EQ(parse(cat({ethernet(0x88CC), filler(40)}), LinkType::kEthernet, p),
            ParseStatus::kNotIp);  // LLDP
  EXPECT_EQ(parse(cat({ethernet(0x0026), {0x42, 0x42, 0x03}, filler(35)}), LinkType::kEthernet, p),
            ParseStatus::kNotIp);  // 802.3 length + LLC (STP)
  EXPECT_EQ(parse(ethernet(0x0800), LinkType::kEthernet, p), ParseStatus::kTruncatedL3);
  EXPECT_EQ(parse(ethernet(0x0800), LinkType::kEthernet, p, 13), ParseStatus::kTruncatedL2);
}

TEST(ParseFrame, LinuxCookedV1AndV2) {
  const Bytes l4 = tcp(22, 60000, tcp_flag::kPsh | tcp_flag::kAck, 1024);
  const Bytes ip4 = cat({ipv4(6, l4.size()), l4});
  const Bytes ip6 = cat({ipv6(6, uint16_t(l4.size())), l4});
  ParsedPacket p;
  ASSERT_EQ(parse(cat({sll(0x0800), ip4}), LinkType::kLinuxSll, p), ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 16u);
  EXPECT_EQ(p.src_port, 22);
  ASSERT_EQ(parse(cat({sll(0x86DD), ip6}), LinkType::kLinuxSll, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  ASSERT_EQ(parse(cat({sll(0x8100), vlan_tag(9, 0x0800), ip4}), LinkType::kLinuxSll, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 20u);
  EXPECT_EQ(parse(cat({sll(0x0806), filler(28)}), LinkType::kLinuxSll, p), ParseStatus::kNotIp);
  EXPECT_EQ(parse(sll(0x0800), LinkType::kLinuxSll, p, 15), ParseStatus::kTruncatedL2);

  ASSERT_EQ(parse(cat({sll2(0x0800), ip4}), LinkType::kLinuxSll2, p), ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 20u);
  EXPECT_EQ(p.dst_port, 60000);
  ASSERT_EQ(parse(cat({sll2(0x86DD), ip6}), LinkType::kLinuxSll2, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(parse(cat({sll2(0x0806), filler(28)}), LinkType::kLinuxSll2, p), ParseStatus::kNotIp);
  EXPECT_EQ(parse(sll2(0x0800), LinkType::kLinuxSll2, p, 19), ParseStatus::kTruncatedL2);
}

TEST(ParseFrame, RawIpLinkTypes) {
  const Bytes l4 = udp(123, 123, 48);
  const Bytes ip4 = cat({ipv4(17, l4.size() + 48), l4, filler(48)});
  const Bytes ip6 = cat({ipv6(17, uint16_t(l4.size() + 48)), l4, filler(48)});
  ParsedPacket p;
  ASSERT_EQ(parse(ip4, LinkType::kRaw, p), ParseStatus::kOk);
  EXPECT_EQ(p.l3_offset, 0u);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.payload_len, 48u);
  ASSERT_EQ(parse(ip6, LinkType::kRaw, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(parse(ip4, LinkType::kIpv4, p), ParseStatus::kOk);
  EXPECT_EQ(parse(ip6, LinkType::kIpv6, p), ParseStatus::kOk);
  EXPECT_EQ(parse(ip6, LinkType::kIpv4, p), ParseStatus::kBadIpVersion);
  EXPECT_EQ(parse(ip4, LinkType::kIpv6, p), ParseStatus::kBadIpVersion);
  Bytes v5 = ip4;
  v5[0] = 0x55;
  EXPECT_EQ(parse(v5, LinkType::kRaw, p), ParseStatus::kBadIpVersion);
  EXPECT_EQ(parse(cat({ethernet(0x0800), ip6}), LinkType::kEthernet, p),
            ParseStatus::kBadIpVersion);
  EXPECT_EQ(parse(ip4, LinkType::kRaw, p, 0), ParseStatus::kTruncatedL3);
}

TEST(ParseFrame, NullLoopbackAcceptsEitherByteOrder) {
  const Bytes l4 = tcp(5000, 6379, tcp_flag::kSyn, 65535);
  const Bytes ip4 = cat({ipv4(6, l4.size()), l4});
  const Bytes ip6 = cat({ipv6(6, uint16_t(l4.size())), l4});
  ParsedPacket p;
  for (const Bytes& af : {u32_le(2), u32_be(2)}) {
    ASSERT_EQ(parse(cat({af, ip4}), LinkType::kNull, p), ParseStatus::kOk);
    EXPECT_EQ(p.l3_offset, 4u);
    EXPECT_EQ(p.dst_port, 6379);
  }
  for (uint32_t af6 : {24u, 28u, 30u}) {
    for (const Bytes& af : {u32_le(af6), u32_be(af6)}) {
      ASSERT_EQ(parse(cat({af, ip6}), LinkType::kNull, p), ParseStatus::kOk) << af6;
      EXPECT_EQ(p.ip_version, 6);
    }
  }
  EXPECT_EQ(parse(cat({u32_le(7), ip4}), LinkType::kNull, p), ParseStatus::kNotIp);  // AF_ISO
  EXPECT_EQ(parse(cat({u32_le(0), ip4}), LinkType::kNull, p), ParseStatus::kNotIp);
  EXPECT_EQ(parse(cat({u32_le(2), ip6}), LinkType::kNull, p), ParseStatus::kBadIpVersion);
  EXPECT_EQ(parse(u32_le(2), LinkType::kNull, p, 3), ParseStatus::kTruncatedL2);

  // LOOP is network byte order only.
  ASSERT_EQ(parse(cat({u32_be(2), ip4}), LinkType::kLoop, p), ParseStatus::kOk);
  ASSERT_EQ(parse(cat({u32_be(24), ip6}), LinkType::kLoop, p), ParseStatus::kOk);
  EXPECT_EQ(parse(cat({u32_le(2), ip4}), LinkType::kLoop, p), ParseStatus::kNotIp);
  EXPECT_EQ(parse(u32_be(2), LinkType::kLoop, p, 2), ParseStatus::kTruncatedL2);
}

TEST(ParseFrame, Ipv4Fragments) {
  const Bytes l4 = cat({udp(53, 40000, 1472), filler(1472)});
  Ipv4Options first;
  first.id = 0xBEEF;
  first.more_fragments = true;
  const Bytes first_payload(l4.begin(), l4.begin() + 1480);
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(17, 1480, first), first_payload}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.fragment, Fragment::kFirst);
  EXPECT_EQ(p.fragment_id, 0xBEEFu);
  EXPECT_TRUE(p.has_l4);
  EXPECT_EQ(p.src_port, 53);
  EXPECT_EQ(p.dst_port, 40000);
  EXPECT_EQ(p.payload_len, 1480u - 8);

  for (bool more : {true, false}) {  // a middle and the last fragment
    Ipv4Options later;
    later.id = 0xBEEF;
    later.more_fragments = more;
    later.fragment_offset_units = 185;
    const Bytes rest = filler(more ? 1480 : 72);
    ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(17, rest.size(), later), rest}),
                    LinkType::kEthernet, p),
              ParseStatus::kOk);
    EXPECT_EQ(p.fragment, Fragment::kLater);
    EXPECT_EQ(p.fragment_id, 0xBEEFu);
    EXPECT_EQ(p.proto, 17);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.src_port, 0);
    EXPECT_EQ(p.dst_port, 0);
    EXPECT_EQ(p.payload_len, rest.size());
  }
}

TEST(ParseFrame, Ipv6ExtensionHeaderChain) {
  const Bytes l4 = cat({tcp(443, 51000, tcp_flag::kFin | tcp_flag::kAck, 300), filler(10)});
  const Bytes chain = cat({ipv6_ext(43, 0), ipv6_ext(60, 2), ipv6_ext(6, 1)});  // HBH, routing, dst
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(0, uint16_t(chain.size() + l4.size())), chain, l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.src_port, 443);
  EXPECT_EQ(p.dst_port, 51000);
  EXPECT_EQ(p.tcp_flags, tcp_flag::kFin | tcp_flag::kAck);
  EXPECT_EQ(p.ip_len, 40u + 8 + 24 + 16 + 30);
  EXPECT_EQ(p.payload_len, 10u);

  // AH: (len + 2) * 4 bytes, RFC 4302 §2.2. len 4 = 24 bytes (96-bit ICV).
  const Bytes ah = ipv6_ah(6, 4);
  ASSERT_EQ(ah.size(), 24u);
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(51, uint16_t(ah.size() + l4.size())), ah, l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.src_port, 443);
  EXPECT_EQ(p.payload_len, 10u);
}

TEST(ParseFrame, Ipv6ChainStopsAtEspNoNextAndUnknown) {
  for (uint8_t last : {50, 59, 253}) {
    const Bytes rest = filler(32);
    const Bytes hbh = ipv6_ext(last, 0);
    ParsedPacket p;
    ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(0, uint16_t(hbh.size() + rest.size())), hbh,
                         rest}),
                    LinkType::kEthernet, p),
              ParseStatus::kOk);
    EXPECT_EQ(p.proto, last);
    EXPECT_FALSE(p.has_l4);
    EXPECT_EQ(p.payload_len, 32u);
  }
}

TEST(ParseFrame, Ipv6Fragments) {
  const Bytes l4 = udp(5060, 5060, 200);
  ParsedPacket p;
  const Bytes first = cat({ipv6_fragment(17, 0, true, 0xDEADBEEF), l4, filler(96)});
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(44, uint16_t(first.size())), first}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.fragment, Fragment::kFirst);
  EXPECT_EQ(p.fragment_id, 0xDEADBEEFu);
  EXPECT_TRUE(p.has_l4);
  EXPECT_EQ(p.src_port, 5060);
  EXPECT_EQ(p.payload_len, 96u);

  const Bytes later = cat({ipv6_fragment(17, 13, false, 0xDEADBEEF), filler(104)});
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(44, uint16_t(later.size())), later}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.fragment, Fragment::kLater);
  EXPECT_EQ(p.fragment_id, 0xDEADBEEFu);
  EXPECT_EQ(p.proto, 17);
  EXPECT_FALSE(p.has_l4);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.payload_len, 104u);

  // Destination options after the fragment header (RFC 8200 §4.1 order).
  const Bytes after = cat({ipv6_fragment(60, 0, true, 7), ipv6_ext(17, 0), l4, filler(200)});
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(44, uint16_t(after.size())), after}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.fragment, Fragment::kFirst);
  EXPECT_EQ(p.dst_port, 5060);

  // Atomic fragment (offset 0, M clear; RFC 6946) is a whole packet.
  const Bytes atomic = cat({ipv6_fragment(17, 0, false, 9), l4, filler(200)});
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(44, uint16_t(atomic.size())), atomic}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.fragment, Fragment::kNone);
  EXPECT_EQ(p.fragment_id, 9u);
  EXPECT_TRUE(p.has_l4);
}

TEST(ParseFrame, Ipv6ChainIsBounded) {
  const Bytes l4 = udp(1, 2, 0);
  Bytes chain;
  for (int i = 0; i < 8; ++i) chain = cat({chain, ipv6_ext(60, 0)});
  Bytes eight = chain;
  eight[eight.size() - 8] = 17;  // the eighth header ends the chain
  ParsedPacket p;
  EXPECT_EQ(parse(cat({ethernet(0x86DD), ipv6(60, uint16_t(eight.size() + 8)), eight, l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kOk);
  const Bytes nine = cat({chain, ipv6_ext(17, 0)});
  EXPECT_EQ(parse(cat({ethernet(0x86DD), ipv6(60, uint16_t(nine.size() + 8)), nine, l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kTooManyHeaders);
}

TEST(ParseFrame, Ipv6ExtensionLengthBeyondPayloadIsBad) {
  // HBH claims 255 * 8 + 8 bytes; the payload length says 16.
  Bytes hbh = ipv6_ext(6, 0);
  hbh[1] = 255;
  ParsedPacket p;
  EXPECT_EQ(parse(cat({ethernet(0x86DD), ipv6(0, 16), hbh, filler(2048)}), LinkType::kEthernet, p),
            ParseStatus::kBadIpHeaderLength);
  // Fragment header cut by the payload length.
  EXPECT_EQ(parse(cat({ethernet(0x86DD), ipv6(44, 4), ipv6_fragment(17, 0, true, 1), filler(8)}),
                  LinkType::kEthernet, p),
            ParseStatus::kBadIpHeaderLength);
  // Same chain, payload length honest but capture too short: truncated, not bad.
  EXPECT_EQ(parse(cat({ethernet(0x86DD), ipv6(0, 2048), hbh, filler(100)}), LinkType::kEthernet, p),
            ParseStatus::kTruncatedL3);
}

TEST(ParseFrame, Ipv6PayloadLengthZero) {
  const Bytes l4 = cat({tcp(1, 2, tcp_flag::kAck, 9), filler(100)});
  // Jumbogram (RFC 2675): hop-by-hop first, payload length 0.
  Bytes jumbo_hbh = {6, 0, 0xC2, 4, 0, 0, 0, 0};
  ParsedPacket p;
  const Bytes jumbo = cat({ethernet(0x86DD), ipv6(0, 0), jumbo_hbh, l4});
  ASSERT_EQ(parse(jumbo, LinkType::kEthernet, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_len, jumbo.size() - 14);
  EXPECT_EQ(p.payload_len, 100u);
  // No Next Header with payload length 0 is an empty packet, padding excluded.
  ASSERT_EQ(parse(cat({ethernet(0x86DD), ipv6(59, 0), zeros(6)}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.ip_len, 40u);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(ParseFrame, Ipv4HeaderLengthErrors) {
  const Bytes l4 = tcp(1, 2, 0, 0);
  ParsedPacket p;
  for (int ihl : {0, 1, 4}) {
    Ipv4Options o;
    o.ihl = ihl;
    EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, l4.size(), o), l4}), LinkType::kEthernet, p),
              ParseStatus::kBadIpHeaderLength)
        << ihl;
  }
  Ipv4Options short_total;
  short_total.total_length = 19;
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, l4.size(), short_total), l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kBadIpHeaderLength);
  Ipv4Options options_past_total;
  options_past_total.options = zeros(8);
  options_past_total.total_length = 24;
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, l4.size(), options_past_total), l4}),
                  LinkType::kEthernet, p),
            ParseStatus::kBadIpHeaderLength);
  // IHL says options that the capture does not hold.
  Ipv4Options big_ihl;
  big_ihl.ihl = 15;
  big_ihl.total_length = 1500;
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, 0, big_ihl), zeros(20)}), LinkType::kEthernet, p),
            ParseStatus::kTruncatedL3);
}

TEST(ParseFrame, Ipv4TotalLengthZeroMeansCapturedLength) {
  // Captured on a host with TCP segmentation offload: total length 0.
  const Bytes l4 = cat({tcp(5001, 40000, tcp_flag::kAck, 500), filler(3000)});
  Ipv4Options tso;
  tso.total_length = 0;
  ParsedPacket p;
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(6, l4.size(), tso), l4}), LinkType::kEthernet, p),
            ParseStatus::kOk);
  EXPECT_EQ(p.ip_len, 20u + 20 + 3000);
  EXPECT_EQ(p.payload_len, 3000u);
}

TEST(ParseFrame, L4HeaderErrors) {
  ParsedPacket p;
  for (uint8_t doff : {0, 1, 4}) {
    Bytes t = tcp(1, 2, tcp_flag::kSyn, 0);
    t[12] = uint8_t(doff << 4);
    EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, t.size()), t}), LinkType::kEthernet, p),
              ParseStatus::kBadL4Header)
        << int(doff);
  }
  // Data offset 15 (60 bytes) in a 20-byte TCP segment.
  Bytes t = tcp(1, 2, tcp_flag::kSyn, 0);
  t[12] = 0xF0;
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, t.size()), t, zeros(40)}), LinkType::kEthernet, p),
            ParseStatus::kBadL4Header);
  // RFC 1858 tiny first fragment: 8 bytes of TCP header in the fragment.
  Ipv4Options tiny;
  tiny.more_fragments = true;
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(6, 8, tiny), tcp(1, 2, 0, 0)}), LinkType::kEthernet,
                  p),
            ParseStatus::kBadL4Header);
  // UDP header longer than the IP payload; the frame's padding must not be read as UDP.
  EXPECT_EQ(parse(cat({ethernet(0x0800), ipv4(17, 4), udp(1, 2, 0), zeros(18)}),
                  LinkType::kEthernet, p),
            ParseStatus::kBadL4Header);
}

TEST(ParseFrame, SnaplenTruncatedPacketStillParses) {
  // 1500-byte packet captured with a 54-byte snaplen: headers present.
  const Bytes l4 = cat({tcp(40000, 80, tcp_flag::kAck, 1000), filler(1460)});
  const Bytes frame = cat({ethernet(0x0800), ipv4(6, l4.size()), l4});
  ParsedPacket p;
  ASSERT_EQ(parse(frame, LinkType::kEthernet, p, 54), ParseStatus::kOk);
  EXPECT_EQ(p.ip_len, 1500u);
  EXPECT_EQ(p.payload_len, 1460u);
  EXPECT_EQ(wire_length(p, 54, 54), 1514u);  // cut at the snap length: the IP length witnesses the rest
  EXPECT_EQ(wire_length(p, 54, 0), 54u);     // live: frames are whole
  // TCP options not captured: ports and flags are, so still fine.
  const Bytes opt = cat({tcp(40000, 80, tcp_flag::kSyn, 1000, 10)});
  ASSERT_EQ(parse(cat({ethernet(0x0800), ipv4(6, opt.size()), opt}), LinkType::kEthernet, p, 54),
            ParseStatus::kOk);
  EXPECT_EQ(p.tcp_header_len, 40);
  EXPECT_EQ(p.payload_len, 0u);
}

TEST(ParseFrame, EthernetPaddingIsNotPayload) {
  const Bytes l4 = tcp(40000, 80, tcp_flag::kAck, 1000);
  const Bytes frame = cat({ethernet(0x0800), ipv4(6, l4.size()), l4, zeros(6)});  // 60-byte minimum
  ParsedPacket p;
  ASSERT_EQ(parse(frame, LinkType::kEthernet, p), ParseStatus::kOk);
  EXPECT_EQ(p.ip_len, 40u);
  EXPECT_EQ(p.payload_len, 0u);
  EXPECT_EQ(wire_length(p, uint32_t(frame.size()), 65535), 60u);
}

TEST(ParseFrame, AnIpLengthLargerThanAWholeFrameDoesNotInflateItsWireLength) {
  // A 1514-byte frame, captured whole under a 65535 snap length, whose IPv4
  // header claims 65000 bytes (crafted or corrupt): the frame is 1514 bytes.
  const Bytes l4 = cat({tcp(40000, 80, tcp_flag::kAck, 1000), filler(1460)});
  Bytes frame = cat({ethernet(0x0800), ipv4(6, l4.size()), l4});
  frame[14 + 2] = 0xfd, frame[14 + 3] = 0xe8;  // total length 65000
  ParsedPacket p;
  ASSERT_EQ(parse(frame, LinkType::kEthernet, p), ParseStatus::kOk);
  EXPECT_EQ(wire_length(p, uint32_t(frame.size()), 65535), 1514u);
}

TEST(ParseFrame, OutputIsResetBetweenFrames) {
  ParsedPacket p;
  ASSERT_EQ(parse(eth_ipv4_tcp(), LinkType::kEthernet, p), ParseStatus::kOk);
  const Bytes other = cat({ethernet(0x86DD), ipv6(59, 0)});
  ASSERT_EQ(parse(other, LinkType::kEthernet, p), ParseStatus::kOk);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.tcp_flags, 0);
  EXPECT_EQ(p.fragment_id, 0u);
  EXPECT_FALSE(p.has_l4);
  EXPECT_EQ(parse(cat({ethernet(0x0806), filler(28)}), LinkType::kEthernet, p),
            ParseStatus::kNotIp);
  EXPECT_EQ(p.ip_version, 0);
}

// Truncation sweep: for every captured length, the status is the layer the
// capture ends in (from where the builder put each header), and once the
// needed headers are in, the fields equal those of the whole frame.
struct Layout {
  const char* name;
  LinkType link;
  Bytes frame;
  uint32_t l3_start;   // below: kTruncatedL2
  uint32_t l4_start;   // below: kTruncatedL3
  uint32_t l4_needed;  // L4 bytes through the last field read; below l4_start + this: kTruncatedL4
};

std::vector<Layout> truncation_layouts() {
  std::vector<Layout> out;
  {
    const Bytes l4 = cat({tcp(1234, 80, tcp_flag::kSyn, 8192, 6), filler(20)});
    Ipv4Options o;
    o.options = {1, 1, 1, 0};
    out.push_back({"eth/ipv4+opts/tcp", LinkType::kEthernet,
                   cat({ethernet(0x0800), ipv4(6, l4.size(), o), l4}), 14, 14 + 24, 16});
  }
  {
    const Bytes l4 = cat({tcp(443, 1234, tcp_flag::kAck, 100), filler(20)});
    const Bytes chain = cat({ipv6_ext(44, 1), ipv6_fragment(60, 0, true, 77), ipv6_ext(6, 0)});
    out.push_back({"qinq/ipv6/hbh+frag+dst/tcp", LinkType::kEthernet,
                   cat({ethernet(0x88A8), vlan_tag(1, 0x8100), vlan_tag(2, 0x86DD),
                        ipv6(0, uint16_t(chain.size() + l4.size())), chain, l4}),
                   22, 22 + 40 + 16 + 8 + 8, 16});
  }
  {
    const Bytes l4 = cat({udp(53, 53, 10), filler(10)});
    out.push_back({"vlan/mpls/ipv4/udp", LinkType::kEthernet,
                   cat({ethernet(0x8100), vlan_tag(3, 0x8847), mpls_label(1, false),
                        mpls_label(2, true), ipv4(17, l4.size()), l4}),
                   26, 26 + 20, 4});
  }
  {
    const Bytes l4 = cat({icmp(128, 0), filler(8)});
    const Bytes ah = ipv6_ah(58, 4);
    out.push_back({"sll2/ipv6/ah/icmpv6", LinkType::kLinuxSll2,
                   cat({sll2(0x86DD), ipv6(51, uint16_t(ah.size() + l4.size())), ah, l4}), 20,
                   20 + 40 + 24, 2});
  }
  {
    const Bytes l4 = sctp(1, 2);
    out.push_back({"null/ipv4/sctp", LinkType::kNull, cat({u32_le(2), ipv4(132, l4.size()), l4}),
                   4, 4 + 20, 4});
  }
  return out;
}

TEST(ParseFrame, TruncatedAtEveryByte) {
  for (const Layout& l : truncation_layouts()) {
    ParsedPacket whole;
    ASSERT_EQ(parse(l.frame, l.link, whole), ParseStatus::kOk) << l.name;
    for (size_t n = 0; n <= l.frame.size(); ++n) {
      ParseStatus want = ParseStatus::kOk;
      if (n < l.l3_start) {
        want = ParseStatus::kTruncatedL2;
      } else if (n < l.l4_start) {
        want = ParseStatus::kTruncatedL3;
      } else if (n < l.l4_start + l.l4_needed) {
        want = ParseStatus::kTruncatedL4;
      }
      ParsedPacket p;
      ASSERT_EQ(parse(l.frame, l.link, p, n), want) << l.name << " captured " << n;
      if (want != ParseStatus::kOk) continue;
      EXPECT_EQ(p.src, whole.src);
      EXPECT_EQ(p.dst, whole.dst);
      EXPECT_EQ(p.proto, whole.proto);
      EXPECT_EQ(p.src_port, whole.src_port);
      EXPECT_EQ(p.dst_port, whole.dst_port);
      EXPECT_EQ(p.tcp_flags, whole.tcp_flags);
      EXPECT_EQ(p.tcp_window, whole.tcp_window);
      EXPECT_EQ(p.icmp_code, whole.icmp_code);
      EXPECT_EQ(p.icmp_type, whole.icmp_type);
      EXPECT_EQ(p.ip_len, whole.ip_len);
      EXPECT_EQ(p.payload_len, whole.payload_len);
      EXPECT_EQ(p.fragment, whole.fragment);
    }
  }
}

constexpr LinkType kAllLinkTypes[] = {LinkType::kNull,     LinkType::kEthernet, LinkType::kRaw,
                                      LinkType::kLoop,     LinkType::kLinuxSll, LinkType::kIpv4,
                                      LinkType::kIpv6,     LinkType::kLinuxSll2};

// What every kOk result must satisfy, whatever the input.
void expect_consistent(const ParsedPacket& p, uint32_t captured) {
  EXPECT_TRUE(p.ip_version == 4 || p.ip_version == 6);
  EXPECT_LT(p.l3_offset, captured);
  EXPECT_LE(p.payload_len, p.ip_len);
  if (!p.has_l4) {
    EXPECT_EQ(p.src_port, 0);
    EXPECT_EQ(p.dst_port, 0);
  }
  if (p.fragment == Fragment::kLater) {
    EXPECT_FALSE(p.has_l4);
  }
}

TEST(ParseFrameProperty, RandomBytesNeverCrash) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<uint32_t> len(0, 200);
  size_t ok = 0;
  for (int i = 0; i < 200000; ++i) {
    Bytes b(len(rng));
    for (auto& x : b) x = uint8_t(byte(rng));
    // Steer a quarter of the inputs towards IP so the deep paths get random input too.
    if (b.size() > 20 && i % 4 == 0) b[i % 3 == 0 ? 14 : 0] = uint8_t(i % 8 == 0 ? 0x45 : 0x60);
    for (LinkType link : kAllLinkTypes) {
      ParsedPacket p;
      const ParseStatus s = parse(b, link, p);
      ASSERT_LT(uint8_t(s), uint8_t(ParseStatus::kCount));
      if (s == ParseStatus::kOk) {
        ++ok;
        expect_consistent(p, uint32_t(b.size()));
      }
    }
  }
  EXPECT_GT(ok, 0u);  // the steering reached the parsed-OK paths
}

TEST(ParseFrameProperty, MutatedValidFramesNeverCrash) {
  std::mt19937 rng(7);
  std::set<ParseStatus> seen;
  for (const Layout& l : truncation_layouts()) {
    std::uniform_int_distribution<size_t> pos(0, l.frame.size() - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 20000; ++i) {
      Bytes b = l.frame;
      for (int k = 0; k < 1 + i % 4; ++k) b[pos(rng)] = uint8_t(byte(rng));
      const size_t captured = std::uniform_int_distribution<size_t>(0, b.size())(rng);
      ParsedPacket p;
      const ParseStatus s = parse(b, l.link, p, captured);
      ASSERT_LT(uint8_t(s), uint8_t(ParseStatus::kCount));
      seen.insert(s);
      if (s == ParseStatus::kOk) expect_consistent(p, uint32_t(captured));
    }
  }
  EXPECT_GE(seen.size(), 7u);  // mutations reach most statuses, not just one
}

TEST(LinkTypes, FromPcapAndNames) {
  std::set<std::string_view> names;
  for (LinkType t : kAllLinkTypes) {
    LinkType back;
    ASSERT_TRUE(link_type_from_pcap(uint32_t(t), back));
    EXPECT_EQ(back, t);
    names.insert(link_type_name(t));
  }
  EXPECT_EQ(names.size(), std::size(kAllLinkTypes));
  EXPECT_EQ(link_type_name(LinkType::kEthernet), "EN10MB");  // libpcap's name
  LinkType unused;
  for (uint32_t unsupported : {9u /*PPP*/, 12u /*DLT_RAW, not a LINKTYPE*/, 105u /*802.11*/,
                               127u /*radiotap*/, 104u /*C-HDLC*/, 65535u}) {
    EXPECT_FALSE(link_type_from_pcap(unsupported, unused)) << unsupported;
  }
}

TEST(ParseStatusNames, DistinctForEveryStatus) {
  std::set<std::string_view> names;
  for (uint8_t s = 0; s < uint8_t(ParseStatus::kCount); ++s) {
    const auto name = parse_status_name(ParseStatus(s));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), size_t(ParseStatus::kCount));
}

}  // namespace
}  // namespace flowscore
