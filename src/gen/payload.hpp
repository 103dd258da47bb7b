// Application payloads shaped like the protocols they claim to be.
//
// Each writer fills EXACTLY the requested number of bytes. Traffic classes
// choose sizes with the *_len helpers and minimums below, so a script never
// asks for a shape that cannot fit; if one does anyway, the writer falls back
// to opaque bytes rather than write a malformed message.
#pragma once
#include <cstddef>
#include <cstdint>

#include "flow_script.hpp"

namespace flowscore::gen {

// Per-packet facts a payload may quote.
struct PayloadContext {
  uint32_t token;      // per-flow pseudo-random value: names, ids, offsets
  int64_t ts_us;       // the packet's capture time (NTP timestamps)
  uint16_t rtp_seq;    // RTP sequence number and timestamp for this packet
  uint32_t rtp_ts;
};

void write_payload(uint8_t* out, const PacketSpec& pkt, const PayloadContext& ctx);

// Opaque bytes: a fixed pseudo-random pool, so copying is all it costs.
void write_opaque(uint8_t* out, size_t len, uint64_t offset_seed);

// Sizes the classes plan with.
uint32_t http_response_head_len(uint32_t content_length);
uint32_t http_post_head_len(uint32_t content_length);
inline constexpr uint32_t kHttpGetMinLen = 120;
inline constexpr uint32_t kHttpPartialHeadMinLen = 80;
inline constexpr uint32_t kHttpHeaderLineMinLen = 8;
inline constexpr uint32_t kTlsClientHelloMinLen = 103;
inline constexpr uint32_t kTlsServerHelloMinLen = 99;
inline constexpr uint32_t kTlsDataMinLen = 6;
inline constexpr uint32_t kDnsHeaderLen = 12;
inline constexpr uint32_t kDnsQuestionTail = 4;  // QTYPE + QCLASS
inline constexpr uint32_t kDnsARecordLen = 16;   // pointer name + fixed fields + IPv4
inline constexpr uint32_t kDnsMinNameLen = 7;    // wire length of e.g. "a.com"
inline constexpr uint32_t kDnsMaxNameLen = 255;  // RFC 1035 §3.1
inline constexpr uint32_t kNtpLen = 48;
inline constexpr uint32_t kNtpMonlistItemLen = 72;
inline constexpr uint32_t kNtpMode7HeaderLen = 8;
inline constexpr uint32_t kSsdpResponseMinLen = 260;
inline constexpr uint32_t kSsdpNotifyMinLen = 330;
inline constexpr uint32_t kSsdpSearchMinLen = 130;
inline constexpr uint32_t kSshBannerMinLen = 12;
inline constexpr uint32_t kSshKexInitMinLen = 320;
inline constexpr uint32_t kSshEcdhInitLen = 48;
inline constexpr uint32_t kSshEcdhReplyLen = 208;
inline constexpr uint32_t kSshNewKeysLen = 16;
inline constexpr uint32_t kRtpHeaderLen = 12;
// QUIC: header, a 4-byte packet number, and room for the 16-byte AEAD tag and
// header-protection sample (RFC 9001 §5.4.2).
inline constexpr uint32_t kQuicLongMinLen = 64;
inline constexpr uint32_t kQuicShortMinLen = 32;
inline constexpr uint32_t kQuicCidLen = 8;

}  // namespace flowscore::gen
