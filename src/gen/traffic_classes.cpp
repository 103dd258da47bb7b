#include "traffic_classes.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "payload.hpp"

namespace flowscore::gen {
namespace {

using tcp::kAck;
using tcp::kFin;
using tcp::kPsh;
using tcp::kRst;
using tcp::kSyn;
using tcp::kUrg;

// A server of one of the scenario's pools: popular ones more often.
const IpAddr& pick_server(FlowBuilder& b, const std::vector<IpAddr>& pool) {
  return pool[b.sc.server_index(b.rng, pool.size())];
}

// Hosts come back to a server: a page opens several connections to one
// site, a host asks its resolver again. The class's flows arrive moments
// apart, so repeating the previous flow's two hosts (revisit_share of the
// time) makes the bursts of one pair that pair_flows sees (FEATURES.md §7a).
void visit(FlowBuilder& b, Campaign& c, const std::vector<IpAddr>& pool, uint16_t port, uint8_t proto) {
  if (c.visited && c.revisit_share > 0 && b.rng.chance(c.revisit_share)) {
    b.addr.ipv6 = c.visit_ipv6;
    b.set_endpoints(c.visit_client, b.ephemeral_port(), c.visit_server, port, proto);
    return;
  }
  b.client_to_server(pick_server(b, pool), port, proto, true);
  c.visited = true;
  c.visit_ipv6 = b.addr.ipv6;
  c.visit_client = b.addr.initiator;
  c.visit_server = b.addr.responder;
}

uint32_t clamp_u32(double v, double lo, double hi) {
  return static_cast<uint32_t>(std::clamp(v, lo, hi));
}

bool bench(const FlowBuilder& b) { return b.sc.profile == Profile::kBench; }

// Web object sizes: a lognormal body with a Pareto tail, the shape measured
// for HTTP responses since Crovella & Bestavros (1997).
uint64_t object_size(FlowBuilder& b) {
  const Scenario& sc = b.sc;
  const double cap = bench(b) ? 4e6 : 50e6;
  if (b.rng.chance(sc.object_tail_share))
    return static_cast<uint64_t>(std::min(b.rng.pareto(sc.object_tail_min, sc.object_tail_alpha), cap));
  return static_cast<uint64_t>(
      std::clamp(b.rng.lognormal(sc.object_median, sc.object_sigma), 40.0, sc.object_tail_min));
}

double think_seconds(FlowBuilder& b) {
  return std::min(b.rng.lognormal(b.sc.think_median_s, b.sc.think_sigma), 60.0);
}

double link_rate_bps(FlowBuilder& b) { return b.rng.lognormal(b.sc.bulk_rate_mbps, 0.8) * 1e6; }

uint32_t requests_in_connection(FlowBuilder& b) {
  const double mean = bench(b) ? 1.3 : b.sc.requests_per_conn;
  return 1 + static_cast<uint32_t>(b.rng.geometric(1.0 / mean));
}

// --- benign ---------------------------------------------------------------

void http_exchange(FlowBuilder& b) {
  const uint32_t request = clamp_u32(b.rng.lognormal(b.sc.request_median, 0.35), kHttpGetMinLen,
                                     b.addr.mss);
  b.send(kToResponder, kPsh | kAck, request, Payload::kHttpGet);
  b.t += b.rtt + static_cast<int64_t>(b.rng.exponential(3000));
  const uint64_t body = object_size(b);
  const uint32_t body32 = static_cast<uint32_t>(body);
  b.tcp_message(kToInitiator, http_response_head_len(body32) + body, Payload::kHttpResponse,
                body32, Payload::kOpaque, link_rate_bps(b));
}

void build_web_http(FlowBuilder& b, Campaign& c) {
  visit(b, c, b.sc.web_servers, 80, kProtoTcp);
  b.tcp_handshake();
  b.t += b.host_delay;
  const uint32_t requests = requests_in_connection(b);
  for (uint32_t i = 0; i < requests && !b.past_horizon(); ++i) {
    if (i > 0) b.wait_seconds(think_seconds(b));
    http_exchange(b);
  }
  b.tcp_end();
}

// TLS 1.3 opening: ClientHello, the server's flight (hello, encrypted
// certificate chain), the client's Finished.
void tls_handshake(FlowBuilder& b) {
  b.t += b.host_delay;
  const uint32_t hello = clamp_u32(b.rng.lognormal(517, 0.25), kTlsClientHelloMinLen, b.addr.mss);
  b.send(kToResponder, kPsh | kAck, hello, Payload::kTlsClientHello);
  b.t += b.rtt;
  const uint64_t flight = clamp_u32(b.rng.lognormal(4200, 0.35), kTlsServerHelloMinLen, 16000);
  // One record per segment, so every segment stands alone for a dissector.
  b.tcp_message(kToInitiator, flight, Payload::kTlsServerHello, 0, Payload::kTlsData, 50e6);
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, clamp_u32(b.rng.uniform(64, 160), kTlsDataMinLen, 1000),
         Payload::kTlsData);
}

void tls_exchange(FlowBuilder& b, uint64_t request, uint64_t response, double rate_bps) {
  b.tcp_message(kToResponder, std::max<uint64_t>(request, kTlsDataMinLen), Payload::kTlsData, 0,
                Payload::kTlsData, 50e6);
  b.t += b.rtt + static_cast<int64_t>(b.rng.exponential(3000)) - b.rtt / 2;
  b.tcp_message(kToInitiator, std::max<uint64_t>(response, kTlsDataMinLen), Payload::kTlsData, 0,
                Payload::kTlsData, rate_bps);
}

void build_web_tls(FlowBuilder& b, Campaign& c) {
  visit(b, c, b.sc.web_servers, 443, kProtoTcp);
  b.tcp_handshake();
  tls_handshake(b);
  const uint32_t requests = requests_in_connection(b);
  for (uint32_t i = 0; i < requests && !b.past_horizon(); ++i) {
    b.wait_seconds(i > 0 ? think_seconds(b) : 0.0005);
    const uint64_t request = static_cast<uint64_t>(b.rng.lognormal(b.sc.request_median, 0.35)) + 22;
    tls_exchange(b, request, object_size(b) + 22, link_rate_bps(b));
  }
  b.tcp_end();
}

// Name-length and answer-count draws keep query and response consistent.
void dns_exchange(FlowBuilder& b, int64_t answer_delay) {
  const uint32_t name = clamp_u32(b.rng.lognormal(24, 0.35), kDnsMinNameLen, 80);
  const uint32_t query = kDnsHeaderLen + name + kDnsQuestionTail;
  b.send(kToResponder, 0, query, Payload::kDnsQuery, name);
  if (b.rng.chance(0.03)) {  // lost or slow: the stub resolver retries after 1 s
    b.t += 1000000;
    b.send(kToResponder, 0, query, Payload::kDnsQuery, name);
  }
  b.t += answer_delay;
  const uint32_t answers = static_cast<uint32_t>(b.rng.between(1, 6));
  b.send(kToInitiator, 0, query + answers * kDnsARecordLen, Payload::kDnsResponse, name);
}

void build_dns(FlowBuilder& b, Campaign& c) {
  visit(b, c, b.sc.dns_resolvers, 53, kProtoUdp);
  // A cache hit answers at LAN speed; a miss costs the resolver's recursion.
  const int64_t delay = b.rng.chance(0.7) ? static_cast<int64_t>(b.rng.uniform(300, 3000))
                                          : b.rtt * 2 + static_cast<int64_t>(b.rng.exponential(20000));
  dns_exchange(b, delay);
}

void build_video(FlowBuilder& b, Campaign& c) {
  visit(b, c, b.sc.cdn_servers, 443, kProtoTcp);
  b.tcp_handshake();
  tls_handshake(b);
  // Adaptive streaming: one segment request every few seconds, each answered
  // by a burst at the path rate.
  const double bitrate = b.rng.lognormal(2.5e6, 0.6);
  const double segment_s = b.rng.uniform(2, 6);
  const double seconds = std::min(b.rng.lognormal(bench(b) ? 8 : 30, 0.8), bench(b) ? 30.0 : 600.0);
  const double burst_bps = std::max(bitrate * 3, link_rate_bps(b) * 3);
  const int64_t start = b.t;
  while (b.t - start < static_cast<int64_t>(seconds * 1e6) && !b.past_horizon()) {
    const int64_t segment_start = b.t;
    tls_exchange(b, static_cast<uint64_t>(b.rng.uniform(300, 600)),
                 static_cast<uint64_t>(b.rng.jitter(bitrate * segment_s / 8, 0.3)), burst_bps);
    b.t = std::max(b.t, segment_start + static_cast<int64_t>(b.rng.jitter(segment_s, 0.1) * 1e6));
  }
  b.tcp_end();
}

void build_upload(FlowBuilder& b, Campaign&) {
  b.client_to_server(pick_server(b, b.sc.upload_servers), 443, kProtoTcp, true);
  b.tcp_handshake();
  tls_handshake(b);
  const double size = std::min(b.rng.lognormal(bench(b) ? 300e3 : 3e6, 1.0), bench(b) ? 3e6 : 100e6);
  b.tcp_message(kToResponder, static_cast<uint64_t>(size), Payload::kTlsData, 0, Payload::kTlsData,
                link_rate_bps(b));
  b.t += b.rtt;
  b.send(kToInitiator, kPsh | kAck, clamp_u32(b.rng.uniform(80, 600), kTlsDataMinLen, 1400),
         Payload::kTlsData);
  b.tcp_end();
}

// SSH transport set-up (RFC 4253 §4.2, §7; RFC 5656 §4): banners, KEXINITs,
// ECDH, NEWKEYS, then `auth_rounds` encrypted request/reply pairs.
void ssh_setup(FlowBuilder& b, uint32_t client_banner, uint32_t client_kexinit,
               uint32_t auth_rounds, uint32_t auth_size) {
  b.t += b.rtt;  // the server speaks first
  b.send(kToInitiator, kPsh | kAck, clamp_u32(b.rng.uniform(32, 42), kSshBannerMinLen, 255),
         Payload::kSshBanner);
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, client_banner, Payload::kSshBanner);
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, client_kexinit, Payload::kSshKexInit);
  b.t += b.rtt;
  b.send(kToInitiator, kPsh | kAck, clamp_u32(b.rng.uniform(1040, 1120), kSshKexInitMinLen, 1400),
         Payload::kSshKexInit);
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, kSshEcdhInitLen, Payload::kSshEcdhInit);
  b.t += b.rtt;
  b.send(kToInitiator, kPsh | kAck, kSshEcdhReplyLen, Payload::kSshEcdhReply);
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, kSshNewKeysLen, Payload::kSshNewKeys);
  for (uint32_t i = 0; i < auth_rounds; ++i) {
    b.t += b.host_delay + static_cast<int64_t>(b.rng.exponential(2000));
    b.send(kToResponder, kPsh | kAck, auth_size + static_cast<uint32_t>(b.rng.below(3)) * 8,
           Payload::kOpaque);
    b.t += b.rtt + static_cast<int64_t>(b.rng.exponential(2000));
    b.send(kToInitiator, kPsh | kAck, 52 + static_cast<uint32_t>(b.rng.below(2)) * 16,
           Payload::kOpaque);
  }
}

