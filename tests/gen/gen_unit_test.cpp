// Unit tests for flowscore-gen's building blocks, each against an independent
// reference: RFC 1071's worked example and a 16-bit-at-a-time twin for the
// checksum, hand-written parsers for the payload shapes, the pcap-savefile
// layout for the writer.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "checksum.hpp"
#include "flow_builder.hpp"
#include "flow_script.hpp"
#include "frame_composer.hpp"
#include "label_file.hpp"
#include "payload.hpp"
#include "pcap_writer.hpp"
#include "rng.hpp"
#include "scenario.hpp"

namespace fg = flowscore::gen;

namespace {

// The obvious RFC 1071 §1 definition: 16-bit big-endian words, end-around carry.
uint16_t slow_checksum(const std::vector<uint8_t>& d) {
  uint32_t sum = 0;
  for (size_t i = 0; i < d.size(); i += 2) {
    const uint32_t word = (d[i] << 8) | (i + 1 < d.size() ? d[i + 1] : 0);
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t be16(const uint8_t* p) { return (p[0] << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }

std::vector<uint8_t> payload(fg::Payload kind, uint32_t len, uint32_t aux = 0, fg::Dir dir = fg::kToResponder) {
  std::vector<uint8_t> out(len + 16, 0xee);
  fg::PacketSpec p{0, aux, 0, 0, static_cast<uint16_t>(len), dir, 0, kind};
  fg::write_payload(out.data(), p, fg::PayloadContext{0x12345678, 1700000000123456, 7, 1600});
  for (size_t i = len; i < out.size(); ++i) EXPECT_EQ(out[i], 0xee) << "wrote past the payload";
  out.resize(len);
  return out;
}

}  // namespace

TEST(Checksum, Rfc1071WorkedExample) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(fg::checksum_finish(fg::checksum_partial(data, sizeof data)), static_cast<uint16_t>(~0xddf2));
}

TEST(Checksum, MatchesSixteenBitTwinOnRandomBuffers) {
  fg::Rng rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> d(rng.below(1600));
    for (auto& b : d) b = static_cast<uint8_t>(rng.next());
    ASSERT_EQ(fg::checksum_finish(fg::checksum_partial(d.data(), d.size())), slow_checksum(d))
        << "length " << d.size();
  }
}

TEST(Rng, SameSeedSameStreamOtherSeedOther) {
  fg::Rng a(42), b(42), c(43);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differ += x != c.next();
  }
  EXPECT_GT(differ, 95);
}

TEST(Rng, BoundedDrawsStayInRange) {
  fg::Rng rng(1);
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_LT(rng.below(7), 7u);
    const int64_t v = rng.between(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ASSERT_GE(rng.pareto(100, 1.2), 100.0);
  }
}

TEST(Rng, DistributionMeansAreRight) {
  fg::Rng rng(3);
  const int n = 400000;
  double exp_sum = 0, normal_sum = 0, normal_sq = 0, geo_sum = 0;
  for (int i = 0; i < n; ++i) {
    exp_sum += rng.exponential(5.0);
    const double z = rng.normal();
    normal_sum += z;
    normal_sq += z * z;
    geo_sum += static_cast<double>(rng.geometric(0.25));
  }
  EXPECT_NEAR(exp_sum / n, 5.0, 0.05);
  EXPECT_NEAR(normal_sum / n, 0.0, 0.01);
  EXPECT_NEAR(normal_sq / n, 1.0, 0.01);
  EXPECT_NEAR(geo_sum / n, 3.0, 0.05);  // (1-p)/p
}

TEST(Payload, HttpGetIsACompleteRequestOfExactSize) {
  for (uint32_t len : {fg::kHttpGetMinLen, 300u, 1400u}) {
    const auto p = payload(fg::Payload::kHttpGet, len);
    const std::string s(p.begin(), p.end());
    EXPECT_EQ(s.rfind("GET /", 0), 0u) << len;
    EXPECT_EQ(s.find("\r\n\r\n"), s.size() - 4) << "one head, ending exactly at the end";
  }
}

