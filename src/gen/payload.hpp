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
  uint32_t esp_spi;    // this direction's SA (RFC 4303 §2.1) and its next sequence number
  uint32_t esp_seq;
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
// BOOTP's fixed part and magic cookie (RFC 2131 §2, §3); relay agents and
// servers expect at least 300 bytes of BOOTP message (RFC 1542 §2.1).
inline constexpr uint32_t kDhcpFixedLen = 240;
inline constexpr uint32_t kDhcpMinLen = 300;
inline constexpr uint32_t kNbnsQueryLen = 50;  // header 12 + encoded name 34 + type/class 4
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

// IKEv2 (RFC 7296 §3). aux of Payload::kIke: bits 0-7 exchange type, then:
inline constexpr uint32_t kIkeSaInit = 34, kIkeAuth = 35, kIkeInformational = 37;
inline constexpr uint32_t kIkeResponse = 1u << 8;  // the R flag
inline constexpr uint32_t kIkeNatT = 1u << 9;      // on UDP/4500: 4 zero bytes first (RFC 3948 §2.2)
inline constexpr uint32_t kIkeHeaderLen = 28;
inline constexpr uint32_t kNonEspMarkerLen = 4;
// IKE_SA_INIT: header, SA (one proposal, 4 transforms), KE (group 19), Nonce,
// two NAT_DETECTION notifies, and a Vendor ID payload that takes the rest.
inline constexpr uint32_t kIkeSaInitMinLen = 244;
// An IKE_SA_INIT response this short is a COOKIE notify (1-64 bytes of cookie).
inline constexpr uint32_t kIkeCookieMinLen = kIkeHeaderLen + 8 + 1;
inline constexpr uint32_t kIkeCookieMaxLen = kIkeHeaderLen + 8 + 64;
// A message after IKE_SA_INIT: header, then an Encrypted payload (§3.14):
// generic header, 16-byte IV (AES-CBC), ciphertext in 16-byte blocks, 12-byte ICV.
inline constexpr uint32_t ike_encrypted_len(uint32_t plaintext) {
  return kIkeHeaderLen + 4 + 16 + (plaintext / 16 + 1) * 16 + 12;
}
inline constexpr uint32_t kIkeEncryptedMinLen = ike_encrypted_len(0);  // 76: e.g. a DPD probe
// ESP (RFC 4303 §2) carrying an inner IP packet of `inner` bytes: SPI and
// sequence number, IV, the packet plus pad length and next header padded to
// the cipher block, ICV. AES-CBC (16-byte IV and blocks) with HMAC-SHA1-96
// (12-byte ICV), or AES-GCM (8-byte IV, 4-byte alignment, 16-byte ICV; RFC 4106).
inline constexpr uint32_t kEspHeaderLen = 8;
inline constexpr uint32_t esp_len(uint32_t inner, bool gcm) {
  return gcm ? kEspHeaderLen + 8 + (inner + 2 + 3) / 4 * 4 + 16
             : kEspHeaderLen + 16 + (inner + 2 + 15) / 16 * 16 + 12;
}
inline constexpr uint32_t kNatKeepaliveLen = 1;
// IGMP (RFC 2236 §2, RFC 3376 §4): 8-byte v2 messages, 12-byte v3 query,
// v3 report of an 8-byte header and 8-byte group records (no sources).
inline constexpr uint32_t kIgmpV2Len = 8;
inline constexpr uint32_t kIgmpV3QueryLen = 12;
inline constexpr uint32_t kIgmpV3ReportHeaderLen = 8;
inline constexpr uint32_t kIgmpV3RecordLen = 8;
// Groups LAN hosts commonly join (mDNS, LLMNR, SSDP, SLP, ...); v3 reports
// list consecutive entries, wrapping around.
uint32_t igmp_common_group(uint32_t index);
inline constexpr uint32_t kIgmpCommonGroups = 8;

}  // namespace flowscore::gen