void build_ssh(FlowBuilder& b, Campaign&) {
  b.client_to_server(pick_server(b, b.sc.ssh_servers), 22, kProtoTcp, true);
  b.tcp_handshake();
  ssh_setup(b, 41, clamp_u32(b.rng.uniform(1400, 1560), kSshKexInitMinLen, 1560), 3, 52);
  // Typing: each key is one 36-byte encrypted packet, echoed by the server
  // (chacha20-poly1305: 4-byte length + 16-byte tag + padded payload).
  const double seconds = std::min(b.rng.lognormal(bench(b) ? 20 : 120, 0.8), 1800.0);
  const int64_t end = b.t + static_cast<int64_t>(seconds * 1e6);
  while (b.t < end && !b.past_horizon()) {
    double gap = b.rng.lognormal(b.sc.ssh_key_gap_ms, 0.6) / 1000.0;
    if (b.rng.chance(0.04)) gap += b.rng.exponential(6.0);  // reading, thinking
    b.wait_seconds(gap);
    b.send(kToResponder, kPsh | kAck, 36, Payload::kOpaque);
    b.t += b.rtt;
    if (b.rng.chance(0.08)) {  // a command's output
      // Whole SSH packets: no segment shorter than one (a dissector reads
      // the 4-byte length of each).
      uint64_t output = static_cast<uint64_t>(b.rng.lognormal(2000, 1.2)) + 36;
      if (output % b.addr.mss < 36) output += 36;
      b.tcp_message(kToInitiator, output, Payload::kOpaque, 0, Payload::kOpaque, link_rate_bps(b));
    } else {
      b.send(kToInitiator, kPsh | kAck, 36, Payload::kOpaque);
      b.t += b.host_delay;
      b.send(kToResponder, kAck, 0, Payload::kOpaque);
    }
  }
  b.t += b.host_delay;
  b.tcp_fin_close(kToResponder);
}

void build_ntp(FlowBuilder& b, Campaign&) {
  b.client_to_server(pick_server(b, b.sc.ntp_servers), 123, kProtoUdp, true);
  if (b.rng.chance(0.3)) b.addr.initiator_port = 123;  // ntpd's symmetric source port
  const uint32_t polls = static_cast<uint32_t>(b.rng.between(1, bench(b) ? 2 : 4));
  for (uint32_t i = 0; i < polls && !b.past_horizon(); ++i) {
    if (i > 0) b.wait_seconds(b.rng.jitter(b.sc.ntp_poll_s, 0.05));
    b.send(kToResponder, 0, kNtpLen, Payload::kNtp);
    b.t += b.rtt;
    b.send(kToInitiator, 0, kNtpLen, Payload::kNtp);
  }
}

// G.711 over RTP: 20 ms of 8 kHz samples = 160 bytes per packet, each way.
void build_voip(FlowBuilder& b, Campaign&) {
  b.client_to_server(pick_server(b, b.sc.voip_peers), 0, kProtoUdp, true);
  b.addr.initiator_port = static_cast<uint16_t>(2 * b.rng.between(8192, 16383));
  b.addr.responder_port = static_cast<uint16_t>(2 * b.rng.between(8192, 16383));
  const double seconds = bench(b) ? b.rng.uniform(1, 6)
                                  : std::min(b.rng.lognormal(b.sc.voip_seconds_median, 0.8), 1200.0);
  const int64_t packets = static_cast<int64_t>(seconds * 50);
  const int64_t answer_offset = b.rtt / 2 + static_cast<int64_t>(b.rng.uniform(0, 20000));
  for (int64_t i = 0; i < packets; ++i) {
    const int64_t slot = i * 20000;
    if (slot > b.horizon) break;
    b.send_at(slot + static_cast<int64_t>(b.rng.uniform(0, 800)), kToResponder, 0,
              kRtpHeaderLen + 160, Payload::kRtp);
    b.send_at(slot + answer_offset + static_cast<int64_t>(b.rng.uniform(0, 3000)), kToInitiator, 0,
              kRtpHeaderLen + 160, Payload::kRtp);
  }
}

void build_ping(FlowBuilder& b, Campaign&) {
  b.client_to_server(pick_server(b, b.sc.ping_targets), 0, kProtoIcmp, true);
  const int64_t count = b.rng.between(1, 5);
  for (int64_t i = 0; i < count; ++i) {
    if (i > 0) b.wait_seconds(1.0);
    b.send(kToResponder, 0, 56, Payload::kIcmpEcho);
    b.send_at(b.t + b.rtt, kToInitiator, 0, 56, Payload::kIcmpEcho);
  }
}

// QUIC (RFC 9000) to a web server on UDP/443. The client's first datagram is
// padded to at least 1200 bytes (§14.1; browsers send 1250), as is every
// datagram carrying its Initial; the server answers with its Initial and
// Handshake flight. Then HTTP/3 requests, each answered by a stream of full
// short-header datagrams at the path rate, which the client ACKs every second
// packet (§13.2.2). The connection ends silently (idle timeout) or with a
// CONNECTION_CLOSE. Simplification: no congestion-window ramp (RFC 9002).
void quic_stream(FlowBuilder& b, Dir d, uint64_t bytes, uint32_t datagram, double rate_bps) {
  const Dir back = d == kToResponder ? kToInitiator : kToResponder;
  const double pace_us = datagram * 8.0 / std::max(rate_bps, 1e4) * 1e6;
  for (uint64_t i = 0, left = bytes; left > 0 && !b.past_horizon(); ++i) {
    const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(left, datagram));
    left -= len;
    b.send(d, 0, std::max(len, kQuicShortMinLen), Payload::kQuicShort);
    if (i % 2 == 1 || left == 0)
      b.send_at(b.t + b.answer_delay(d), back, 0, clamp_u32(b.rng.uniform(36, 60), kQuicShortMinLen, 80),
                Payload::kQuicShort);
    b.t += static_cast<int64_t>(b.rng.jitter(pace_us, 0.2)) + 1;
  }
}

