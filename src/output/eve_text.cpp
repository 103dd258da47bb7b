// Text pieces of an EVE line: addresses, timestamps, protocol names, JSON
// strings. Each has a slow twin in tests/output (inet_ntop, gmtime_r +
// strftime, nlohmann::json) that it is compared against.
#include <array>
#include <cstring>

#include "flowscore/eve.hpp"

namespace flowscore {

namespace {

// "0".."255" with their lengths: one table look-up per octet.
struct OctetText {
  std::array<std::array<char, 4>, 256> text{};
  std::array<uint8_t, 256> len{};
  constexpr OctetText() {
    for (int v = 0; v < 256; ++v) {
      int n = 0;
      if (v >= 100) text[v][n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) text[v][n++] = static_cast<char>('0' + v / 10 % 10);
      text[v][n++] = static_cast<char>('0' + v % 10);
      len[v] = static_cast<uint8_t>(n);
    }
  }
};
constexpr OctetText kOctets;

size_t put_ipv4(const uint8_t* b, char* out) {
  size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    if (i) out[n++] = '.';
    std::memcpy(out + n, kOctets.text[b[i]].data(), 4);  // the table rows are 4 bytes
    n += kOctets.len[b[i]];
  }
  return n;
}

// Lowercase hex without leading zeros, like printf("%x").
size_t put_hex16(uint16_t v, char* out) {
  constexpr char kDigits[] = "0123456789abcdef";
  const int digits = v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1;
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = kDigits[v & 0xf];
    v >>= 4;
  }
  return static_cast<size_t>(digits);
}

// glibc resolv/inet_ntop.c, inet_ntop6: compress the first longest run of
// at least two zero groups; print an IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d.
size_t put_ipv6(const uint8_t* b, char* out) {
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) words[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);

  int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
  for (int i = 0; i < 8; ++i) {
    if (words[i] == 0) {
      if (cur_base < 0) cur_base = i, cur_len = 0;
      ++cur_len;
      if (cur_len > best_len) best_base = cur_base, best_len = cur_len;
    } else {
      cur_base = -1;
    }
  }
  if (best_len < 2) best_base = -1;

  size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if (best_base >= 0 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) out[n++] = ':';
      continue;
    }
    if (i != 0) out[n++] = ':';
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      return n + put_ipv4(b + 12, out + n);
    }
    n += put_hex16(words[i], out + n);
  }
  if (best_base >= 0 && best_base + best_len == 8) out[n++] = ':';
  return n;
}

void put_digits(uint32_t v, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant,
// "chrono-Compatible Low-Level Date Algorithms", civil_from_days).
void civil_from_days(int64_t z, uint32_t& year, uint32_t& month, uint32_t& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint32_t doe = static_cast<uint32_t>(z - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<uint32_t>(yoe + era * 400 + (month <= 2));
}

void put_escaped_codepoint(uint32_t cp, fmt::memory_buffer& out) {
  constexpr char kHex[] = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', kHex[(cp >> 12) & 0xf], kHex[(cp >> 8) & 0xf],
                       kHex[(cp >> 4) & 0xf], kHex[cp & 0xf]};
  out.append(esc, esc + 6);
}

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629 §4), 0 if invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const uint8_t c = byte(i);
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

size_t format_ip(const IpAddress& addr, uint8_t ip_version, char* out) {
  return ip_version == 4 ? put_ipv4(addr.bytes.data(), out) : put_ipv6(addr.bytes.data(), out);
}

void format_eve_timestamp(uint64_t ts_ns, char* out) {
  const uint64_t secs = ts_ns / 1'000'000'000;
  const uint32_t micros = static_cast<uint32_t>(ts_ns % 1'000'000'000 / 1000);
  const uint32_t sod = static_cast<uint32_t>(secs % 86400);
  uint32_t year, month, day;
  civil_from_days(static_cast<int64_t>(secs / 86400), year, month, day);
  // 2009-11-23T20:02:53.181233+0000
  std::memcpy(out, "0000-00-00T00:00:00.000000+0000", kEveTimestampLength);
  put_digits(year, 4, out);
  put_digits(month, 2, out + 5);
  put_digits(day, 2, out + 8);
  put_digits(sod / 3600, 2, out + 11);
  put_digits(sod / 60 % 60, 2, out + 14);
  put_digits(sod % 60, 2, out + 17);
  put_digits(micros, 6, out + 20);
}

void format_ecs_timestamp(uint64_t ts_ns, char* out) {
  char eve[kEveTimestampLength];
  format_eve_timestamp(ts_ns, eve);
  std::memcpy(out, eve, kEcsTimestampLength - 1);
  out[kEcsTimestampLength - 1] = 'Z';
}

std::string_view ecs_transport_name(uint8_t proto) {
  switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "ipv6-icmp";
    case 132: return "sctp";
    default: return {};
  }
}

std::string_view eve_proto_name(uint8_t proto) {
  switch (proto) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    default: return {};
  }
}

void append_json_string(std::string_view s, fmt::memory_buffer& out) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': out.append(std::string_view("\\\"")); break;
        case '\\': out.append(std::string_view("\\\\")); break;
        case '\b': out.append(std::string_view("\\b")); break;
        case '\f': out.append(std::string_view("\\f")); break;
        case '\n': out.append(std::string_view("\\n")); break;
        case '\r': out.append(std::string_view("\\r")); break;
        case '\t': out.append(std::string_view("\\t")); break;
        default: put_escaped_codepoint(c, out);
      }
      ++i;
      continue;
    }
    const size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      put_escaped_codepoint(0xfffd, out);
      ++i;
    } else {
      out.append(s.data() + i, s.data() + i + len);
      i += len;
    }
  }
  out.push_back('"');
}

}  // namespace flowscore
