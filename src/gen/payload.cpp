#include "payload.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "rng.hpp"

namespace flowscore::gen {
namespace {

// 64 KiB of fixed pseudo-random bytes; opaque payloads are slices of it.
constexpr size_t kPoolSize = 1u << 16;
const std::array<uint8_t, kPoolSize + 2048>& opaque_pool() {
  static const auto pool = [] {
    std::array<uint8_t, kPoolSize + 2048> p{};
    Rng rng(0x6f70617175650000ULL);
    for (size_t i = 0; i < p.size(); i += 8) {
      const uint64_t v = rng.next();
      std::memcpy(p.data() + i, &v, 8);
    }
    return p;
  }();
  return pool;
}

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  put16(p + 1, v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v);
}

// Copies `text` and returns the byte after it.
uint8_t* put_text(uint8_t* p, const char* text, size_t len) {
  std::memcpy(p, text, len);
  return p + len;
}

// Lower-case letters from a seed: readable names for hosts, paths, fillers.
void put_letters(uint8_t* p, size_t len, uint32_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>('a' + splitmix64(s) % 26);
}

// An HTTP message head of exactly `len` bytes: `fixed` (the start line and
// headers, without the final CRLF) then a padding header and the blank line
// that ends the head (RFC 9112 §2.1). Returns false if `fixed` does not fit.
bool put_http_head(uint8_t* out, size_t len, const char* fixed, size_t fixed_len, uint32_t seed,
                   bool terminate) {
  static constexpr char kPad[] = "X-Request-Pad: ";
  const size_t tail = terminate ? 4 : 2;  // "\r\n\r\n" or "\r\n"
  const size_t overhead = fixed_len + sizeof(kPad) - 1 + tail;
  if (len < overhead) return false;
  uint8_t* p = put_text(out, fixed, fixed_len);
  p = put_text(p, kPad, sizeof(kPad) - 1);
  put_letters(p, len - overhead, seed);
  p += len - overhead;
  put_text(p, "\r\n\r\n", tail);
  return true;
}

size_t format_response_head(char* buf, size_t cap, uint32_t content_length) {
  return static_cast<size_t>(std::snprintf(buf, cap,
                                           "HTTP/1.1 200 OK\r\nServer: nginx\r\n"
                                           "Content-Type: application/octet-stream\r\n"
                                           "Content-Length: %u\r\n\r\n",
                                           content_length));
}

size_t format_post_head(char* buf, size_t cap, uint32_t content_length, uint32_t token) {
  return static_cast<size_t>(std::snprintf(buf, cap,
                                           "POST /api/%08x HTTP/1.1\r\nHost: s%08x.example.net\r\n"
                                           "Content-Type: application/octet-stream\r\n"
                                           "Content-Length: %u\r\n\r\n",
                                           token, token >> 3, content_length));
}

// A head followed by body bytes up to `len`.
void put_head_and_body(uint8_t* out, size_t len, const char* head, size_t head_len,
                       const PayloadContext& ctx) {
  if (head_len > len) {
    write_opaque(out, len, ctx.token);
    return;
  }
  std::memcpy(out, head, head_len);
  write_opaque(out + head_len, len - head_len, ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

void put_http_get(uint8_t* out, size_t len, const PayloadContext& ctx) {
  char fixed[160];
  const int n = std::snprintf(fixed, sizeof fixed,
                              "GET /o/%08x HTTP/1.1\r\nHost: s%08x.example.net\r\n"
                              "User-Agent: Mozilla/5.0\r\nAccept: */*\r\n",
                              static_cast<uint32_t>(ctx.token + ctx.ts_us), ctx.token >> 3);
  if (!put_http_head(out, len, fixed, static_cast<size_t>(n), ctx.token, true))
    write_opaque(out, len, ctx.token);
}

void put_http_partial_head(uint8_t* out, size_t len, const PayloadContext& ctx) {
  char fixed[128];
  const int n = std::snprintf(fixed, sizeof fixed,
                              "GET /?%08x HTTP/1.1\r\nHost: s%08x.example.net\r\n", ctx.token,
                              ctx.token >> 3);
  if (!put_http_head(out, len, fixed, static_cast<size_t>(n), ctx.token, false))
    write_opaque(out, len, ctx.token);
}

// "X-a: bcd\r\n": a header line that never ends the request.
void put_http_header_line(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kHttpHeaderLineMinLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  out[0] = 'X';
  out[1] = '-';
  out[2] = 'a';
  out[3] = ':';
  out[4] = ' ';
  put_letters(out + 5, len - 5 - 2, static_cast<uint32_t>(ctx.ts_us));
  out[len - 2] = '\r';
  out[len - 1] = '\n';
}

// TLS 1.3 record and handshake layouts: RFC 8446 §5.1 and §4.1.2/§4.1.3.
uint8_t* put_tls_record_header(uint8_t* p, uint8_t content_type, uint16_t version, size_t len) {
  p[0] = content_type;
  put16(p + 1, version);
  put16(p + 3, static_cast<uint32_t>(len));
  return p + 5;
}

void put_tls_client_hello(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kTlsClientHelloMinLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_tls_record_header(out, 22, 0x0301, len - 5);
  *p++ = 1;  // client_hello
  put24(p, static_cast<uint32_t>(len - 9));
  p += 3;
  put16(p, 0x0303);  // legacy_version
  p += 2;
  write_opaque(p, 32, ctx.token);  // random
  p += 32;
  *p++ = 32;  // legacy_session_id
  write_opaque(p, 32, ctx.token + 1);
  p += 32;
  static constexpr uint8_t kSuites[] = {0x00, 0x0a, 0x13, 0x01, 0x13, 0x02, 0x13,
                                        0x03, 0xc0, 0x2b, 0xc0, 0x2f};
  p = put_text(p, reinterpret_cast<const char*>(kSuites), sizeof kSuites);
  *p++ = 1;  // one compression method: null
  *p++ = 0;
  const size_t ext_len = static_cast<size_t>(out + len - (p + 2));
  put16(p, static_cast<uint32_t>(ext_len));
  p += 2;
  // supported_versions: TLS 1.3 (RFC 8446 §4.2.1)
  static constexpr uint8_t kVersions[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
  p = put_text(p, reinterpret_cast<const char*>(kVersions), sizeof kVersions);
  // padding extension (RFC 7685) makes the hello exactly the planned size
  const size_t pad = static_cast<size_t>(out + len - (p + 4));
  put16(p, 0x0015);
  put16(p + 2, static_cast<uint32_t>(pad));
  std::memset(p + 4, 0, pad);
}

void put_tls_server_hello(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kTlsServerHelloMinLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_tls_record_header(out, 22, 0x0303, 82);
  *p++ = 2;  // server_hello
  put24(p, 78);
  p += 3;
  put16(p, 0x0303);
  p += 2;
  write_opaque(p, 32, ctx.token + 2);
  p += 32;
  *p++ = 32;
  write_opaque(p, 32, ctx.token + 1);  // echoes the client's session id
  p += 32;
  put16(p, 0x1301);  // TLS_AES_128_GCM_SHA256
  p += 2;
  *p++ = 0;
  put16(p, 6);
  p += 2;
  static constexpr uint8_t kVersion[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
  p = put_text(p, reinterpret_cast<const char*>(kVersion), sizeof kVersion);
  // change_cipher_spec for middlebox compatibility (RFC 8446 §D.4)
  p = put_tls_record_header(p, 20, 0x0303, 1);
  *p++ = 1;
  // the encrypted rest of the server's flight
  const size_t rest = static_cast<size_t>(out + len - p);
  p = put_tls_record_header(p, 23, 0x0303, rest - 5);
  write_opaque(p, rest - 5, ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

void put_tls_data(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kTlsDataMinLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_tls_record_header(out, 23, 0x0303, len - 5);
  write_opaque(p, len - 5, ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

// A query name of exactly `wire_len` bytes in DNS wire form (RFC 1035 §3.1):
// labels of at most 63 letters, ending in "com" and the root label.
uint8_t* put_dns_name(uint8_t* p, size_t wire_len, uint32_t seed) {
  size_t body = wire_len - 5;  // what precedes "\3com\0"
  while (body > 0) {
    size_t label = body - 1 > 63 ? 63 : body - 1;
    if (body - (label + 1) == 1) --label;  // never leave a 1-byte remainder
    *p++ = static_cast<uint8_t>(label);
    put_letters(p, label, seed++);
    p += label;
    body -= label + 1;
  }
  return put_text(p, "\3com\0", 5);
}

void put_dns(uint8_t* out, size_t len, bool response, const PayloadContext& ctx, uint32_t name_len) {
  if (name_len < kDnsMinNameLen || name_len > kDnsMaxNameLen ||
      len < kDnsHeaderLen + name_len + kDnsQuestionTail) {
    write_opaque(out, len, ctx.token);
    return;
  }
  const size_t answers_len = len - kDnsHeaderLen - name_len - kDnsQuestionTail;
  if (answers_len != 0 && answers_len % kDnsARecordLen != 0 && answers_len < 13) {
    write_opaque(out, len, ctx.token);
    return;
  }
  put16(out, ctx.token & 0xffff);  // ID
  put16(out + 2, response ? 0x8180 : 0x0100);  // RD (+ QR, RA for the answer)
  put16(out + 4, 1);  // QDCOUNT
  const bool txt = answers_len % kDnsARecordLen != 0;
  const uint32_t ancount = txt ? 1 : static_cast<uint32_t>(answers_len / kDnsARecordLen);
  put16(out + 6, ancount);
  put16(out + 8, 0);
  put16(out + 10, 0);
  uint8_t* p = put_dns_name(out + kDnsHeaderLen, name_len, ctx.token);
  put16(p, txt ? 16 : 1);  // QTYPE TXT or A
  put16(p + 2, 1);         // QCLASS IN
  p += 4;
  uint64_t addr_seed = ctx.token;
  for (uint32_t i = 0; i < ancount; ++i) {
    put16(p, 0xc00c);  // compression pointer to the question name
    put16(p + 2, txt ? 16 : 1);
    put16(p + 4, 1);
    put32(p + 6, 300);
    if (txt) {
      // one TXT RR whose RDATA is a run of <character-string>s (RFC 1035 §3.3.14)
      size_t rdlen = answers_len - 12;
      put16(p + 10, static_cast<uint32_t>(rdlen));
      p += 12;
      while (rdlen > 0) {
        const size_t chunk = rdlen - 1 > 255 ? 255 : rdlen - 1;
        *p++ = static_cast<uint8_t>(chunk);
        put_letters(p, chunk, static_cast<uint32_t>(rdlen));
        p += chunk;
        rdlen -= chunk + 1;
      }
    } else {
      put16(p + 10, 4);
      put32(p + 12, static_cast<uint32_t>(splitmix64(addr_seed)));
      p += kDnsARecordLen;
    }
  }
}

// NTP timestamps count seconds since 1900 (RFC 5905 §6).
void put_ntp_timestamp(uint8_t* p, int64_t ts_us) {
  const uint64_t secs = static_cast<uint64_t>(ts_us / 1000000) + 2208988800ULL;
  const uint64_t frac = (static_cast<uint64_t>(ts_us % 1000000) << 32) / 1000000;
  put32(p, static_cast<uint32_t>(secs));
  put32(p + 4, static_cast<uint32_t>(frac));
}

void put_ntp(uint8_t* out, size_t len, bool from_server, const PayloadContext& ctx) {
  if (len != kNtpLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  std::memset(out, 0, len);
  out[0] = from_server ? 0x24 : 0x23;  // LI 0, VN 4, mode 4 (server) / 3 (client)
  out[1] = from_server ? 2 : 0;        // stratum
  out[2] = 6;                          // poll: 2^6 s
  out[3] = 0xe9;                       // precision: 2^-23 s
  if (from_server) {
    put32(out + 4, 0x00000120);
    put32(out + 8, 0x00000340);
    put32(out + 12, ctx.token);  // reference id: the upstream's address
    put_ntp_timestamp(out + 16, ctx.ts_us - 32000000);
    put_ntp_timestamp(out + 32, ctx.ts_us);
  }
  put_ntp_timestamp(out + 40, ctx.ts_us);
}

// Mode-7 MON_GETLIST_1 response, the classic NTP reflection payload
// (CVE-2013-5211); header layout as in ntpd's ntp_request.h.
void put_ntp_monlist(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kNtpMode7HeaderLen + kNtpMonlistItemLen ||
      (len - kNtpMode7HeaderLen) % kNtpMonlistItemLen != 0) {
    write_opaque(out, len, ctx.token);
    return;
  }
  const uint32_t items = static_cast<uint32_t>((len - kNtpMode7HeaderLen) / kNtpMonlistItemLen);
  out[0] = 0x97;  // response, VN 2, mode 7
  out[1] = 0x00;  // not authenticated, sequence 0
  out[2] = 3;     // implementation: IMPL_XNTPD
  out[3] = 42;    // request: MON_GETLIST_1
  put16(out + 4, items & 0x0fff);
  put16(out + 6, kNtpMonlistItemLen);
  write_opaque(out + kNtpMode7HeaderLen, len - kNtpMode7HeaderLen, ctx.token);
}

// A DHCP message (RFC 2131 §2): BOOTREQUEST from the client (DISCOVER 1,
// REQUEST 3) or BOOTREPLY from the server (OFFER 2, ACK 5), the broadcast
// flag set, the magic cookie, then options: message type (53), client
// identifier (61) or server identifier (54), a parameter request list (55)
// and END, padded with zeros (RFC 2132).
void put_dhcp(uint8_t* out, size_t len, uint32_t message_type, const PayloadContext& ctx) {
  if (len < kDhcpFixedLen + 16) {
    write_opaque(out, len, ctx.token);
    return;
  }
  const bool reply = message_type == 2 || message_type == 5;
  std::memset(out, 0, len);
  out[0] = reply ? 2 : 1;  // op: BOOTREPLY / BOOTREQUEST
  out[1] = 1;              // htype: Ethernet
  out[2] = 6;              // hlen
  put32(out + 4, ctx.token);  // xid
  put16(out + 10, 0x8000);    // flags: broadcast
  if (reply) put32(out + 16, 0xc0a80000u | (ctx.token & 0xfffe) | 1);  // yiaddr: the lease
  const uint8_t chaddr[6] = {0x02, 0x00, static_cast<uint8_t>(ctx.token >> 24), static_cast<uint8_t>(ctx.token >> 16),
                             static_cast<uint8_t>(ctx.token >> 8), static_cast<uint8_t>(ctx.token)};
  std::memcpy(out + 28, chaddr, sizeof chaddr);
  put32(out + 236, 0x63825363);  // magic cookie
  uint8_t* o = out + kDhcpFixedLen;
  *o++ = 53, *o++ = 1, *o++ = static_cast<uint8_t>(message_type);
  if (reply) {
    *o++ = 54, *o++ = 4;  // server identifier
    put32(o, 0xc0a80001u), o += 4;
  } else {
    *o++ = 61, *o++ = 7, *o++ = 1;  // client identifier: hardware type + MAC
    std::memcpy(o, chaddr, sizeof chaddr), o += sizeof chaddr;
  }
  static constexpr uint8_t kParams[] = {1, 3, 6, 15, 28, 51, 58, 59};  // mask, router, DNS, domain, ...
  const size_t room = static_cast<size_t>(out + len - o);
  const size_t params = std::min<size_t>(sizeof kParams, room > 3 ? room - 3 : 0);
  *o++ = 55, *o++ = static_cast<uint8_t>(params);
  std::memcpy(o, kParams, params), o += params;
  *o = 255;  // END; the rest stays zero padding
}

// NetBIOS name query request, broadcast (RFC 1002 §4.2.12): the 16-byte
// NetBIOS name in first-level encoding (each nibble + 'A', RFC 1001 §14.1).
void put_nbns_query(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len != kNbnsQueryLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  put16(out, ctx.token & 0xffff);  // NAME_TRN_ID
  put16(out + 2, 0x0110);          // opcode query, RD, B (broadcast)
  put16(out + 4, 1);               // QDCOUNT
  std::memset(out + 6, 0, 6);
  out[12] = 32;
  char name[16];
  std::snprintf(name, sizeof name, "HOST%06X", ctx.token & 0xffffff);
  for (size_t i = 0; i < 16; ++i) {
    // Padded with spaces; the 16th byte, 0x20, asks for the server service.
    const uint8_t c = i < 10 ? static_cast<uint8_t>(name[i]) : ' ';
    out[13 + 2 * i] = static_cast<uint8_t>('A' + (c >> 4));
    out[14 + 2 * i] = static_cast<uint8_t>('A' + (c & 0x0f));
  }
  out[45] = 0;
  put16(out + 46, 0x0020);  // NB
  put16(out + 48, 0x0001);  // IN
}

void put_ssdp_response(uint8_t* out, size_t len, const PayloadContext& ctx) {
  char fixed[320];
  const int n = std::snprintf(
      fixed, sizeof fixed,
      "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
      "LOCATION: http://192.0.2.%u:%u/rootDesc.xml\r\nSERVER: Linux/3.14 UPnP/1.0 miniupnpd/2.0\r\n"
      "ST: upnp:rootdevice\r\nUSN: uuid:%08x-0000-1000-8000-00000000%04x::upnp:rootdevice\r\n",
      ctx.token % 250 + 1, 1024 + ctx.token % 50000, ctx.token, ctx.token & 0xffff);
  if (!put_http_head(out, len, fixed, static_cast<size_t>(n), ctx.token, true))
    write_opaque(out, len, ctx.token);
}

// What a UPnP device or control point multicasts to 239.255.255.250:1900
// (UPnP Device Architecture 1.1 §1.2.2 NOTIFY ssdp:alive, §1.3.2 M-SEARCH).
void put_ssdp_multicast(uint8_t* out, size_t len, bool search, const PayloadContext& ctx) {
  char fixed[400];
  const int n =
      search ? std::snprintf(fixed, sizeof fixed,
                             "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                             "MAN: \"ssdp:discover\"\r\nMX: %u\r\nST: ssdp:all\r\n",
                             1 + ctx.token % 5)
             : std::snprintf(fixed, sizeof fixed,
                             "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                             "CACHE-CONTROL: max-age=1800\r\n"
                             "LOCATION: http://192.0.2.%u:%u/rootDesc.xml\r\nNT: upnp:rootdevice\r\n"
                             "NTS: ssdp:alive\r\nSERVER: Linux/5.10 UPnP/1.1 MiniUPnPd/2.2\r\n"
                             "USN: uuid:%08x-0000-1000-8000-00000000%04x::upnp:rootdevice\r\n",
                             ctx.token % 250 + 1, 1024 + ctx.token % 50000, ctx.token,
                             ctx.token & 0xffff);
  if (!put_http_head(out, len, fixed, static_cast<size_t>(n), ctx.token, true))
    write_opaque(out, len, ctx.token);
}

// QUIC v1 (RFC 9000 §17.2, §17.3). Each side's connection ID comes from the
// flow token; a packet carries its peer's as destination. What follows the
// packet number is encrypted, so opaque bytes are faithful.
void put_quic(uint8_t* out, size_t len, bool long_header, uint32_t type, bool from_server,
              const PayloadContext& ctx) {
  const size_t min = long_header ? kQuicLongMinLen : kQuicShortMinLen;
  if (len < min || len > 0x3fff) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint64_t s = ctx.token;
  const uint64_t client_cid = splitmix64(s), server_cid = splitmix64(s);
  const uint64_t dcid = from_server ? client_cid : server_cid;
  const uint64_t scid = from_server ? server_cid : client_cid;
  uint8_t* p = out;
  if (long_header) {
    *p++ = static_cast<uint8_t>(0xc0 | (type & 3) << 4 | 3);  // long, fixed bit, type, 4-byte PN
    put32(p, 1);  // version 1
    p += 4;
    *p++ = kQuicCidLen;
    std::memcpy(p, &dcid, kQuicCidLen);
    p += kQuicCidLen;
    *p++ = kQuicCidLen;
    std::memcpy(p, &scid, kQuicCidLen);
    p += kQuicCidLen;
    if (type == 0) *p++ = 0;  // Initial: no token
    // Length: packet number + payload, as a 2-byte variable-length integer (§16).
    put16(p, 0x4000 | static_cast<uint32_t>(len - static_cast<size_t>(p - out) - 2));
    p += 2;
  } else {
    *p++ = static_cast<uint8_t>(0x40 | 3);  // short, fixed bit, 4-byte PN
    std::memcpy(p, &dcid, kQuicCidLen);
    p += kQuicCidLen;
  }
  write_opaque(p, len - static_cast<size_t>(p - out), ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

void put_ssh_banner(uint8_t* out, size_t len, bool from_server, const PayloadContext& ctx) {
  static constexpr char kClient[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 ";
  static constexpr char kServer[] = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6 ";
  if (len < kSshBannerMinLen || len > 255) {
    write_opaque(out, len, ctx.token);
    return;
  }
  const char* text = from_server ? kServer : kClient;
  const size_t text_len = sizeof(kClient) - 1;
  const size_t body = len - 2;
  if (body <= text_len) {
    std::memcpy(out, text, body);
  } else {
    std::memcpy(out, text, text_len);
    put_letters(out + text_len, body - text_len, ctx.token);
  }
  out[len - 2] = '\r';
  out[len - 1] = '\n';
}

// SSH binary packet framing (RFC 4253 §6): uint32 packet_length, byte
// padding_length, payload, padding. Returns where the payload goes.
uint8_t* put_ssh_packet_header(uint8_t* p, size_t total_len, size_t padding) {
  put32(p, static_cast<uint32_t>(total_len - 4));
  p[4] = static_cast<uint8_t>(padding);
  return p + 5;
}

uint8_t* put_ssh_string(uint8_t* p, const char* s, size_t len) {
  put32(p, static_cast<uint32_t>(len));
  return put_text(p + 4, s, len);
}

void put_ssh_kexinit(uint8_t* out, size_t len, bool from_server, const PayloadContext& ctx) {
  static constexpr const char* kLists[10] = {
      "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256",
      "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
      "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
      "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
      "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
      "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
      "none,zlib@openssh.com",
      "none,zlib@openssh.com",
      "",
      ""};
  size_t lists_len = 0;
  for (const char* l : kLists) lists_len += 4 + std::strlen(l);
  const size_t padding = 4 + (len & 7);
  const size_t fixed = 5 + 1 + 16 + lists_len + 1 + 4 + padding;
  // the surplus extends the kex list with extension pseudo-algorithm names
  if (len < kSshKexInitMinLen || len < fixed + 12) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_ssh_packet_header(out, len, padding);
  *p++ = 20;  // SSH_MSG_KEXINIT
  write_opaque(p, 16, ctx.token + from_server);  // cookie
  p += 16;
  const size_t surplus = len - fixed;  // >= 12
  const size_t kex_len = std::strlen(kLists[0]);
  put32(p, static_cast<uint32_t>(kex_len + surplus));
  p = put_text(p + 4, kLists[0], kex_len);
  *p++ = ',';
  put_letters(p, surplus - 1, ctx.token);
  p += surplus - 1;
  for (int i = 1; i < 10; ++i) p = put_ssh_string(p, kLists[i], std::strlen(kLists[i]));
  *p++ = 0;  // first_kex_packet_follows
  put32(p, 0);
  write_opaque(p + 4, padding, ctx.token);
}

void put_ssh_ecdh_init(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len != kSshEcdhInitLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_ssh_packet_header(out, len, 6);
  *p++ = 30;  // SSH_MSG_KEX_ECDH_INIT
  put32(p, 32);
  write_opaque(p + 4, 32 + 6, ctx.token);  // Q_C, then padding
}

void put_ssh_ecdh_reply(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len != kSshEcdhReplyLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  // first packet: 192 bytes; then NEWKEYS, 16 bytes
  uint8_t* p = put_ssh_packet_header(out, 192, 8);
  *p++ = 31;  // SSH_MSG_KEX_ECDH_REPLY
  put32(p, 51);  // K_S: string "ssh-ed25519", string key
  p = put_ssh_string(p + 4, "ssh-ed25519", 11);
  put32(p, 32);
  write_opaque(p + 4, 32, ctx.token + 3);
  p += 36;
  put32(p, 32);  // Q_S
  write_opaque(p + 4, 32, ctx.token + 4);
  p += 36;
  put32(p, 83);  // signature: string "ssh-ed25519", string blob
  p = put_ssh_string(p + 4, "ssh-ed25519", 11);
  put32(p, 64);
  write_opaque(p + 4, 64 + 8, ctx.token + 5);  // blob, then padding
  p += 4 + 64 + 8;
  p = put_ssh_packet_header(p, kSshNewKeysLen, 10);
  *p++ = 21;  // SSH_MSG_NEWKEYS
  write_opaque(p, 10, ctx.token);
}

void put_ssh_newkeys(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len != kSshNewKeysLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  uint8_t* p = put_ssh_packet_header(out, len, 10);
  *p++ = 21;
  write_opaque(p, 10, ctx.token);
}

void put_rtp(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kRtpHeaderLen) {
    write_opaque(out, len, ctx.token);
    return;
  }
  out[0] = 0x80;  // version 2, no padding/extension/CSRC (RFC 3550 §5.1)
  out[1] = 0x00;  // payload type 0: PCMU (RFC 3551)
  put16(out + 2, ctx.rtp_seq);
  put32(out + 4, ctx.rtp_ts);
  put32(out + 8, ctx.token);  // SSRC
  write_opaque(out + kRtpHeaderLen, len - kRtpHeaderLen,
               ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

// IKEv2 (RFC 7296 §3.1-3.3). SPIs come from the flow's token; the responder's
// is zero in the IKE_SA_INIT request. IKE_SA_INIT carries its payloads in the
// clear; every later message one Encrypted payload (§3.14) of random bytes.
uint8_t* put_ike_payload_header(uint8_t* p, uint8_t next, uint32_t len) {
  p[0] = next;
  p[1] = 0;  // not critical
  put16(p + 2, len);
  return p + 4;
}

void put_ike(uint8_t* out, size_t len, bool from_responder, uint32_t aux, const PayloadContext& ctx) {
  const uint32_t exchange = aux & 0xff;
  const bool response = aux & kIkeResponse;
  if (aux & kIkeNatT) {
    if (len < kNonEspMarkerLen) return write_opaque(out, len, ctx.token);
    put32(out, 0);  // non-ESP marker
    out += kNonEspMarkerLen;
    len -= kNonEspMarkerLen;
  }
  const bool sa_init = exchange == kIkeSaInit;
  // A responder under load answers IKE_SA_INIT with a COOKIE notify alone (§2.6).
  const bool cookie = sa_init && response && len >= kIkeCookieMinLen && len <= kIkeCookieMaxLen;
  if (len < (cookie ? kIkeCookieMinLen : sa_init ? kIkeSaInitMinLen : kIkeEncryptedMinLen))
    return write_opaque(out, len, ctx.token);
  uint64_t s = ctx.token;
  const uint64_t spi_i = splitmix64(s) | 1, spi_r = splitmix64(s) | 1;
  put32(out, static_cast<uint32_t>(spi_i >> 32));
  put32(out + 4, static_cast<uint32_t>(spi_i));
  put32(out + 8, sa_init && !response ? 0 : static_cast<uint32_t>(spi_r >> 32));
  put32(out + 12, sa_init && !response ? 0 : static_cast<uint32_t>(spi_r));
  out[16] = cookie ? 41 : sa_init ? 33 : 46;  // first payload: Notify, SA, or Encrypted
  out[17] = 0x20;               // version 2.0
  out[18] = static_cast<uint8_t>(exchange);
  // I: sent by the original initiator; R: a response (§3.1).
  out[19] = static_cast<uint8_t>((from_responder ? 0 : 0x08) | (response ? 0x20 : 0));
  put32(out + 20, aux >> 16);
  put32(out + 24, static_cast<uint32_t>(len));
  uint8_t* p = out + kIkeHeaderLen;
  if (cookie) {
    p = put_ike_payload_header(p, 0, static_cast<uint32_t>(len - kIkeHeaderLen));
    p[0] = 0;  // protocol id
    p[1] = 0;  // SPI size
    put16(p + 2, 16390);  // COOKIE
    write_opaque(p + 4, len - kIkeHeaderLen - 8, ctx.token + 29);
    return;
  }
  if (!sa_init) {
    // Encrypted: the first inner payload's type, IV, ciphertext, ICV. DPD
    // probes (§2.4) are empty INFORMATIONAL requests.
    const uint8_t inner = exchange == kIkeAuth ? (response ? 36 : 35) : (len > kIkeEncryptedMinLen ? 41 : 0);
    p = put_ike_payload_header(p, inner, static_cast<uint32_t>(len - kIkeHeaderLen));
    write_opaque(p, len - kIkeHeaderLen - 4, ctx.token + (aux >> 16) + (from_responder ? 7 : 0));
    return;
  }
  // SA: one IKE proposal with ENCR_AES_CBC/256, PRF_HMAC_SHA2_256,
  // AUTH_HMAC_SHA2_256_128, DH group 19 (§3.3).
  static constexpr uint8_t kSa[44] = {
      0, 0, 0, 44, 1, 1, 0, 4,                       // last proposal, #1, IKE, no SPI, 4 transforms
      3, 0, 0, 12, 1, 0, 0, 12, 0x80, 0x0e, 1, 0,    // ENCR 12 (AES-CBC), key length 256
      3, 0, 0, 8, 2, 0, 0, 5,                        // PRF 5 (HMAC-SHA2-256)
      3, 0, 0, 8, 3, 0, 0, 12,                       // INTEG 12 (HMAC-SHA2-256-128)
      0, 0, 0, 8, 4, 0, 0, 19};                      // D-H 19 (256-bit ECP)
  p = put_ike_payload_header(p, 34, 4 + sizeof kSa);
  std::memcpy(p, kSa, sizeof kSa);
  p += sizeof kSa;
  p = put_ike_payload_header(p, 40, 8 + 64);  // KE
  put16(p, 19);
  put16(p + 2, 0);
  write_opaque(p + 4, 64, ctx.token + (from_responder ? 11 : 13));
  p += 68;
  p = put_ike_payload_header(p, 41, 4 + 32);  // Nonce
  write_opaque(p, 32, ctx.token + (from_responder ? 17 : 19));
  p += 32;
  for (uint32_t type : {16388u, 16389u}) {  // NAT_DETECTION_SOURCE_IP, _DESTINATION_IP (§2.23)
    p = put_ike_payload_header(p, type == 16388 ? 41 : 43, 4 + 4 + 20);
    p[0] = 0;  // protocol id
    p[1] = 0;  // SPI size
    put16(p + 2, type);
    write_opaque(p + 4, 20, ctx.token + type + (from_responder ? 1 : 0));
    p += 24;
  }
  const size_t vendor = len - static_cast<size_t>(p - out);  // Vendor ID: the rest
  p = put_ike_payload_header(p, 0, static_cast<uint32_t>(vendor));
  write_opaque(p, vendor - 4, ctx.token + 23);
}

// ESP (RFC 4303 §2): SPI, sequence number, then what an observer cannot read.
void put_esp(uint8_t* out, size_t len, const PayloadContext& ctx) {
  if (len < kEspHeaderLen) return write_opaque(out, len, ctx.token);
  put32(out, ctx.esp_spi);
  put32(out + 4, ctx.esp_seq);
  write_opaque(out + kEspHeaderLen, len - kEspHeaderLen, ctx.token + ctx.esp_seq);
}

// IGMP messages; the composer fills in the checksum (bytes 2-3).
void put_igmp(uint8_t* out, size_t len, Payload kind, uint32_t aux) {
  std::memset(out, 0, len);
  switch (kind) {
    case Payload::kIgmpQuery:  // general query: group 0 (RFC 2236 §2.4, RFC 3376 §4.1)
      out[0] = 0x11;
      out[1] = 100;  // Max Resp Time / Code: 10 s
      if (aux == 3 && len >= kIgmpV3QueryLen) {
        out[8] = 2;     // S 0, QRV 2 (robustness variable)
        out[9] = 125;   // QQIC: the 125 s query interval
      }
      return;
    case Payload::kIgmpV2Report:
    case Payload::kIgmpLeave:
      out[0] = kind == Payload::kIgmpLeave ? 0x17 : 0x16;
      if (len >= kIgmpV2Len) put32(out + 4, aux);
      return;
    default: {  // v3 report (RFC 3376 §4.2): group records without sources
      out[0] = 0x22;
      if (len < kIgmpV3ReportHeaderLen) return;
      const uint32_t records = static_cast<uint32_t>((len - kIgmpV3ReportHeaderLen) / kIgmpV3RecordLen);
      put16(out + 6, records);
      for (uint32_t i = 0; i < records; ++i) {
        uint8_t* r = out + kIgmpV3ReportHeaderLen + i * kIgmpV3RecordLen;
        r[0] = static_cast<uint8_t>(aux & 0xff);  // record type
        put32(r + 4, igmp_common_group((aux >> 8) + i));
      }
      return;
    }
  }
}

}  // namespace

uint32_t igmp_common_group(uint32_t index) {
  static constexpr uint32_t kGroups[kIgmpCommonGroups] = {
      0xe00000fb,  // 224.0.0.251 mDNS
      0xeffffffa,  // 239.255.255.250 SSDP
      0xe00000fc,  // 224.0.0.252 LLMNR
      0xe000013c,  // 224.0.1.60 HP device discovery
      0xeffffffd,  // 239.255.255.253 SLP
      0xe0000101,  // 224.0.1.1 NTP
      0xe00000fd,  // 224.0.0.253 Teredo
      0xeffffffe,  // 239.255.255.254
  };
  return kGroups[index % kIgmpCommonGroups];
}

void write_opaque(uint8_t* out, size_t len, uint64_t offset_seed) {
  const auto& pool = opaque_pool();
  if (len > pool.size()) len = pool.size();  // frames never come close
  const size_t off = static_cast<size_t>((offset_seed * 0x9e3779b97f4a7c15ULL) >> 48) % kPoolSize;
  std::memcpy(out, pool.data() + (off + len <= pool.size() ? off : 0), len);
}

uint32_t http_response_head_len(uint32_t content_length) {
  char buf[256];
  return static_cast<uint32_t>(format_response_head(buf, sizeof buf, content_length));
}

uint32_t http_post_head_len(uint32_t content_length) {
  char buf[256];
  return static_cast<uint32_t>(format_post_head(buf, sizeof buf, content_length, 0));
}

void write_payload(uint8_t* out, const PacketSpec& pkt, const PayloadContext& ctx) {
  const size_t len = pkt.payload_len;
  if (len == 0) return;
  const bool from_responder = pkt.dir == kToInitiator;
  switch (pkt.payload) {
    case Payload::kHttpGet: return put_http_get(out, len, ctx);
    case Payload::kHttpPost: {
      char head[256];
      const size_t n = format_post_head(head, sizeof head, pkt.aux, ctx.token);
      return put_head_and_body(out, len, head, n, ctx);
    }
    case Payload::kHttpResponse: {
      char head[256];
      const size_t n = format_response_head(head, sizeof head, pkt.aux);
      return put_head_and_body(out, len, head, n, ctx);
    }
    case Payload::kHttpPartialHead: return put_http_partial_head(out, len, ctx);
    case Payload::kHttpHeaderLine: return put_http_header_line(out, len, ctx);
    case Payload::kTlsClientHello: return put_tls_client_hello(out, len, ctx);
    case Payload::kTlsServerHello: return put_tls_server_hello(out, len, ctx);
    case Payload::kTlsData: return put_tls_data(out, len, ctx);
    case Payload::kDnsQuery: return put_dns(out, len, false, ctx, pkt.aux);
    case Payload::kDnsResponse: return put_dns(out, len, true, ctx, pkt.aux);
    case Payload::kNtp: return put_ntp(out, len, from_responder, ctx);
    case Payload::kNtpMonlist: return put_ntp_monlist(out, len, ctx);
    case Payload::kSsdpResponse: return put_ssdp_response(out, len, ctx);
    case Payload::kSsdpMulticast: return put_ssdp_multicast(out, len, pkt.aux == 1, ctx);
    case Payload::kSshBanner: return put_ssh_banner(out, len, from_responder, ctx);
    case Payload::kSshKexInit: return put_ssh_kexinit(out, len, from_responder, ctx);
    case Payload::kSshEcdhInit: return put_ssh_ecdh_init(out, len, ctx);
    case Payload::kSshEcdhReply: return put_ssh_ecdh_reply(out, len, ctx);
    case Payload::kSshNewKeys: return put_ssh_newkeys(out, len, ctx);
    case Payload::kRtp: return put_rtp(out, len, ctx);
    case Payload::kQuicLong: return put_quic(out, len, true, pkt.aux, from_responder, ctx);
    case Payload::kQuicShort: return put_quic(out, len, false, 0, from_responder, ctx);
    case Payload::kIke: return put_ike(out, len, from_responder, pkt.aux, ctx);
    case Payload::kEsp: return put_esp(out, len, ctx);
    case Payload::kNatKeepalive:
      std::memset(out, 0xff, len);
      return;
    case Payload::kIgmpQuery:
    case Payload::kIgmpV2Report:
    case Payload::kIgmpLeave:
    case Payload::kIgmpV3Report: return put_igmp(out, len, pkt.payload, pkt.aux);
    case Payload::kDhcp: return put_dhcp(out, len, pkt.aux, ctx);
    case Payload::kNbnsQuery: return put_nbns_query(out, len, ctx);
    case Payload::kOpaque:
    case Payload::kIcmpEcho:
    case Payload::kIcmpPortUnreachable:
      break;
  }
  write_opaque(out, len, ctx.token + static_cast<uint64_t>(ctx.ts_us));
}

}  // namespace flowscore::gen