void build_quic(FlowBuilder& b, Campaign& c) {
  visit(b, c, b.sc.web_servers, 443, kProtoUdp);
  const uint32_t datagram = b.rng.chance(0.5) ? 1350 : 1252;  // server max_udp_payload in use
  b.send(kToResponder, 0, 1250, Payload::kQuicLong, 0);
  b.t += b.rtt;
  const int64_t flight = b.rng.between(2, 4);
  for (int64_t i = 0; i < flight; ++i) {
    b.send(kToInitiator, 0, static_cast<uint32_t>(b.rng.between(1200, datagram)), Payload::kQuicLong,
           i == 0 ? 0 : 2);
    b.t += static_cast<int64_t>(b.rng.uniform(20, 300));
  }
  b.t += b.host_delay;
  b.send(kToResponder, 0, 1250, Payload::kQuicLong, 0);  // Initial ACK + Handshake Finished
  const uint32_t requests = requests_in_connection(b);
  for (uint32_t i = 0; i < requests && !b.past_horizon(); ++i) {
    b.wait_seconds(i > 0 ? think_seconds(b) : 0.0005);
    b.send(kToResponder, 0, clamp_u32(b.rng.lognormal(b.sc.request_median * 0.6, 0.35), kQuicShortMinLen, 1200),
           Payload::kQuicShort);
    b.t += b.rtt;
    quic_stream(b, kToInitiator, object_size(b) + 30, datagram, link_rate_bps(b));
  }
  if (b.rng.chance(0.5)) {
    b.t += b.host_delay + static_cast<int64_t>(std::min(b.rng.exponential(20.0), 60.0) * 1e6);
    b.send(kToResponder, 0, clamp_u32(b.rng.uniform(36, 60), kQuicShortMinLen, 80), Payload::kQuicShort);
  }
}

// --- benign, as a real capture point also sees it --------------------------

// LAN service discovery: one host's multicast burst, with no answer seen (the
// answers are unicast to other hosts, or there are none).
//  - mDNS (RFC 6762): announcements are sent at least twice, one second
//    apart, then at doubling intervals (§8.3); repeated queries likewise
//    (§5.2). Port 5353 both ways, IP TTL 255 (§11).
//  - LLMNR (RFC 4795): a name query to port 5355, retransmitted after
//    LLMNR_TIMEOUT (1 s) while unanswered (§2.7); TTL / hop limit 1 (§2.5).
//  - SSDP (UPnP Device Architecture 1.1 §1.2, §1.3): a device's round of
//    NOTIFY ssdp:alive messages (one per device and service type, each sent
//    more than once) from port 1900, or a control point's M-SEARCH copies;
//    TTL 2. IPv4 only: the payload names the IPv4 group.
void build_lan_discovery(FlowBuilder& b, Campaign&) {
  const uint64_t protocol = b.rng.below(3);
  b.addr.ipv6 = protocol != 2 && b.rng.chance(b.sc.ipv6_share);
  const IpAddr host = b.addr.ipv6 ? b.sc.client_v6(b.rng) : b.sc.client_v4(b.rng);
  IpAddr group;
  if (protocol == 0) {
    if (b.addr.ipv6) group.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};
    else group = ipv4(0xe00000fbu);  // 224.0.0.251
    b.set_endpoints(host, 5353, group, 5353, kProtoUdp);
    b.addr.ttl[kToResponder] = 255;
    const bool announce = b.rng.chance(0.5);
    const uint32_t name = clamp_u32(b.rng.lognormal(22, 0.3), kDnsMinNameLen, 60);
    const uint32_t query = kDnsHeaderLen + name + kDnsQuestionTail;
    const uint32_t len = announce ? query + static_cast<uint32_t>(b.rng.between(1, 6)) * kDnsARecordLen
                                  : query;
    const int64_t copies = b.rng.between(1, 3);
    double gap = 1.0;
    for (int64_t i = 0; i < copies; ++i) {
      if (i > 0) b.wait_seconds(b.rng.jitter(gap, 0.02)), gap *= 2;
      b.send(kToResponder, 0, len, announce ? Payload::kDnsResponse : Payload::kDnsQuery, name);
    }
  } else if (protocol == 1) {
    if (b.addr.ipv6) group.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3};
    else group = ipv4(0xe00000fcu);  // 224.0.0.252
    b.set_endpoints(host, b.ephemeral_port(), group, 5355, kProtoUdp);
    b.addr.ttl[kToResponder] = 1;
    const uint32_t name = clamp_u32(b.rng.lognormal(14, 0.3), kDnsMinNameLen, 40);
    const int64_t copies = b.rng.between(1, 3);
    for (int64_t i = 0; i < copies; ++i) {
      if (i > 0) b.wait_seconds(b.rng.jitter(1.0, 0.05));
      b.send(kToResponder, 0, kDnsHeaderLen + name + kDnsQuestionTail, Payload::kDnsQuery, name);
    }
  } else {
    const bool search = b.rng.chance(0.4);
    b.set_endpoints(host, search ? b.ephemeral_port() : 1900, ipv4(0xeffffffau), 1900, kProtoUdp);
    b.addr.ttl[kToResponder] = 2;
    const int64_t messages = search ? b.rng.between(1, 4) : b.rng.between(2, 10);
    for (int64_t i = 0; i < messages; ++i) {
      if (i > 0) b.wait_seconds(search ? b.rng.uniform(0.3, 1.5) : b.rng.uniform(0.002, 0.15));
      const uint32_t len = search ? static_cast<uint32_t>(b.rng.between(kSsdpSearchMinLen, 200))
                                  : static_cast<uint32_t>(b.rng.between(kSsdpNotifyMinLen, 470));
      b.send(kToResponder, 0, len, Payload::kSsdpMulticast, search ? 1 : 0);
    }
  }
}

// IGMP (IPv4 only; RFC 2236, RFC 3376), TTL 1 with Router Alert, to
// multicast MACs. One flow is one of:
//  - the querier's general queries to 224.0.0.1 every query interval
//    (125 s by default, §8.2 of both RFCs; 60 s on many switches), v2 or v3;
//  - a host's IGMPv2 membership reports to one group: the unsolicited join
//    repeated within the 10 s Unsolicited Report Interval (RFC 2236 §3), then
//    an answer to each query, delayed uniformly up to Max Resp Time (10 s);
//  - a host's IGMPv2 leave (0x17 to 224.0.0.2, group in the message; §3), sent
//    once or twice;
//  - a host's IGMPv3 reports to 224.0.0.22 listing 1-6 groups: a
//    CHANGE_TO_EXCLUDE state change sent twice within 1 s (RFC 3376 §5.1,
//    robustness 2), then MODE_IS_EXCLUDE answers to queries; sometimes a
//    final CHANGE_TO_INCLUDE with no sources (leaving).
// The flows do not see each other: a host's answers follow its own copy of
// the query rhythm, not the querier flow's packets.
void build_igmp(FlowBuilder& b, Campaign& c) {
  b.addr.ipv6 = false;
  const double kind = b.rng.uniform();
  const double query_s = c.period_s;
  auto periodic = [&](Payload p, uint32_t len, uint32_t aux, double first_s, double reply_window_s) {
    // Until the member leaves or the capture ends, one message per query interval.
    const double lifetime = b.rng.lognormal(900, 0.8);
    b.wait_seconds(first_s);
    const int64_t end = b.t + static_cast<int64_t>(lifetime * 1e6);
    while (b.t < end && !b.past_horizon()) {
      b.wait_seconds(query_s + b.rng.uniform(-reply_window_s, reply_window_s) * 0.5);
      if (b.t >= end) break;
      b.send(kToResponder, 0, len, p, aux);
    }
  };
  if (kind < 0.1) {
    // The querier: the network's router. A LAN has one (the lowest address
    // wins the election, RFC 2236 §3), so a capture has at most one such
    // flow; later draws of it collide and are redrawn.
    b.set_endpoints(ipv4(b.sc.clients_v4.base + 1), 0, ipv4(0xe0000001u), 0, kProtoIgmp);  // 224.0.0.1
    b.addr.ttl[kToResponder] = 1;
    const uint32_t version = c.size;
    const uint32_t len = version == 3 ? kIgmpV3QueryLen : kIgmpV2Len;
    // A querier starting up sends Startup Query Count (2) queries a quarter
    // interval apart (RFC 2236 §3); one already running is seen mid-rhythm.
    if (b.rng.chance(0.1)) {
      b.send(kToResponder, 0, len, Payload::kIgmpQuery, version);
      b.wait_seconds(query_s / 4);
    }
    b.send(kToResponder, 0, len, Payload::kIgmpQuery, version);
    while (!b.past_horizon()) {
      b.wait_seconds(b.rng.jitter(query_s, 0.005));
      b.send(kToResponder, 0, len, Payload::kIgmpQuery, version);
    }
    return;
  }
  const IpAddr host = b.sc.client_v4(b.rng);
  if (kind < 0.4) {  // v2 member of one group
    const uint32_t group = b.rng.chance(0.75) ? igmp_common_group(static_cast<uint32_t>(b.rng.below(kIgmpCommonGroups)))
                                              : 0xef000000u | static_cast<uint32_t>(b.rng.between(0x10000, 0xffffff));
    b.set_endpoints(host, 0, ipv4(group), 0, kProtoIgmp);
    b.addr.ttl[kToResponder] = 1;
    if (b.rng.chance(0.3)) {  // joining now: unsolicited report, repeated
      b.send(kToResponder, 0, kIgmpV2Len, Payload::kIgmpV2Report, group);
      b.wait_seconds(b.rng.uniform(0, 10));
    }
    b.send(kToResponder, 0, kIgmpV2Len, Payload::kIgmpV2Report, group);
    periodic(Payload::kIgmpV2Report, kIgmpV2Len, group, 0, 10);
    return;
  }
  if (kind < 0.5) {  // v2 leave
    const uint32_t group = igmp_common_group(static_cast<uint32_t>(b.rng.below(kIgmpCommonGroups)));
    b.set_endpoints(host, 0, ipv4(0xe0000002u), 0, kProtoIgmp);  // 224.0.0.2
    b.addr.ttl[kToResponder] = 1;
    b.send(kToResponder, 0, kIgmpV2Len, Payload::kIgmpLeave, group);
    if (b.rng.chance(0.4)) {
      b.wait_seconds(b.rng.uniform(0.5, 2));
      b.send(kToResponder, 0, kIgmpV2Len, Payload::kIgmpLeave, group);
    }
    return;
  }
  // v3 reports (record types: 2 MODE_IS_EXCLUDE, 3 CHANGE_TO_INCLUDE, 4 CHANGE_TO_EXCLUDE)
  b.set_endpoints(host, 0, ipv4(0xe0000016u), 0, kProtoIgmp);  // 224.0.0.22
  b.addr.ttl[kToResponder] = 1;
  const uint32_t records = static_cast<uint32_t>(b.rng.between(1, 6));
  const uint32_t first = static_cast<uint32_t>(b.rng.below(kIgmpCommonGroups)) << 8;
  const uint32_t len = kIgmpV3ReportHeaderLen + records * kIgmpV3RecordLen;
  if (b.rng.chance(0.3)) {
    b.send(kToResponder, 0, len, Payload::kIgmpV3Report, first | 4);
    b.wait_seconds(b.rng.uniform(0.01, 1));
    b.send(kToResponder, 0, len, Payload::kIgmpV3Report, first | 4);
  } else {
    b.send(kToResponder, 0, len, Payload::kIgmpV3Report, first | 2);
  }
  periodic(Payload::kIgmpV3Report, len, first | 2, 0, 10);
  if (!b.past_horizon() && b.rng.chance(0.15)) {
    b.wait_seconds(b.rng.uniform(1, 60));
    b.send(kToResponder, 0, len, Payload::kIgmpV3Report, first | 3);
  }
}