TEST(Payload, HttpResponseHeadDeclaresItsBody) {
  const uint32_t body = 5000;
  const uint32_t head = fg::http_response_head_len(body);
  const auto p = payload(fg::Payload::kHttpResponse, 1400, body, fg::kToInitiator);
  const std::string s(p.begin(), p.end());
  EXPECT_EQ(s.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(s.find("Content-Length: 5000\r\n"), std::string::npos);
  EXPECT_EQ(s.find("\r\n\r\n") + 4, head);
}

TEST(Payload, TlsClientHelloLengthsAreConsistent) {
  for (uint32_t len : {fg::kTlsClientHelloMinLen, 517u, 1200u}) {
    const auto p = payload(fg::Payload::kTlsClientHello, len);
    EXPECT_EQ(p[0], 22);                 // handshake record
    EXPECT_EQ(be16(&p[3]), len - 5);     // record length
    EXPECT_EQ(p[5], 1);                  // client_hello
    EXPECT_EQ((p[6] << 16) | be16(&p[7]), static_cast<int>(len - 9));
    // Walk the body to the extensions and check they end exactly at the end.
    size_t off = 9 + 2 + 32;
    off += 1 + p[off];                   // session id
    off += 2 + be16(&p[off]);            // cipher suites
    off += 1 + p[off];                   // compression methods
    const size_t ext_end = off + 2 + be16(&p[off]);
    EXPECT_EQ(ext_end, len);
    size_t e = off + 2;
    while (e < ext_end) e += 4 + be16(&p[e + 2]);
    EXPECT_EQ(e, ext_end) << "extensions tile the block";
  }
}

TEST(Payload, TlsServerFlightIsThreeRecordsFillingTheSegment) {
  const uint32_t len = 1400;
  const auto p = payload(fg::Payload::kTlsServerHello, len, 0, fg::kToInitiator);
  size_t off = 0;
  std::vector<int> types;
  while (off < len) {
    types.push_back(p[off]);
    off += 5 + be16(&p[off + 3]);
  }
  EXPECT_EQ(off, len);
  EXPECT_EQ(types, (std::vector<int>{22, 20, 23}));
}

TEST(Payload, DnsResponseCountsMatchItsRecords) {
  const uint32_t name = 20;
  for (uint32_t answers : {1u, 4u}) {
    const uint32_t len = fg::kDnsHeaderLen + name + fg::kDnsQuestionTail + answers * fg::kDnsARecordLen;
    const auto p = payload(fg::Payload::kDnsResponse, len, name, fg::kToInitiator);
    EXPECT_EQ(be16(&p[2]) & 0x8000, 0x8000u);  // QR
    EXPECT_EQ(be16(&p[4]), 1u);
    EXPECT_EQ(be16(&p[6]), answers);
    size_t off = fg::kDnsHeaderLen;
    while (p[off] != 0) off += 1 + p[off];
    EXPECT_EQ(off + 1, fg::kDnsHeaderLen + name) << "name has the planned wire length";
    off += 1 + 4;
    for (uint32_t i = 0; i < answers; ++i) off += 12 + be16(&p[off + 10]);
    EXPECT_EQ(off, len);
  }
  // A size that is not a whole number of A records becomes one TXT answer.
  const uint32_t len = 1301;  // 1301 - 36 = 1265 is not a multiple of 16
  const auto p = payload(fg::Payload::kDnsResponse, len, name, fg::kToInitiator);
  EXPECT_EQ(be16(&p[6]), 1u);
  const size_t rr = fg::kDnsHeaderLen + name + fg::kDnsQuestionTail;
  EXPECT_EQ(be16(&p[rr + 2]), 16u);  // TXT
  size_t off = rr + 12, end = rr + 12 + be16(&p[rr + 10]);
  while (off < end) off += 1 + p[off];
  EXPECT_EQ(off, end);
  EXPECT_EQ(end, len);
}

TEST(Payload, SshPacketsFrameThemselves) {
  for (fg::Payload kind : {fg::Payload::kSshKexInit, fg::Payload::kSshEcdhInit,
                           fg::Payload::kSshEcdhReply, fg::Payload::kSshNewKeys}) {
    const uint32_t len = kind == fg::Payload::kSshKexInit ? 1504
                         : kind == fg::Payload::kSshEcdhInit ? fg::kSshEcdhInitLen
                         : kind == fg::Payload::kSshEcdhReply ? fg::kSshEcdhReplyLen
                                                               : fg::kSshNewKeysLen;
    const auto p = payload(kind, len);
    size_t off = 0;
    while (off < len) {
      const uint32_t packet_len = be32(&p[off]);
      EXPECT_GE(p[off + 4], 4) << "padding of at least 4 bytes (RFC 4253 §6)";
      off += 4 + packet_len;
    }
    EXPECT_EQ(off, len);
  }
}

TEST(Payload, NtpCarriesModeAndTime) {
  const auto client = payload(fg::Payload::kNtp, fg::kNtpLen);
  const auto server = payload(fg::Payload::kNtp, fg::kNtpLen, 0, fg::kToInitiator);
  EXPECT_EQ(client[0] & 7, 3);
  EXPECT_EQ(server[0] & 7, 4);
  EXPECT_EQ(be32(&client[40]), 1700000000u + 2208988800u);  // seconds since 1900
}

TEST(Payload, SsdpMulticastIsACompleteNotifyOrSearch) {
  for (uint32_t len : {fg::kSsdpNotifyMinLen, 470u}) {
    const auto p = payload(fg::Payload::kSsdpMulticast, len, 0);
    const std::string text(p.begin(), p.end());
    EXPECT_EQ(text.rfind("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n", 0), 0u) << text;
    EXPECT_NE(text.find("\r\nNTS: ssdp:alive\r\n"), std::string::npos);
    EXPECT_EQ(text.find("\r\n\r\n"), len - 4) << "one head, ending exactly at the payload's end";
  }
  for (uint32_t len : {fg::kSsdpSearchMinLen, 200u}) {
    const auto p = payload(fg::Payload::kSsdpMulticast, len, 1);
    const std::string text(p.begin(), p.end());
    EXPECT_EQ(text.rfind("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n", 0), 0u) << text;
    EXPECT_NE(text.find("\r\nMAN: \"ssdp:discover\"\r\n"), std::string::npos);
    EXPECT_EQ(text.find("\r\n\r\n"), len - 4);
  }
}

// RFC 9000 §17.2 (long header), §17.3 (short), §16 (variable-length integers).
TEST(Payload, QuicHeadersParseAndConnectionIdsPair) {
  for (uint32_t len : {fg::kQuicLongMinLen, 1250u}) {
    for (uint32_t type : {0u, 2u}) {
      const auto p = payload(fg::Payload::kQuicLong, len, type);
      EXPECT_EQ(p[0] & 0xc0, 0xc0) << "long header, fixed bit";
      EXPECT_EQ((p[0] >> 4) & 3, type);
      EXPECT_EQ(be32(&p[1]), 1u) << "version 1";
      ASSERT_EQ(p[5], fg::kQuicCidLen);
      ASSERT_EQ(p[6 + fg::kQuicCidLen], fg::kQuicCidLen);
      size_t off = 7 + 2 * fg::kQuicCidLen;
      if (type == 0) {
        EXPECT_EQ(p[off++], 0) << "Initial: empty token";
      }
      ASSERT_EQ(p[off] >> 6, 1) << "2-byte varint";
      EXPECT_EQ(((p[off] & 0x3f) << 8 | p[off + 1]) + off + 2, len) << "Length covers the rest";
    }
  }
  const auto client_initial = payload(fg::Payload::kQuicLong, 1250, 0, fg::kToResponder);
  const auto server_initial = payload(fg::Payload::kQuicLong, 1250, 0, fg::kToInitiator);
  const auto client_short = payload(fg::Payload::kQuicShort, fg::kQuicShortMinLen, 0, fg::kToResponder);
  const auto server_short = payload(fg::Payload::kQuicShort, 1350, 0, fg::kToInitiator);
  auto cid = [](const std::vector<uint8_t>& p, size_t at) {
    return std::vector<uint8_t>(p.begin() + static_cast<long>(at), p.begin() + static_cast<long>(at + fg::kQuicCidLen));
  };
  const size_t dcid = 6, scid = 7 + fg::kQuicCidLen;
  EXPECT_EQ(cid(client_initial, dcid), cid(server_initial, scid)) << "each side addresses its peer";
  EXPECT_EQ(cid(server_initial, dcid), cid(client_initial, scid));
  EXPECT_EQ(client_short[0] & 0xc0, 0x40) << "short header, fixed bit";
  EXPECT_EQ(cid(client_short, 1), cid(client_initial, dcid));
  EXPECT_EQ(cid(server_short, 1), cid(server_initial, dcid));
}

TEST(FrameComposer, MulticastGroupsGetTheirMulticastMac) {
  fg::FlowAddressing a;
  a.initiator = fg::IpAddr{{192, 168, 1, 20}};
  a.responder = fg::IpAddr{{239, 255, 255, 250}};
  a.initiator_port = 1900;
  a.responder_port = 1900;
  a.proto = fg::kProtoUdp;
  fg::FrameComposer c;
  c.reset(a, 1);
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const fg::PacketSpec notify{0, 0, 0, 0, 400, fg::kToResponder, 0, fg::Payload::kSsdpMulticast};
  c.compose(notify, 0, frame.data());
  // RFC 1112 §6.4: 01:00:5e + the group's low 23 bits (0x7fffffa).
  EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.begin() + 6),
            (std::vector<uint8_t>{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa}));
  EXPECT_EQ(frame[6] & 1, 0) << "the sender's MAC stays unicast";
  a.ipv6 = true;
  a.initiator.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  a.responder.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};
  c.reset(a, 1);
  c.compose(notify, 0, frame.data());
  // RFC 2464 §7: 33:33 + the low 32 bits of ff02::fb.
  EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.begin() + 6),
            (std::vector<uint8_t>{0x33, 0x33, 0, 0, 0, 0xfb}));
}

