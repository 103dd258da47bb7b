// Community ID v1; see include/flowscore/community_id.hpp.

// OpenSSL 3 marks the SHA1_Init/Update/Final family deprecated in favour of
// EVP. We keep it on purpose: a SHA_CTX lives on the stack, while EVP
// re-creates its provider context on every EVP_DigestInit (a heap allocation
// per record) and one-shot SHA1() fetches the algorithm by name each call.
// Measured on this machine for the 40-byte input: 74 ns vs 161 ns vs 569 ns.
#define OPENSSL_API_COMPAT 10101
#include "flowscore/community_id.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstring>

namespace flowscore {

namespace {

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58,
                  kProtoSctp = 132;

// Counterpart types of ICMP request/response pairs, exactly the tables of
// pycommunityid's icmp.py / icmp6.py (themselves Zeek's ICMP4_counterpart /
// ICMP6_counterpart). -1 = no counterpart: the message is one-way.
struct IcmpCounterparts {
  std::array<int16_t, 256> v4{};
  std::array<int16_t, 256> v6{};
  constexpr IcmpCounterparts() {
    v4.fill(-1);
    v6.fill(-1);
    const auto pair = [](std::array<int16_t, 256>& t, int a, int b) {
      t[a] = static_cast<int16_t>(b);
      t[b] = static_cast<int16_t>(a);
    };
    pair(v4, 8, 0);      // echo request / echo reply
    pair(v4, 13, 14);    // timestamp / timestamp reply
    pair(v4, 15, 16);    // information request / reply
    pair(v4, 10, 9);     // router solicitation / router advertisement
    pair(v4, 17, 18);    // address mask request / reply
    pair(v6, 128, 129);  // echo request / echo reply
    pair(v6, 130, 131);  // MLD listener query / report
    pair(v6, 133, 134);  // router solicitation / advertisement
    pair(v6, 135, 136);  // neighbor solicitation / advertisement
    pair(v6, 139, 140);  // node information (who-are-you) query / reply
    pair(v6, 144, 145);  // home agent address discovery request / reply
  }
};
constexpr IcmpCounterparts kIcmpCounterparts;

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// RFC 4648 §4 base64 of the 20-byte digest: 6 full groups + 2 bytes with '='.
void base64_sha1(const uint8_t (&in)[SHA_DIGEST_LENGTH], char* out) {
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= SHA_DIGEST_LENGTH; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    out[o++] = kBase64Alphabet[(v >> 18) & 63];
    out[o++] = kBase64Alphabet[(v >> 12) & 63];
    out[o++] = kBase64Alphabet[(v >> 6) & 63];
    out[o++] = kBase64Alphabet[v & 63];
  }
  const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8;
  out[o++] = kBase64Alphabet[(v >> 18) & 63];
  out[o++] = kBase64Alphabet[(v >> 12) & 63];
  out[o++] = kBase64Alphabet[(v >> 6) & 63];
  out[o++] = '=';
}

}  // namespace

IcmpPorts icmp_ports(uint8_t type, uint8_t code, bool is_icmpv6) {
  const int16_t counterpart = (is_icmpv6 ? kIcmpCounterparts.v6 : kIcmpCounterparts.v4)[type];
  if (counterpart < 0) return {type, code, true};
  return {type, static_cast<uint16_t>(counterpart), false};
}

bool community_id_has_ports(uint8_t proto) {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp ||
         proto == kProtoIcmp || proto == kProtoIcmpv6;
}

bool community_id_v1(const Endpoint& src, const Endpoint& dst, uint8_t proto,
                     uint8_t ip_version, uint16_t seed, bool one_way, CommunityIdBuffer out) {
  size_t addr_len;
  if (ip_version == 4) {
    addr_len = 4;
  } else if (ip_version == 6) {
    addr_len = 16;
  } else {
    return false;
  }
  const bool has_ports = community_id_has_ports(proto);
  const bool directional = one_way && (proto == kProtoIcmp || proto == kProtoIcmpv6);

  // Spec: "the numerically smaller IP:port tuple comes first"; addresses
  // compare as network-order bytes, ports as numbers.
  const int addr_cmp = std::memcmp(src.addr.bytes.data(), dst.addr.bytes.data(), addr_len);
  const bool src_first = directional || addr_cmp < 0 ||
                         (addr_cmp == 0 && (!has_ports || src.port < dst.port));
  const Endpoint& a = src_first ? src : dst;
  const Endpoint& b = src_first ? dst : src;

  // seed(2) addr(4|16) addr(4|16) proto(1) pad(1) [port(2) port(2)]: 32-bit aligned.
  uint8_t input[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  input[n++] = static_cast<uint8_t>(seed >> 8);
  input[n++] = static_cast<uint8_t>(seed);
  std::memcpy(input + n, a.addr.bytes.data(), addr_len);
  n += addr_len;
  std::memcpy(input + n, b.addr.bytes.data(), addr_len);
  n += addr_len;
  input[n++] = proto;
  input[n++] = 0;
  if (has_ports) {
    input[n++] = static_cast<uint8_t>(a.port >> 8);
    input[n++] = static_cast<uint8_t>(a.port);
    input[n++] = static_cast<uint8_t>(b.port >> 8);
    input[n++] = static_cast<uint8_t>(b.port);
  }

  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, input, n);
  SHA1_Final(digest, &ctx);

  out[0] = '1';
  out[1] = ':';
  base64_sha1(digest, out.data() + 2);
  return true;
}

std::string community_id_v1(const Endpoint& src, const Endpoint& dst, uint8_t proto,
                            uint8_t ip_version, uint16_t seed, bool one_way) {
  std::array<char, kCommunityIdLength> buf;
  if (!community_id_v1(src, dst, proto, ip_version, seed, one_way, CommunityIdBuffer(buf))) {
    return {};
  }
  return std::string(buf.data(), buf.size());
}

bool community_id_v1(const FlowRecord& record, uint16_t seed, CommunityIdBuffer out) {
  bool one_way = false;
  if (record.proto == kProtoIcmp || record.proto == kProtoIcmpv6) {
    one_way = icmp_ports(record.icmp_type, record.icmp_code, record.proto == kProtoIcmpv6).one_way;
  }
  return community_id_v1(record.src, record.dst, record.proto, record.ip_version, seed, one_way,
                         out);
}

}  // namespace flowscore