// IPsec (RFC 4301): a tunnel between a LAN host or the site's gateway and a
// remote VPN gateway. One tunnel is several flows, drawn one at a time and
// tied together like web visits (a flow repeats the previous tunnel's hosts
// with the campaign's revisit share):
//  - IKE on UDP/500 both ends: IKE_SA_INIT (request ~300-1000 B, response
//    ~290-450 B), then, without NAT, IKE_AUTH (1-3 round trips: EAP) and
//    INFORMATIONAL liveness checks (DPD, RFC 7296 §2.4) every 10-300 s from
//    either side; behind a NAT only IKE_SA_INIT is seen here, since IKE moves
//    to port 4500 (RFC 7296 §2.23);
//  - ESP (IP protocol 50, RFC 4303): the tunnelled traffic both ways, each
//    direction its own SA (SPI) with a sequence number counting up from 1;
//  - NAT-T on UDP/4500 (RFC 3948): IKE_AUTH behind a non-ESP marker, then
//    ESP in UDP, DPD, and the NATed side's 1-byte 0xFF keepalive after 20 s
//    of silence (§2.3, §4).
// Tunnelled traffic comes in bursts (a transfer: full inner packets one way,
// small ACKs back every second packet) separated by idle minutes with an
// occasional small exchange (DNS, keep-alives). Packet sizes follow from the
// inner sizes through esp_len (AES-CBC + HMAC-SHA1-96 or AES-GCM).
void ipsec_dpd(FlowBuilder& b, uint32_t natt, uint32_t& msg_id_i, uint32_t& msg_id_r) {
  const bool from_initiator = b.rng.chance(0.5);
  const Dir d = from_initiator ? kToResponder : kToInitiator;
  const uint32_t id = from_initiator ? ++msg_id_i : msg_id_r++;
  b.send(d, 0, kIkeEncryptedMinLen + (natt ? kNonEspMarkerLen : 0), Payload::kIke,
         kIkeInformational | natt | id << 16);
  b.send_at(b.t + b.answer_delay(d), d == kToResponder ? kToInitiator : kToResponder, 0,
            kIkeEncryptedMinLen + (natt ? kNonEspMarkerLen : 0), Payload::kIke,
            kIkeInformational | kIkeResponse | natt | id << 16);
}

void ipsec_auth(FlowBuilder& b, uint32_t natt, uint32_t& msg_id_i) {
  const uint32_t marker = natt ? kNonEspMarkerLen : 0;
  const int64_t rounds = b.rng.chance(0.4) ? b.rng.between(2, 3) : 1;  // EAP adds round trips
  for (int64_t i = 0; i < rounds; ++i) {
    const uint32_t id = ++msg_id_i;
    const uint32_t req = i == 0 ? clamp_u32(b.rng.lognormal(600, 0.4), 200, 1300) : static_cast<uint32_t>(b.rng.between(60, 120));
    const uint32_t resp = i + 1 == rounds ? clamp_u32(b.rng.lognormal(400, 0.4), 150, 1300)
                                          : static_cast<uint32_t>(b.rng.between(40, 220));
    b.t += b.host_delay;
    b.send(kToResponder, 0, ike_encrypted_len(req) + marker, Payload::kIke, kIkeAuth | natt | id << 16);
    b.t += b.rtt + static_cast<int64_t>(b.rng.exponential(i == 0 ? 100000 : 250000));  // certificate / EAP checks
    b.send(kToInitiator, 0, ike_encrypted_len(resp) + marker, Payload::kIke,
           kIkeAuth | kIkeResponse | natt | id << 16);
  }
}