// A partial view of a conversation, computed the obvious way: the packets a
// filter keeps, with both sides swapped when the responder's packet comes first.
struct View {
  fg::Script script;
  bool swapped;
};
template <class Keep>
View slow_view(const fg::Script& full, Keep keep) {
  View v{{}, false};
  for (const fg::PacketSpec& p : full)
    if (keep(p)) v.script.push_back(p);
  v.swapped = !v.script.empty() && v.script.front().dir == fg::kToInitiator;
  if (v.swapped)
    for (fg::PacketSpec& p : v.script) p.dir = p.dir == fg::kToResponder ? fg::kToInitiator : fg::kToResponder;
  return v;
}

bool same_packets(const fg::Script& a, const fg::Script& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].t_us != b[i].t_us || a[i].dir != b[i].dir || a[i].seq_rel != b[i].seq_rel ||
        a[i].ack_rel != b[i].ack_rel || a[i].payload_len != b[i].payload_len ||
        a[i].tcp_flags != b[i].tcp_flags || a[i].payload != b[i].payload)
      return false;
  return true;
}

TEST(FlowBuilder, PartialViewsKeepWhatTheCapturePointSeesAndItsFirstSender) {
  const fg::Scenario sc;
  const fg::IpAddr client{{10, 0, 0, 1}}, server{{93, 184, 216, 34}};
  for (int variant = 0; variant < 3; ++variant) {
    fg::Rng rng(7);
    fg::FlowAddressing a;
    fg::Script script;
    fg::FlowBuilder b(rng, sc, a, script, 1'000'000'000);
    b.set_endpoints(client, 40000, server, 443, fg::kProtoTcp);
    b.tcp_handshake();
    b.tcp_message(fg::kToResponder, 3000, fg::Payload::kTlsData, 0, fg::Payload::kTlsData, 1e7);
    b.tcp_message(fg::kToInitiator, 20000, fg::Payload::kTlsData, 0, fg::Payload::kTlsData, 1e7);
    fg::finish_script(script);
    const fg::Script full = script;
    const fg::FlowAddressing before = a;
    View want;
    if (variant == 0) {
      want = slow_view(full, [](const fg::PacketSpec& p) { return p.dir == fg::kToInitiator; });
      b.keep_direction(fg::kToInitiator);
    } else if (variant == 1) {
      want = slow_view(full, [](const fg::PacketSpec& p) { return p.dir == fg::kToResponder; });
      b.keep_direction(fg::kToResponder);
    } else {
      // Start the capture at the responder's first data segment.
      size_t i = 0;
      while (!(full[i].dir == fg::kToInitiator && full[i].payload_len > 0)) ++i;
      const int64_t cut = full[i].t_us;
      want = slow_view(full, [cut](const fg::PacketSpec& p) { return p.t_us >= cut; });
      b.drop_before(cut);
    }
    ASSERT_FALSE(want.script.empty());
    EXPECT_TRUE(same_packets(script, want.script)) << "variant " << variant;
    EXPECT_EQ(want.swapped, variant != 1);
    EXPECT_EQ(a.initiator, want.swapped ? before.responder : before.initiator);
    EXPECT_EQ(a.initiator_port, want.swapped ? before.responder_port : before.initiator_port);
    EXPECT_EQ(a.ttl[0], want.swapped ? before.ttl[1] : before.ttl[0]);
    EXPECT_EQ(a.tcp_window[0], want.swapped ? before.tcp_window[1] : before.tcp_window[0]);
    // The first captured frame comes from the new initiator.
    fg::FrameComposer c;
    c.reset(a, 3);
    std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
    c.compose(script.front(), 0, frame.data());
    EXPECT_EQ(std::vector<uint8_t>(frame.begin() + 26, frame.begin() + 30),
              std::vector<uint8_t>(a.initiator.bytes.begin(), a.initiator.bytes.begin() + 4));
  }
}

TEST(FrameComposer, TcpFrameChecksumsVerifyAndShortFramesArePadded) {
  fg::FlowAddressing a;
  a.initiator = fg::IpAddr{{10, 0, 0, 1}};
  a.responder = fg::IpAddr{{93, 184, 216, 34}};
  a.initiator_port = 40000;
  a.responder_port = 443;
  a.proto = fg::kProtoTcp;
  fg::FrameComposer c;
  c.reset(a, 99);
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const fg::PacketSpec syn{0, 0, 0, 0, 0, fg::kToResponder, fg::tcp::kSyn, fg::Payload::kOpaque};
  uint32_t len = c.compose(syn, 0, frame.data());
  EXPECT_EQ(len, 14u + 20 + 32);  // MSS/WS/SACK-permitted options
  const fg::PacketSpec ack{0, 0, 1, 1, 0, fg::kToResponder, fg::tcp::kAck, fg::Payload::kOpaque};
  len = c.compose(ack, 0, frame.data());
  EXPECT_EQ(len, 60u) << "Ethernet minimum without FCS";
  const fg::PacketSpec data{0, 0, 1, 1, 700, fg::kToInitiator, fg::tcp::kAck, fg::Payload::kTlsData};
  len = c.compose(data, 0, frame.data());
  ASSERT_EQ(len, 14u + 20 + 20 + 700);
  const uint8_t* ip = frame.data() + 14;
  EXPECT_EQ(be16(frame.data() + 12), 0x0800u);
  EXPECT_EQ(slow_checksum(std::vector<uint8_t>(ip, ip + 20)), 0) << "IPv4 header checksum";
  // TCP: pseudo-header + segment sums to 0xffff when the checksum is right.
  std::vector<uint8_t> pseudo(ip + 12, ip + 20);
  pseudo.insert(pseudo.end(), {0, 6, static_cast<uint8_t>((720) >> 8), static_cast<uint8_t>(720 & 0xff)});
  pseudo.insert(pseudo.end(), ip + 20, ip + 20 + 720);
  EXPECT_EQ(slow_checksum(pseudo), 0);
  EXPECT_EQ(ip[12], 93) << "responder -> initiator";
}

TEST(FrameComposer, VlanTaggedIpv6UdpChecksumVerifies) {
  fg::FlowAddressing a;
  a.ipv6 = true;
  a.vlan = 42;
  a.initiator.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  a.responder.bytes = {0x2a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  a.initiator_port = 50000;
  a.responder_port = 53;
  a.proto = fg::kProtoUdp;
  fg::FrameComposer c;
  c.reset(a, 5);
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const uint32_t qlen = fg::kDnsHeaderLen + 20 + fg::kDnsQuestionTail;
  const fg::PacketSpec q{0, 20, 0, 0, static_cast<uint16_t>(qlen), fg::kToResponder, 0, fg::Payload::kDnsQuery};
  const uint32_t len = c.compose(q, 0, frame.data());
  ASSERT_EQ(len, 18u + 40 + 8 + qlen);
  EXPECT_EQ(be16(frame.data() + 12), 0x8100u);
  EXPECT_EQ(be16(frame.data() + 14) & 0x0fff, 42u);
  EXPECT_EQ(be16(frame.data() + 16), 0x86ddu);
  const uint8_t* ip = frame.data() + 18;
  const uint32_t l4 = 8 + qlen;
  std::vector<uint8_t> pseudo(ip + 8, ip + 40);
  pseudo.insert(pseudo.end(), {0, 0, static_cast<uint8_t>(l4 >> 8), static_cast<uint8_t>(l4), 0, 0, 0, 17});
  pseudo.insert(pseudo.end(), ip + 40, ip + 40 + l4);
  EXPECT_EQ(slow_checksum(pseudo), 0);
}

TEST(LabelFile, FormatsBothFamiliesAndMicroseconds) {
  fg::LabelRow r;
  r.src = fg::IpAddr{{192, 168, 1, 7}};
  r.dst = fg::IpAddr{{8, 8, 8, 8}};
  r.src_port = 51000;
  r.dst_port = 53;
  r.proto = 17;
  r.start_us = 1700000000000042;
  r.end_us = 1700000001500000;
  std::string out;
  fg::append_label_line(out, r, "benign", "dns");
  EXPECT_EQ(out, "benign,dns,17,192.168.1.7,51000,8.8.8.8,53,1700000000.000042,1700000001.500000\n");
  r.ipv6 = true;
  r.src.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  r.dst.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22};
  out.clear();
  fg::append_label_line(out, r, "benign", "dns");
  EXPECT_EQ(out.substr(0, 40), "benign,dns,17,2001:db8::1,51000,fe80::22");
}

TEST(PcapWriter, WritesTheSavefileLayout) {
  const std::string path = ::testing::TempDir() + "/gen_writer_test.pcap";
  {
    fg::PcapWriter w(path, 1 << 16);
    for (int i = 0; i < 3000; ++i) {  // more than one buffer's worth
      uint8_t* f = w.frame_slot();
      std::memset(f, i & 0xff, 60);
      w.commit(1700000000000000LL + i, 60);
    }
    w.close();
  }
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(d.size(), 24u + 3000 * (16 + 60));
  auto le32 = [&](size_t o) { return d[o] | d[o + 1] << 8 | d[o + 2] << 16 | static_cast<uint32_t>(d[o + 3]) << 24; };
  EXPECT_EQ(le32(0), 0xa1b2c3d4u);
  EXPECT_EQ(le32(20), 1u);  // LINKTYPE_ETHERNET
  const size_t last = 24 + 2999 * 76;
  EXPECT_EQ(le32(last), 1700000000u);
  EXPECT_EQ(le32(last + 4), 2999u);
  EXPECT_EQ(le32(last + 8), 60u);
  EXPECT_EQ(d[last + 16], 2999 & 0xff);
  std::remove(path.c_str());
}

TEST(PcapWriter, UnwritablePathIsAClearError) {
  try {
    fg::PcapWriter w("/nonexistent-dir/x.pcap");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.pcap"), std::string::npos);
  }
}

namespace {

// Walks an IKEv2 message's payload chain (RFC 7296 §3.2) and returns the
// bytes it covers after the header; -1 if a length runs past the message.
// An Encrypted payload (46) is the last one: its "next" names the first
// payload inside the ciphertext (§3.14).
int64_t ike_chain_len(const uint8_t* msg, size_t len) {
  uint8_t next = msg[16];
  size_t off = fg::kIkeHeaderLen;
  while (next != 0) {
    if (off + 4 > len) return -1;
    const uint32_t plen = be16(msg + off + 2);
    if (plen < 4 || off + plen > len) return -1;
    const uint8_t type = next;
    next = type == 46 ? 0 : msg[off];
    off += plen;
  }
  return static_cast<int64_t>(off - fg::kIkeHeaderLen);
}

fg::FrameComposer composer_for(uint8_t proto, fg::IpAddr from, fg::IpAddr to, uint16_t sport = 0,
                               uint16_t dport = 0) {
  fg::FlowAddressing a;
  a.initiator = from;
  a.responder = to;
  a.initiator_port = sport;
  a.responder_port = dport;
  a.proto = proto;
  a.ttl = {1, 64};
  fg::FrameComposer c;
  c.reset(a, 77);
  return c;
}

}  // namespace

TEST(FrameComposer, IgmpCarriesRouterAlertAndItsOwnChecksum) {
  auto c = composer_for(fg::kProtoIgmp, fg::IpAddr{{10, 0, 0, 7}}, fg::IpAddr{{224, 0, 0, 22}});
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const uint32_t records = 3, igmp_len = fg::kIgmpV3ReportHeaderLen + records * fg::kIgmpV3RecordLen;
  const fg::PacketSpec report{0, 2 | (1u << 8), 0, 0, static_cast<uint16_t>(igmp_len), fg::kToResponder, 0,
                              fg::Payload::kIgmpV3Report};
  const uint32_t len = c.compose(report, 0, frame.data());
  ASSERT_EQ(len, 14u + 24 + igmp_len);
  // RFC 1112 §6.4: 224.0.0.22 -> 01:00:5e:00:00:16.
  EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.begin() + 6),
            (std::vector<uint8_t>{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}));
  const uint8_t* ip = frame.data() + 14;
  EXPECT_EQ(ip[0], 0x46) << "IHL 6: Router Alert";
  EXPECT_EQ(be32(ip + 20), 0x94040000u) << "RFC 2113 option";
  EXPECT_EQ(be16(ip + 2), 24u + igmp_len);
  EXPECT_EQ(ip[8], 1) << "TTL 1";
  EXPECT_EQ(ip[9], 2);
  EXPECT_EQ(slow_checksum(std::vector<uint8_t>(ip, ip + 24)), 0) << "IPv4 header checksum with option";
  const uint8_t* igmp = ip + 24;
  // No pseudo-header: the message alone sums to zero (RFC 3376 §4.2.3).
  EXPECT_EQ(slow_checksum(std::vector<uint8_t>(igmp, igmp + igmp_len)), 0);
  EXPECT_EQ(igmp[0], 0x22);
  EXPECT_EQ(be16(igmp + 6), records);
  for (uint32_t i = 0; i < records; ++i) {
    const uint8_t* r = igmp + 8 + i * 8;
    EXPECT_EQ(r[0], 2) << "MODE_IS_EXCLUDE";
    EXPECT_EQ(be16(r + 2), 0u) << "no sources";
    EXPECT_EQ(be32(r + 4), fg::igmp_common_group(1 + i));
    EXPECT_EQ(r[4] & 0xf0, 0xe0) << "a multicast group";
  }

  // v2 leave to 224.0.0.2 names the group it leaves; v3 query is 12 bytes.
  c = composer_for(fg::kProtoIgmp, fg::IpAddr{{10, 0, 0, 7}}, fg::IpAddr{{224, 0, 0, 2}});
  const fg::PacketSpec leave{0, 0xeffffffa, 0, 0, fg::kIgmpV2Len, fg::kToResponder, 0, fg::Payload::kIgmpLeave};
  EXPECT_EQ(c.compose(leave, 0, frame.data()), 60u) << "padded to the Ethernet minimum";
  EXPECT_EQ(igmp[0], 0x17);
  EXPECT_EQ(be32(igmp + 4), 0xeffffffau);
  EXPECT_EQ(slow_checksum(std::vector<uint8_t>(igmp, igmp + 8)), 0);
  c = composer_for(fg::kProtoIgmp, fg::IpAddr{{10, 0, 0, 1}}, fg::IpAddr{{224, 0, 0, 1}});
  const fg::PacketSpec query{0, 3, 0, 0, fg::kIgmpV3QueryLen, fg::kToResponder, 0, fg::Payload::kIgmpQuery};
  c.compose(query, 0, frame.data());
  EXPECT_EQ(igmp[0], 0x11);
  EXPECT_EQ(igmp[1], 100) << "Max Resp Code: 10 s";
  EXPECT_EQ(be32(igmp + 4), 0u) << "general query";
  EXPECT_EQ(igmp[9], 125) << "QQIC";
  EXPECT_EQ(slow_checksum(std::vector<uint8_t>(igmp, igmp + 12)), 0);
}

