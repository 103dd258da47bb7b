// What one generated flow does, as a time-ordered list of packets.
//
// A traffic class (traffic_classes.cpp) writes a flow's whole script when the
// flow starts; the generator then emits the script one packet at a time,
// interleaved with every other active flow. A script says WHAT is sent when
// (direction, TCP flags, payload kind and size); the frame composer turns that
// into bytes, tracking sequence numbers and IP ids itself, so a class never
// has to get a header field right.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace flowscore::gen {

// Direction relative to the flow's initiator (the `src` of its label row).
enum Dir : uint8_t { kToResponder = 0, kToInitiator = 1 };

namespace tcp {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                         kUrg = 0x20;
}

// How the payload bytes of a packet are filled. Protocol-shaped payloads keep
// tshark's dissectors happy (no malformed packets) and make byte patterns
// realistic; everything else is opaque pseudo-random bytes.
enum class Payload : uint8_t {
  kOpaque,           // pseudo-random bytes (encrypted data, bodies, floods)
  kHttpGet,          // complete GET request padded to the size (aux unused)
  kHttpPost,         // POST head with Content-Length = aux; body bytes follow
  kHttpResponse,     // 200 response head with Content-Length = aux; body follows
  kHttpPartialHead,  // start of a GET without the closing blank line (slowloris)
  kHttpHeaderLine,   // one "X-...: ...\r\n" header line (slowloris keep-alive)
  kTlsClientHello,   // one TLS record holding a ClientHello
  kTlsServerHello,   // ServerHello + ChangeCipherSpec + application-data record
  kTlsData,          // one application-data record
  kDnsQuery,         // aux = wire length of the query name
  kDnsResponse,      // aux = wire length of the query name; answers fill the rest
  kNtp,              // 48-byte NTPv4 client (to responder) or server packet
  kNtpMonlist,       // NTPv2 mode-7 MON_GETLIST_1 response (reflection)
  kSsdpResponse,     // SSDP M-SEARCH response (reflection)
  kSsdpMulticast,    // SSDP NOTIFY ssdp:alive (aux 0) or M-SEARCH (aux 1) to the group
  kSshBanner,        // identification string, RFC 4253 §4.2
  kSshKexInit,       // SSH_MSG_KEXINIT binary packet, RFC 4253 §7.1
  kSshEcdhInit,      // SSH_MSG_KEX_ECDH_INIT (RFC 5656 §4)
  kSshEcdhReply,     // SSH_MSG_KEX_ECDH_REPLY followed by SSH_MSG_NEWKEYS
  kSshNewKeys,       // SSH_MSG_NEWKEYS
  kRtp,              // RTP header (RFC 3550) + PCMU samples
  kQuicLong,         // QUIC v1 long-header packet, aux = type (0 Initial, 2 Handshake)
  kQuicShort,        // QUIC 1-RTT short-header packet
  kIcmpEcho,         // ICMP(v6) echo request (to responder) or reply
  kIcmpPortUnreachable,  // ICMP(v6) port unreachable quoting the last probe
  // IPsec (RFC 7296, 4303, 3948) and IGMP (RFC 2236, 3376); see payload.hpp for aux.
  kIke,              // IKEv2 message, aux = exchange type | kIke* flags | message id << 16
  kEsp,              // ESP packet: SPI, sequence number, opaque IV + ciphertext + ICV
  kNatKeepalive,     // NAT-T keepalive: the single byte 0xFF (RFC 3948 §2.3)
  kIgmpQuery,        // general query to 224.0.0.1, aux = IGMP version (2 or 3)
  kIgmpV2Report,     // IGMPv2 membership report, aux = group (host order)
  kIgmpLeave,        // IGMPv2 leave group, aux = group (host order)
  kIgmpV3Report,     // IGMPv3 report, aux = record type | first group index << 8
  kDhcp,             // BOOTP/DHCP message (RFC 2131), aux = DHCP message type (1 DISCOVER ... 5 ACK)
  kNbnsQuery,        // NetBIOS name query, broadcast (RFC 1002 §4.2.12)
};

struct PacketSpec {
  int64_t t_us;          // offset from the flow's start
  uint32_t aux;          // payload-specific, see Payload
  // TCP: sequence number and acknowledgement relative to each side's initial
  // sequence number, fixed when the packet is planned, so an ACK sent an RTT
  // after the data acknowledges exactly what had arrived by then.
  uint32_t seq_rel;
  uint32_t ack_rel;
  uint16_t payload_len;  // L4 payload bytes
  Dir dir;
  uint8_t tcp_flags;
  Payload payload;
};

using Script = std::vector<PacketSpec>;

// Orders a script by time; packets at the same instant keep their order.
inline void finish_script(Script& s) {
  std::stable_sort(s.begin(), s.end(),
                   [](const PacketSpec& a, const PacketSpec& b) { return a.t_us < b.t_us; });
}

}  // namespace flowscore::gen