void build_ipsec(FlowBuilder& b, Campaign& c) {
  b.addr.ipv6 = false;
  // A tunnel's second flow (IKE, or ESP / NAT-T) revisits its hosts; `probes`
  // marks which of the two the tunnel has had (bit 0 IKE, bit 1 tunnel).
  bool ike_flow;
  if (c.visited && c.probes != 3 && b.rng.chance(c.revisit_share)) {
    ike_flow = !(c.probes & 1);
  } else {
    c.visited = true;
    c.visit_client = b.rng.chance(0.3) ? ipv4(b.sc.clients_v4.base + 1) : b.sc.client_v4(b.rng);
    c.visit_server = b.rng.chance(0.5) ? c.victim : Scenario::random_public_v4(b.rng);
    c.visit_natt = b.rng.chance(0.4);
    c.visit_port = b.rng.chance(0.5) ? 4500 : b.ephemeral_port();
    c.probes = 0;
    ike_flow = b.rng.chance(0.4);
  }
  c.probes |= ike_flow ? 1 : 2;
  const bool natt = c.visit_natt;
  uint32_t msg_id_i = 0, msg_id_r = 0;
  const int64_t dpd_us = static_cast<int64_t>(c.period_s * 1e6);
  // Tunnel lifetime: minutes to hours (a rekey or a reconnect ends the flow).
  const int64_t end = static_cast<int64_t>(std::min(b.rng.lognormal(600, 1.0), 7200.0) * 1e6);
  if (ike_flow) {
    b.set_endpoints(c.visit_client, 500, c.visit_server, 500, kProtoUdp);
    if (natt) b.addr.initiator_port = c.visit_port == 4500 ? 500 : b.ephemeral_port();
    const uint32_t request = clamp_u32(b.rng.lognormal(520, 0.35), kIkeSaInitMinLen + 40, 1200);
    b.send(kToResponder, 0, request, Payload::kIke, kIkeSaInit);
    b.t += b.rtt;
    if (b.rng.chance(0.15)) {  // the responder asks for a cookie (§2.6): the request is sent again
      b.send(kToInitiator, 0, kIkeHeaderLen + 8 + 16, Payload::kIke, kIkeSaInit | kIkeResponse);
      b.t += b.host_delay;
      b.send(kToResponder, 0, request + 24, Payload::kIke, kIkeSaInit);
      b.t += b.rtt;
    }
    b.send(kToInitiator, 0, clamp_u32(b.rng.lognormal(300, 0.2), kIkeSaInitMinLen + 20, 600), Payload::kIke,
           kIkeSaInit | kIkeResponse);
    if (natt) return;
    ipsec_auth(b, 0, msg_id_i);
    while (!b.past_horizon()) {
      b.t += static_cast<int64_t>(b.rng.jitter(static_cast<double>(dpd_us), 0.1));
      if (b.t > end) break;
      ipsec_dpd(b, 0, msg_id_i, msg_id_r);
    }
    return;
  }
  uint32_t natt_flag = 0;
  if (natt) {
    b.set_endpoints(c.visit_client, c.visit_port, c.visit_server, 4500, kProtoUdp);
    natt_flag = kIkeNatT;
    // A tunnel already up is seen mid-way; a new one starts with IKE_AUTH.
    if (b.rng.chance(0.3)) ipsec_auth(b, natt_flag, msg_id_i);
  } else {
    b.set_endpoints(c.visit_client, 0, c.visit_server, 0, kProtoEsp);
  }
  const bool gcm = b.rng.chance(0.5);
  const uint32_t tunnel_mtu = static_cast<uint32_t>(b.rng.between(1300, 1400));  // inner MTU
  const double rate_bps = link_rate_bps(b);
  int64_t last_initiator = b.t, next_dpd = b.t + dpd_us;
  auto esp = [&](Dir d, uint32_t inner) {
    b.send(d, 0, esp_len(std::min(inner, tunnel_mtu), gcm), Payload::kEsp);
    if (d == kToResponder) last_initiator = b.t;
  };
  // Keepalives and DPD that fall due before `until`, in order (NAT-T only
  // sends keepalives; DPD runs on the IKE flow, which is this one under NAT-T).
  auto housekeeping = [&](int64_t until) {
    if (!natt) return;
    const int64_t resume = b.t;
    for (;;) {
      const int64_t keepalive = last_initiator + 20000000;
      const int64_t next = std::min(keepalive, next_dpd);
      if (next >= until || next > end) break;
      b.t = next;
      if (next == keepalive) {
        b.send(kToResponder, 0, kNatKeepaliveLen, Payload::kNatKeepalive);
        last_initiator = b.t;
      } else {
        ipsec_dpd(b, natt_flag, msg_id_i, msg_id_r);
        next_dpd = b.t + static_cast<int64_t>(b.rng.jitter(static_cast<double>(dpd_us), 0.1));
        last_initiator = b.t;
      }
    }
    b.t = std::max(b.t, resume);
  };
  // The LAN side speaks first (its request opens the first burst), so the
  // label's initiator is the tunnel's local end, whose I flag IKE carries.
  for (bool first = true; b.t < end && !b.past_horizon(); first = false) {
    const Dir d = !first && b.rng.chance(0.6) ? kToInitiator : kToResponder;  // downloads more often
    const Dir back = d == kToResponder ? kToInitiator : kToResponder;
    if (b.rng.chance(0.6)) {  // a transfer
      const uint64_t n = 1 + b.rng.geometric(1.0 / 25);
      const double pace_us = tunnel_mtu * 8.0 / std::max(rate_bps, 1e5) * 1e6;
      for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
        esp(d, i + 1 == n ? static_cast<uint32_t>(b.rng.between(60, tunnel_mtu)) : tunnel_mtu);
        if (i % 2 == 1 || i + 1 == n) {
          const int64_t now = b.t;
          b.t += b.answer_delay(d);
          esp(back, static_cast<uint32_t>(b.rng.between(52, 64)));  // the inner TCP ACK
          b.t = now;
        }
        b.t += static_cast<int64_t>(b.rng.jitter(pace_us, 0.2)) + 1;
      }
    } else {  // a small exchange: a DNS lookup, a keep-alive of an inner session
      esp(d, static_cast<uint32_t>(b.rng.between(60, 180)));
      b.t += b.answer_delay(d);
      esp(back, static_cast<uint32_t>(b.rng.between(60, 300)));
    }
    const int64_t idle = static_cast<int64_t>(std::min(b.rng.exponential(c.jitter), 600.0) * 1e6);
    housekeeping(b.t + idle);
    b.t += idle;
  }
}

// Partial views. A capture that starts while connections are open sees them
// from the middle, without a handshake; asymmetric routing shows a capture
// point only one direction of a conversation. Both are everyday in real
// captures (docs/MODEL.md, real captures) and differ, packet for packet, from
// the complete sessions above. The base conversation is one of these classes
// (not SSH: a dissector cannot pick up its encrypted stream mid-way; not NTP,
// whose payload says which side sent it).
using BuildFn = void (*)(FlowBuilder&, Campaign&);
constexpr BuildFn kPartialBases[] = {build_web_http, build_web_tls, build_quic, build_dns,
                                     build_video,    build_upload,  build_voip};

void build_partial_base(FlowBuilder& b, Campaign& c) {
  kPartialBases[b.rng.below(std::size(kPartialBases))](b, c);
  finish_script(b.script);
}

void build_midflow(FlowBuilder& b, Campaign& c) {
  build_partial_base(b, c);
  if (b.script.empty()) return;
  // The capture starts at a uniform moment of the conversation.
  const int64_t first = b.script.front().t_us, last = b.script.back().t_us;
  b.drop_before(first + 1 + static_cast<int64_t>(b.rng.uniform() * static_cast<double>(last - first)));
}

void build_one_way(FlowBuilder& b, Campaign& c) {
  build_partial_base(b, c);
  b.keep_direction(b.rng.chance(0.5) ? kToResponder : kToInitiator);
}