TEST(FrameComposer, EspHasAnSpiPerDirectionAndCountsEachSa) {
  auto c = composer_for(fg::kProtoEsp, fg::IpAddr{{10, 0, 0, 7}}, fg::IpAddr{{198, 51, 100, 9}});
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const uint32_t esp = fg::esp_len(1400, false);
  uint32_t spi[2] = {0, 0};
  const fg::Dir dirs[] = {fg::kToResponder, fg::kToResponder, fg::kToInitiator, fg::kToResponder,
                          fg::kToInitiator};
  uint32_t expect_seq[2] = {1, 1};
  for (fg::Dir d : dirs) {
    const fg::PacketSpec p{0, 0, 0, 0, static_cast<uint16_t>(esp), d, 0, fg::Payload::kEsp};
    ASSERT_EQ(c.compose(p, 0, frame.data()), 14u + 20 + esp);
    const uint8_t* ip = frame.data() + 14;
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(ip[9], 50);
    EXPECT_EQ(be16(ip + 2), 20u + esp);
    EXPECT_EQ(slow_checksum(std::vector<uint8_t>(ip, ip + 20)), 0);
    if (spi[d] == 0) spi[d] = be32(ip + 20);
    EXPECT_EQ(be32(ip + 20), spi[d]) << "one SA per direction";
    EXPECT_GT(be32(ip + 20), 255u) << "SPIs 1-255 are reserved";
    EXPECT_EQ(be32(ip + 24), expect_seq[d]++);
  }
  EXPECT_NE(spi[0], spi[1]);
  // AES-CBC: IV, whole 16-byte blocks holding the packet and its 2-byte
  // trailer, 12-byte ICV; AES-GCM: 8-byte IV, 4-byte alignment, 16-byte ICV.
  for (uint32_t inner : {40u, 52u, 1000u, 1400u}) {
    const uint32_t ct = fg::esp_len(inner, false) - 8 - 16 - 12;
    EXPECT_EQ(ct % 16, 0u);
    EXPECT_GE(ct, inner + 2);
    EXPECT_LT(ct, inner + 2 + 16);
    const uint32_t gcm = fg::esp_len(inner, true) - 8 - 8 - 16;
    EXPECT_EQ(gcm % 4, 0u);
    EXPECT_GE(gcm, inner + 2);
  }
}