// Stray packets: the one- and two-packet benign flows every capture point
// sees, which a flow model must not take for a flood, a scan or a
// reflection (issue 13: they were most of its false alerts on real traffic).
//  - DHCP (RFC 2131): a client's DISCOVER broadcast from 0.0.0.0:68, or a
//    rebinding client's REQUEST from its lease, to 255.255.255.255:67,
//    retransmitted after about 4 s, then 8 s, randomised by ±1 s (§4.1); or
//    a server's OFFER/ACK to a client, seen without the request.
//  - NetBIOS name query broadcast to the subnet, port 137 both ways
//    (RFC 1002 §4.2.12), repeated while unanswered (§6: 3 tries; Windows
//    waits 750 ms between them).
//  - A DNS query whose answer never came (the client retries after 1-5 s),
//    or a DNS answer seen without its query (asymmetric routing, a capture
//    that started late): 300-1,400 bytes, as DNSSEC and TXT answers are.
//  - An NTP poll that went unanswered (one poll interval, 64 s, apart).
//  - A connection attempt to a closed port: SYN, answered by RST+ACK
//    (RFC 9293 §3.10.7.1).
//  - A TCP keepalive on an idle connection seen from the middle: a bare ACK
//    one byte behind (0 or 1 byte of data), ACKed back (RFC 9293
//    §3.8.4), every keepalive interval.
//  - A datagram to a closed UDP port, answered by ICMP port unreachable: a
//    one-sided UDP flow and an ICMP error flow.
void build_stray(FlowBuilder& b, Campaign&) {
  const uint64_t kind = b.rng.below(9);
  b.addr.ipv6 = false;
  const IpAddr host = b.sc.client_v4(b.rng);
  const uint32_t broadcast = b.sc.clients_v4.base + b.sc.clients_v4.hosts + 1;
  switch (kind) {
    case 0: {  // DHCP client: DISCOVER from 0.0.0.0, or REBINDING's REQUEST from its lease (§4.4.5)
      const bool discover = b.rng.chance(0.4);
      b.set_endpoints(discover ? ipv4(0) : host, 68, ipv4(0xffffffffu), 67, kProtoUdp);
      b.addr.responder_broadcast = true;
      const uint32_t len = static_cast<uint32_t>(b.rng.between(kDhcpMinLen, 360));
      const int64_t copies = b.rng.between(1, 3);
      double backoff = 4;
      for (int64_t i = 0; i < copies; ++i) {
        if (i > 0) b.wait_seconds(backoff + b.rng.uniform(-1, 1)), backoff *= 2;
        b.send(kToResponder, 0, len, Payload::kDhcp, discover ? 1 : 3);
      }
      return;
    }
    case 1:  // a DHCP server's (or relay's) OFFER or ACK to a client, its request not seen
      b.set_endpoints(ipv4(b.sc.clients_v4.base + 1), 67, host, 68, kProtoUdp);
      b.send(kToResponder, 0, static_cast<uint32_t>(b.rng.between(kDhcpMinLen, 590)), Payload::kDhcp,
             b.rng.chance(0.5) ? 2 : 5);
      return;
    case 2: {  // NetBIOS name query
      b.set_endpoints(host, 137, ipv4(broadcast), 137, kProtoUdp);
      b.addr.responder_broadcast = true;
      b.addr.ttl[kToResponder] = 128;
      const int64_t copies = b.rng.between(1, 3);
      for (int64_t i = 0; i < copies; ++i) {
        if (i > 0) b.wait_seconds(b.rng.jitter(0.75, 0.05));
        b.send(kToResponder, 0, kNbnsQueryLen, Payload::kNbnsQuery);
      }
      return;
    }
    case 3: {  // DNS query, no answer
      b.set_endpoints(host, b.ephemeral_port(), pick_server(b, b.sc.dns_resolvers), 53, kProtoUdp);
      const uint32_t name = clamp_u32(b.rng.lognormal(20, 0.4), kDnsMinNameLen, 80);
      const int64_t copies = b.rng.between(1, 3);
      for (int64_t i = 0; i < copies; ++i) {
        if (i > 0) b.wait_seconds(b.rng.uniform(1, 5));
        b.send(kToResponder, 0, kDnsHeaderLen + name + kDnsQuestionTail, Payload::kDnsQuery, name);
      }
      return;
    }
    case 4: {  // DNS answer, no query
      b.set_endpoints(pick_server(b, b.sc.dns_resolvers), 53, host, b.ephemeral_port(), kProtoUdp);
      const uint32_t name = clamp_u32(b.rng.lognormal(20, 0.4), kDnsMinNameLen, 80);
      const uint32_t answers = static_cast<uint32_t>(b.rng.between(300, 1400));
      b.send(kToResponder, 0, kDnsHeaderLen + name + kDnsQuestionTail + answers, Payload::kDnsResponse, name);
      return;
    }
    case 5: {  // NTP poll, no answer
      b.set_endpoints(host, b.rng.chance(0.3) ? 123 : b.ephemeral_port(), pick_server(b, b.sc.ntp_servers), 123,
                      kProtoUdp);
      b.send(kToResponder, 0, kNtpLen, Payload::kNtp);
      if (b.rng.chance(0.3)) {
        b.wait_seconds(b.rng.jitter(64, 0.05));
        b.send(kToResponder, 0, kNtpLen, Payload::kNtp);
      }
      return;
    }
    case 6:  // SYN to a closed port
      b.client_to_server(pick_server(b, b.sc.web_servers),
                         static_cast<uint16_t>(b.rng.chance(0.5) ? 8080 : b.rng.between(1, 49151)), kProtoTcp,
                         false);
      b.send(kToResponder, kSyn, 0, Payload::kOpaque);
      b.t += b.rtt;
      b.send(kToInitiator, kRst | kAck, 0, Payload::kOpaque);
      return;
    case 7: {  // TCP keepalive of an idle connection
      static constexpr uint16_t kPorts[] = {443, 22, 993, 5222, 3389, 445};
      b.client_to_server(pick_server(b, b.sc.web_servers), kPorts[b.rng.below(std::size(kPorts))], kProtoTcp,
                         false);
      const uint32_t probe_len = b.rng.chance(0.5) ? 1 : 0;  // BSD stacks send one garbage byte
      const double interval = b.rng.uniform(30, 75);
      const int64_t probes = b.rng.between(1, 3);
      for (int64_t i = 0; i < probes && !b.past_horizon(); ++i) {
        if (i > 0) b.wait_seconds(b.rng.jitter(interval, 0.02));
        b.send(kToResponder, kAck, probe_len, Payload::kOpaque);
        b.t += b.rtt;
        b.send(kToInitiator, kAck, 0, Payload::kOpaque);
      }
      return;
    }
    default: {  // a datagram to a closed UDP port
      b.client_to_server(pick_server(b, b.sc.web_servers), static_cast<uint16_t>(b.rng.between(1024, 65535)),
                         kProtoUdp, false);
      b.send(kToResponder, 0, static_cast<uint32_t>(b.rng.between(20, 600)), Payload::kOpaque);
      b.t += b.rtt;
      b.send(kToInitiator, 0, 0, Payload::kIcmpPortUnreachable);
      return;
    }
  }
}

// --- attacks --------------------------------------------------------------

int64_t flood_gap(FlowBuilder& b, const Campaign& c) {
  return static_cast<int64_t>(b.rng.exponential(1e6 / c.rate_pps)) + 1;
}

void build_syn_flood(FlowBuilder& b, Campaign& c) {
  // A spoofed source per SYN: every SYN is its own flow (RFC 4987 §2).
  b.set_endpoints(Scenario::random_public_v4(b.rng), static_cast<uint16_t>(b.rng.between(1024, 65535)),
                  c.victim, c.victim_port, kProtoTcp);
  if (c.raw_syn) {
    b.addr.syn_options[kToResponder] = false;
    b.addr.tcp_window[kToResponder] = c.random_window ? static_cast<uint16_t>(b.rng.next()) : c.syn_window;
  }
  b.send(kToResponder, kSyn, 0, Payload::kOpaque);
  if (b.rng.chance(c.reply_share)) {
    // The victim answers the spoofed source and retransmits SYN-ACK at 1, 3, 7 s.
    b.t += b.host_delay;
    for (int i = 0; i < 4 && !b.past_horizon(); ++i) {
      b.send(kToInitiator, kSyn | kAck, 0, Payload::kOpaque);
      b.t += (1000000LL << i);
    }
  }
}

void one_way_burst(FlowBuilder& b, const Campaign& c, Dir d, uint32_t mean_packets, Payload p,
                   uint32_t size, uint32_t size_jitter) {
  const uint64_t n = 1 + b.rng.geometric(1.0 / mean_packets);
  for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
    b.send(d, 0, size + static_cast<uint32_t>(b.rng.below(size_jitter + 1)), p);
    b.t += flood_gap(b, c);
  }
}

void build_udp_flood(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(Scenario::random_public_v4(b.rng), static_cast<uint16_t>(b.rng.between(1024, 65535)),
                  c.victim, static_cast<uint16_t>(b.rng.between(1, 65535)), kProtoUdp);
  one_way_burst(b, c, kToResponder, 20, Payload::kOpaque, c.size, 0);
}

void build_icmp_flood(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(Scenario::random_public_v4(b.rng), 0, c.victim, 0, kProtoIcmp);
  const uint64_t n = 1 + b.rng.geometric(1.0 / 20);
  for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
    b.send(kToResponder, 0, c.size, Payload::kIcmpEcho);
    if (b.rng.chance(c.reply_share)) b.send_at(b.t + b.host_delay, kToInitiator, 0, c.size, Payload::kIcmpEcho);
    b.t += flood_gap(b, c);
  }
}

// Reflection: the reflector answers queries spoofed with the victim's address,
// so the victim sees only large responses from a well-known port.
void reflected(FlowBuilder& b, Campaign& c, uint16_t service_port) {
  b.set_endpoints(Scenario::random_public_v4(b.rng), service_port, c.victim,
                  static_cast<uint16_t>(b.rng.between(1024, 65535)), kProtoUdp);
}

void build_dns_amplification(FlowBuilder& b, Campaign& c) {
  reflected(b, c, 53);
  const uint32_t name = clamp_u32(b.rng.uniform(10, 24), kDnsMinNameLen, 40);
  const uint64_t n = 1 + b.rng.geometric(1.0 / 8);
  for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
    // ANY/TXT answers sized to just under the path MTU (no fragments).
    b.send(kToResponder, 0, c.size + static_cast<uint32_t>(b.rng.below(24)), Payload::kDnsResponse, name);
    b.t += flood_gap(b, c);
  }
}

void build_ntp_amplification(FlowBuilder& b, Campaign& c) {
  reflected(b, c, 123);
  const uint64_t n = 1 + b.rng.geometric(1.0 / 15);
  for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
    // monlist: up to 6 entries of 72 bytes per packet
    const uint32_t items = i + 1 == n ? static_cast<uint32_t>(b.rng.between(1, 6)) : 6;
    b.send(kToResponder, 0, kNtpMode7HeaderLen + items * kNtpMonlistItemLen, Payload::kNtpMonlist);
    b.t += flood_gap(b, c);
  }
}

// TCP reflection: the attacker sends SYNs spoofed with the victim's address
// to many servers, and each server's SYN-ACK lands on the victim, retransmitted
// while unanswered (RFC 6298 §5: the timer doubles from 1 s). The victim's
// stack may reset each unexpected SYN-ACK (RFC 9293 §3.10.7.1), which stops
// the retransmissions.
void build_tcp_reflection(FlowBuilder& b, Campaign& c) {
  static constexpr uint16_t kServicePorts[] = {80, 443, 22, 23, 21, 25, 8080};
  b.set_endpoints(Scenario::random_public_v4(b.rng), kServicePorts[b.rng.below(std::size(kServicePorts))],
                  c.victim, static_cast<uint16_t>(b.rng.between(1024, 65535)), kProtoTcp);
  const bool victim_resets = b.rng.chance(c.open_share * 4);
  const int64_t copies = victim_resets ? 1 : b.rng.between(1, 5);
  for (int64_t i = 0; i < copies && !b.past_horizon(); ++i) {
    if (i > 0) b.t += 1000000LL << (i - 1);
    b.send(kToResponder, kSyn | kAck, 0, Payload::kOpaque);
  }
  if (victim_resets) {
    b.t += b.host_delay;
    b.send(kToInitiator, kRst, 0, Payload::kOpaque);
  }
}

void build_ssdp_amplification(FlowBuilder& b, Campaign& c) {
  reflected(b, c, 1900);
  const uint64_t n = 1 + b.rng.geometric(1.0 / 4);
  for (uint64_t i = 0; i < n && !b.past_horizon(); ++i) {
    b.send(kToResponder, 0, c.size + static_cast<uint32_t>(b.rng.below(40)), Payload::kSsdpResponse);
    b.t += flood_gap(b, c);
  }
}

// Scans: one flow per probed port; ports in a campaign-specific order.
uint16_t next_scan_port(Campaign& c) {
  const uint64_t i = c.probes++;
  return static_cast<uint16_t>(1 + (c.port_start + i * c.port_step) % 65535);
}

// The attacker rotates to a fresh address after a full sweep, so no 5-tuple repeats.
IpAddr scanner_address(const Campaign& c) {
  return ipv4(ipv4_value(c.attacker) + static_cast<uint32_t>((c.probes - 1) / 65535));
}

void tcp_probe(FlowBuilder& b, Campaign& c, uint8_t probe_flags, bool connect) {
  const uint16_t port = next_scan_port(c);
  b.set_endpoints(scanner_address(c), connect ? b.ephemeral_port() : c.attacker_port, c.victim,
                  port, kProtoTcp);
  b.rtt = static_cast<int64_t>(b.rng.uniform(200, 2000));  // the victim is near the sensor
  // nmap's raw probes offer a window of 1024, 2048, 3072 or 4096 bytes, drawn
  // per probe (as its captures show); connect() uses the OS stack's.
  if (!connect) b.addr.tcp_window[kToResponder] = static_cast<uint16_t>(1024 * (1 + b.rng.below(4)));
  const bool open = b.rng.chance(c.open_share);
  const bool answered = b.rng.chance(c.reply_share);
  // A victim that only resets advertises no window (as Linux and Windows do).
  if (!(open && probe_flags == kSyn)) b.addr.tcp_window[kToInitiator] = 0;
  b.send(kToResponder, probe_flags, 0, Payload::kOpaque);
  if (!answered) return;  // filtered
  if (probe_flags == kAck) {
    // ACK scan: an unfiltered port resets the unexpected ACK whether open or
    // closed (RFC 9293 §3.10.7.1); the reset takes its sequence number from
    // the probe's ACK field and carries no ACK itself.
    b.t += b.rtt;
    b.send(kToInitiator, kRst, 0, Payload::kOpaque);
    return;
  }
  b.t += b.rtt;
  if (probe_flags == kSyn) {
    if (!open) {
      b.send(kToInitiator, kRst | kAck, 0, Payload::kOpaque);
      return;
    }
    b.send(kToInitiator, kSyn | kAck, 0, Payload::kOpaque);
    b.t += b.host_delay;
    if (connect) {  // connect(): the kernel completes the handshake, nmap then resets
      b.send(kToResponder, kAck, 0, Payload::kOpaque);
      b.t += b.host_delay;
      b.send(kToResponder, kRst | kAck, 0, Payload::kOpaque);
    } else {  // half-open: the scanner's kernel resets the unexpected SYN-ACK
      b.send(kToResponder, kRst, 0, Payload::kOpaque);
    }
    return;
  }
  // FIN/XMAS: a closed port answers RST (RFC 9293 §3.10.7.1); an open one stays silent.
  if (!open) b.send(kToInitiator, kRst | kAck, 0, Payload::kOpaque);
}

void build_port_scan_syn(FlowBuilder& b, Campaign& c) { tcp_probe(b, c, kSyn, false); }
void build_port_scan_connect(FlowBuilder& b, Campaign& c) { tcp_probe(b, c, kSyn, true); }
void build_port_scan_fin(FlowBuilder& b, Campaign& c) { tcp_probe(b, c, kFin, false); }
void build_port_scan_xmas(FlowBuilder& b, Campaign& c) { tcp_probe(b, c, kFin | kPsh | kUrg, false); }
void build_port_scan_ack(FlowBuilder& b, Campaign& c) { tcp_probe(b, c, kAck, false); }

void build_port_scan_udp(FlowBuilder& b, Campaign& c) {
  const uint16_t port = next_scan_port(c);
  b.set_endpoints(scanner_address(c), c.attacker_port, c.victim, port, kProtoUdp);
  // Empty probes, as nmap sends to ports it has no protocol payload for; an
  // open port does not answer them, so only closed ports are seen to reply.
  b.send(kToResponder, 0, 0, Payload::kOpaque);
  b.t += static_cast<int64_t>(b.rng.uniform(200, 2000));
  if (!b.rng.chance(c.open_share) && b.rng.chance(c.reply_share)) {
    // Closed: ICMP port unreachable, which hosts rate-limit (RFC 1812 §4.3.2.8).
    b.send(kToInitiator, 0, 0, Payload::kIcmpPortUnreachable);
  }
}

void build_ssh_bruteforce(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(c.attacker, b.ephemeral_port(), c.victim, 22, kProtoTcp);
  b.tcp_handshake();
  // A tool's sessions are near-identical: fixed banner and KEXINIT, the
  // server's MaxAuthTries worth of password attempts, then the server hangs up.
  ssh_setup(b, 24, c.size, static_cast<uint32_t>(b.rng.between(3, 6)), 84);
  b.t += b.rtt;
  b.tcp_fin_close(kToInitiator);
}

void build_http_bruteforce(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(c.attacker, b.ephemeral_port(), c.victim, 80, kProtoTcp);
  b.tcp_handshake();
  const uint32_t attempts = static_cast<uint32_t>(b.rng.between(1, 3));
  for (uint32_t i = 0; i < attempts; ++i) {
    b.t += b.host_delay + static_cast<int64_t>(b.rng.exponential(1.0e6 / c.rate_pps));
    const uint32_t body = c.size + static_cast<uint32_t>(b.rng.below(6));
    b.send(kToResponder, kPsh | kAck, http_post_head_len(body) + body, Payload::kHttpPost, body);
    b.t += b.rtt + static_cast<int64_t>(b.rng.uniform(2000, 8000));
    const uint32_t page = 280 + static_cast<uint32_t>(b.rng.below(8));
    b.send(kToInitiator, kPsh | kAck, http_response_head_len(page) + page, Payload::kHttpResponse, page);
  }
  b.t += b.host_delay;
  b.tcp_fin_close(kToResponder);
}

void build_slowloris(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(c.attacker, b.ephemeral_port(), c.victim, 80, kProtoTcp);
  b.tcp_handshake();
  b.t += b.host_delay;
  b.send(kToResponder, kPsh | kAck, clamp_u32(b.rng.uniform(80, 240), kHttpPartialHeadMinLen, 400),
         Payload::kHttpPartialHead);
  b.send_at(b.t + b.rtt, kToInitiator, kAck, 0, Payload::kOpaque);
  // One header line every period keeps the server waiting for the request's end.
  while (!b.past_horizon()) {
    b.wait_seconds(b.rng.jitter(c.period_s, c.jitter));
    b.send(kToResponder, kPsh | kAck, static_cast<uint32_t>(b.rng.between(6, 24)), Payload::kHttpHeaderLine);
    b.send_at(b.t + b.rtt, kToInitiator, kAck, 0, Payload::kOpaque);
    if (b.t > 3600LL * 1000000) break;
  }
}

void build_c2_beacon(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(c.attacker, b.ephemeral_port(), c.victim, c.victim_port, kProtoTcp);
  b.tcp_handshake();
  tls_handshake(b);
  const int64_t beacons = b.rng.between(3, 40);
  for (int64_t i = 0; i < beacons && !b.past_horizon(); ++i) {
    b.wait_seconds(b.rng.jitter(c.period_s, c.jitter));
    const uint64_t task = b.rng.chance(0.05) ? static_cast<uint64_t>(b.rng.uniform(2000, 40000))
                                             : 40 + b.rng.below(40);
    tls_exchange(b, c.size + b.rng.below(16), task, 20e6);
  }
  b.tcp_end();
}