TEST(FrameComposer, NatTraversalCarriesIkeEspAndKeepalivesInUdp4500) {
  auto c = composer_for(fg::kProtoUdp, fg::IpAddr{{10, 0, 0, 7}}, fg::IpAddr{{198, 51, 100, 9}}, 40000, 4500);
  std::vector<uint8_t> frame(fg::PcapWriter::kMaxFrame);
  const uint8_t* ip = frame.data() + 14;
  const uint8_t* udp = ip + 20;
  auto udp_checksum_ok = [&](uint32_t l4) {
    std::vector<uint8_t> pseudo(ip + 12, ip + 20);
    pseudo.insert(pseudo.end(), {0, 17, static_cast<uint8_t>(l4 >> 8), static_cast<uint8_t>(l4)});
    pseudo.insert(pseudo.end(), udp, udp + l4);
    return slow_checksum(pseudo) == 0;
  };
  const uint32_t auth = fg::ike_encrypted_len(500) + fg::kNonEspMarkerLen;
  const fg::PacketSpec ike{0, fg::kIkeAuth | fg::kIkeNatT | (1u << 16), 0, 0, static_cast<uint16_t>(auth),
                           fg::kToResponder, 0, fg::Payload::kIke};
  c.compose(ike, 0, frame.data());
  EXPECT_TRUE(udp_checksum_ok(8 + auth));
  EXPECT_EQ(be32(udp + 8), 0u) << "non-ESP marker (RFC 3948 §2.2)";
  const uint8_t* msg = udp + 12;
  EXPECT_EQ(msg[16], 46) << "Encrypted and Authenticated";
  EXPECT_EQ(msg[17], 0x20);
  EXPECT_EQ(msg[18], fg::kIkeAuth);
  EXPECT_EQ(msg[19], 0x08) << "from the original initiator, a request";
  EXPECT_EQ(be32(msg + 20), 1u) << "message id";
  EXPECT_EQ(be32(msg + 24), auth - 4) << "IKE length excludes the marker";
  EXPECT_EQ(ike_chain_len(msg, auth - 4), static_cast<int64_t>(auth - 4 - fg::kIkeHeaderLen));

  const fg::PacketSpec esp{0, 0, 0, 0, static_cast<uint16_t>(fg::esp_len(100, false)), fg::kToInitiator, 0,
                           fg::Payload::kEsp};
  c.compose(esp, 0, frame.data());
  EXPECT_NE(be32(udp + 8), 0u) << "an SPI, never the marker";
  EXPECT_EQ(be32(udp + 12), 1u);
  EXPECT_TRUE(udp_checksum_ok(8 + esp.payload_len));

  const fg::PacketSpec keepalive{0, 0, 0, 0, fg::kNatKeepaliveLen, fg::kToResponder, 0, fg::Payload::kNatKeepalive};
  EXPECT_EQ(c.compose(keepalive, 0, frame.data()), 60u);
  EXPECT_EQ(be16(udp + 4), 9u);
  EXPECT_EQ(udp[8], 0xff) << "RFC 3948 §2.3";
  EXPECT_TRUE(udp_checksum_ok(9));
}