void build_exfiltration(FlowBuilder& b, Campaign& c) {
  b.set_endpoints(c.attacker, b.ephemeral_port(), c.victim, c.victim_port, kProtoTcp);
  b.tcp_handshake();
  tls_handshake(b);
  // Steady, rate-limited upload in chunks to stay under the radar.
  const double total = std::min(b.rng.lognormal(8e6, 0.8), 200e6);
  double sent = 0;
  while (sent < total && !b.past_horizon()) {
    const double chunk = b.rng.jitter(c.size * 1000.0, 0.2);
    b.tcp_message(kToResponder, static_cast<uint64_t>(chunk), Payload::kTlsData, 0,
                  Payload::kTlsData, c.rate_pps * 8 * 1400);
    b.t += b.rtt;
    b.send(kToInitiator, kPsh | kAck, 40 + static_cast<uint32_t>(b.rng.below(20)), Payload::kTlsData);
    sent += chunk;
    b.wait_seconds(b.rng.exponential(c.period_s));
  }
  b.tcp_end();
}

constexpr std::array kClasses = {
    //          name, attack, build, bench weight, train weight
    TrafficClass{"web_http", false, build_web_http, 0.14, 0.20},
    TrafficClass{"web_tls", false, build_web_tls, 0.18, 0.30},
    TrafficClass{"dns", false, build_dns, 0.56, 0.25},
    TrafficClass{"video", false, build_video, 0.00005, 0.03},
    TrafficClass{"ssh", false, build_ssh, 0.0005, 0.03},
    TrafficClass{"ntp", false, build_ntp, 0.07, 0.06},
    TrafficClass{"voip", false, build_voip, 0.0005, 0.03},
    TrafficClass{"upload", false, build_upload, 0.0002, 0.03},
    TrafficClass{"ping", false, build_ping, 0.01, 0.0},
    // The bench profile's only "attack": Internet background scanning, which
    // every real capture point sees. Its share is set by --attack-rate.
    TrafficClass{"syn_flood", true, build_syn_flood, 0, 1},
    TrafficClass{"udp_flood", true, build_udp_flood, 0, 1},
    TrafficClass{"icmp_flood", true, build_icmp_flood, 0, 1},
    TrafficClass{"dns_amplification", true, build_dns_amplification, 0, 1},
    TrafficClass{"ntp_amplification", true, build_ntp_amplification, 0, 1},
    TrafficClass{"ssdp_amplification", true, build_ssdp_amplification, 0, 1},
    TrafficClass{"port_scan_syn", true, build_port_scan_syn, 1, 1},
    TrafficClass{"port_scan_connect", true, build_port_scan_connect, 0, 1},
    TrafficClass{"port_scan_fin", true, build_port_scan_fin, 0, 1},
    TrafficClass{"port_scan_xmas", true, build_port_scan_xmas, 0, 1},
    TrafficClass{"port_scan_udp", true, build_port_scan_udp, 0, 1},
    TrafficClass{"ssh_bruteforce", true, build_ssh_bruteforce, 0, 1},
    TrafficClass{"http_bruteforce", true, build_http_bruteforce, 0, 1},
    TrafficClass{"slowloris", true, build_slowloris, 0, 1},
    TrafficClass{"c2_beacon", true, build_c2_beacon, 0, 1},
    TrafficClass{"exfiltration", true, build_exfiltration, 0, 1},
    // Appended, not grouped with the benign classes above: a class's index
    // seeds its campaign (draw_campaigns), so earlier classes keep theirs.
    TrafficClass{"quic", false, build_quic, 0, 0.10},
    TrafficClass{"lan_discovery", false, build_lan_discovery, 0, 0.04},
    TrafficClass{"midflow", false, build_midflow, 0, 0.04},
    TrafficClass{"one_way", false, build_one_way, 0, 0.03},
    TrafficClass{"port_scan_ack", true, build_port_scan_ack, 0, 1},
    TrafficClass{"tcp_reflection", true, build_tcp_reflection, 0, 1},
    TrafficClass{"igmp", false, build_igmp, 0, 0.04},
    TrafficClass{"ipsec", false, build_ipsec, 0, 0.04},
    TrafficClass{"stray", false, build_stray, 0, 0.08},
};

}  // namespace

std::span<const TrafficClass> traffic_classes() { return kClasses; }

int find_class(std::string_view name) {
  for (size_t i = 0; i < kClasses.size(); ++i)
    if (kClasses[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<Campaign> draw_campaigns(const Scenario& sc, Rng& rng) {
  std::vector<Campaign> campaigns(kClasses.size());
  static constexpr uint16_t kVictimPorts[] = {80, 443, 22, 25, 53, 3389, 8080};
  static constexpr uint16_t kOddPorts[] = {4444, 8443, 2222, 9001, 1337, 6667, 8888, 31337, 5222};
  for (size_t i = 0; i < kClasses.size(); ++i) {
    Campaign& c = campaigns[i];
    const std::string_view name = kClasses[i].name;
    Rng r = rng.fork(i);
    c.victim = sc.client_v4(r);
    c.victim_port = kVictimPorts[r.below(std::size(kVictimPorts))];
    c.attacker = Scenario::random_public_v4(r);
    c.attacker_port = static_cast<uint16_t>(r.between(33000, 65000));
    c.port_start = static_cast<uint32_t>(r.below(65535));
    // A step coprime to 65535 = 3*5*17*257 visits every port once per sweep.
    do c.port_step = static_cast<uint32_t>(r.between(1, 65534));
    while (c.port_step % 3 == 0 || c.port_step % 5 == 0 || c.port_step % 17 == 0 ||
           c.port_step % 257 == 0);
    c.rate_pps = r.lognormal(2000, 1.0);
    c.size = static_cast<uint32_t>(r.between(0, 1400));
    c.period_s = r.uniform(5, 15);
    c.jitter = r.uniform(0.05, 0.3);
    c.open_share = r.uniform(0.01, 0.08);
    c.reply_share = r.uniform(0.5, 1.0);
    if (sc.profile != Profile::kBench &&
        (name == "web_http" || name == "web_tls" || name == "dns" || name == "video" || name == "quic")) {
      c.revisit_share = r.uniform(0.2, 0.7);
    }
    if (name == "syn_flood" && sc.profile != Profile::kBench) {
      // Flood tools craft SYNs on raw sockets: no options, the tool's window
      // (hping3 64, scapy 8192, others 0 or 512, or random per packet);
      // bots that flood through the OS stack send ordinary SYNs.
      static constexpr uint16_t kToolWindows[] = {0, 64, 512, 1024, 8192, 65535};
      c.raw_syn = r.chance(0.7);
      c.random_window = r.chance(0.3);
      c.syn_window = kToolWindows[r.below(std::size(kToolWindows))];
    }
    if (name == "icmp_flood") c.size = static_cast<uint32_t>(r.between(8, 1400));
    if (name == "dns_amplification") c.size = static_cast<uint32_t>(r.between(1100, 1430));
    if (name == "ssdp_amplification") c.size = static_cast<uint32_t>(r.between(280, 340));
    if (name == "ssh_bruteforce") c.size = static_cast<uint32_t>(r.between(1200, 1560)) & ~7u;
    if (name == "http_bruteforce") {
      c.size = static_cast<uint32_t>(r.between(24, 80));
      c.rate_pps = r.uniform(2, 50);  // attempts per second
    }
    if (name == "c2_beacon" || name == "exfiltration") {
      // An internal host talks out to an external server on an odd port.
      c.attacker = sc.client_v4(r);
      c.victim = Scenario::random_public_v4(r);
      c.victim_port = r.chance(0.4) ? 443 : kOddPorts[r.below(std::size(kOddPorts))];
    }
    if (name == "c2_beacon") {
      c.period_s = r.uniform(5, 60);
      c.size = static_cast<uint32_t>(r.between(90, 300));
    }
    if (name == "igmp") {
      c.period_s = r.chance(0.6) ? 125 : 60;             // query interval
      c.size = r.chance(0.5) ? 3 : 2;                    // the querier's IGMP version
    }
    if (name == "ipsec") {
      // The site's VPN gateway is `victim`; DPD interval; mean idle seconds.
      c.victim = Scenario::random_public_v4(r);
      c.period_s = r.chance(0.5) ? 30 : r.uniform(10, 300);
      c.jitter = r.uniform(5, 60);
      if (sc.profile != Profile::kBench) c.revisit_share = r.uniform(0.4, 0.8);
    }
    if (name == "exfiltration") {
      c.size = static_cast<uint32_t>(r.between(100, 1000));  // KB per chunk
      c.rate_pps = r.uniform(100, 1500);
      c.period_s = r.uniform(1, 20);
    }
  }
  return campaigns;
}

}  // namespace flowscore::gen