TEST(Payload, IkeSaInitPayloadChainFillsTheMessage) {
  for (uint32_t len : {fg::kIkeSaInitMinLen, 300u, 776u, 1100u}) {
    for (uint32_t aux : {fg::kIkeSaInit, fg::kIkeSaInit | fg::kIkeResponse}) {
      const auto m = payload(fg::Payload::kIke, len, aux,
                             aux & fg::kIkeResponse ? fg::kToInitiator : fg::kToResponder);
      EXPECT_EQ(be32(m.data() + 24), len);
      EXPECT_EQ(m[16], 33) << "SA first";
      EXPECT_EQ(m[18], 34);
      EXPECT_EQ(m[19], aux & fg::kIkeResponse ? 0x20 : 0x08);
      EXPECT_EQ(be32(m.data() + 8) == 0 && be32(m.data() + 12) == 0, !(aux & fg::kIkeResponse))
          << "the responder's SPI is zero only in the request";
      EXPECT_EQ(ike_chain_len(m.data(), len), static_cast<int64_t>(len - fg::kIkeHeaderLen)) << len;
    }
  }
  // A cookie answer (RFC 7296 §2.6): one COOKIE notify.
  const uint32_t cookie = fg::kIkeHeaderLen + 8 + 16;
  const auto m = payload(fg::Payload::kIke, cookie, fg::kIkeSaInit | fg::kIkeResponse, fg::kToInitiator);
  EXPECT_EQ(m[16], 41);
  EXPECT_EQ(be16(m.data() + fg::kIkeHeaderLen + 6), 16390u);
  EXPECT_EQ(ike_chain_len(m.data(), cookie), static_cast<int64_t>(cookie - fg::kIkeHeaderLen));
  // DPD probe: an empty INFORMATIONAL, the smallest encrypted message.
  const auto dpd = payload(fg::Payload::kIke, fg::kIkeEncryptedMinLen, fg::kIkeInformational | (5u << 16));
  EXPECT_EQ(fg::kIkeEncryptedMinLen, 76u);
  EXPECT_EQ(dpd[16], 46);
  EXPECT_EQ(dpd[fg::kIkeHeaderLen], 0) << "nothing inside";
  EXPECT_EQ(be32(dpd.data() + 20), 5u);
}
