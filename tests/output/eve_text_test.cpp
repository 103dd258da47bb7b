// The fast text routines of an EVE line against slow, obviously-correct
// twins: inet_ntop(3), gmtime_r(3) + strftime(3), nlohmann::json.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "flowscore/eve.hpp"

namespace flowscore {
namespace {

std::string fast_ip(const IpAddress& a, uint8_t version) {
  char buf[kIpTextMax];
  return std::string(buf, format_ip(a, version, buf));
}

std::string libc_ip(const IpAddress& a, uint8_t version) {
  char buf[INET6_ADDRSTRLEN];
  EXPECT_NE(inet_ntop(version == 4 ? AF_INET : AF_INET6, a.bytes.data(), buf, sizeof buf), nullptr);
  return buf;
}

TEST(FormatIp, Ipv4MatchesInetNtop) {
  std::mt19937_64 rng(1);
  IpAddress a;
  for (const uint32_t fixed : {0u, 0xffffffffu, 0x0a000001u, 0x01020304u, 0x64000a09u}) {
    for (int i = 0; i < 4; ++i) a.bytes[i] = static_cast<uint8_t>(fixed >> (24 - 8 * i));
    EXPECT_EQ(fast_ip(a, 4), libc_ip(a, 4));
  }
  for (int n = 0; n < 200000; ++n) {
    const uint64_t r = rng();
    for (int i = 0; i < 4; ++i) {
      // Mix octet magnitudes so 1-, 2- and 3-digit octets all appear.
      const uint8_t v = static_cast<uint8_t>(r >> (8 * i));
      a.bytes[i] = (r >> (40 + i)) & 1 ? v % 10 : (r >> (50 + i)) & 1 ? v % 100 : v;
    }
    ASSERT_EQ(fast_ip(a, 4), libc_ip(a, 4));
  }
}

TEST(FormatIp, Ipv6MatchesInetNtop) {
  std::mt19937_64 rng(2);
  // Each 16-bit group is zero with probability 1/2 so zero runs of every
  // length and position occur, plus the special forms inet_ntop knows.
  for (int n = 0; n < 500000; ++n) {
    IpAddress a;
    const uint64_t zero_mask = rng(), values = rng(), values2 = rng();
    for (int g = 0; g < 8; ++g) {
      uint16_t w = 0;
      if ((zero_mask >> g) & 1) {
        const uint64_t v = g < 4 ? values >> (16 * g) : values2 >> (16 * (g - 4));
        // Vary digit counts: 1..4 hex digits.
        const int digits = 1 + ((zero_mask >> (8 + 2 * g)) & 3);
        w = static_cast<uint16_t>(v & ((1u << (4 * digits)) - 1));
      }
      if (n % 7 == 0 && g == 5) w = 0xffff;  // IPv4-mapped candidates
      a.bytes[2 * g] = static_cast<uint8_t>(w >> 8);
      a.bytes[2 * g + 1] = static_cast<uint8_t>(w);
    }
    ASSERT_EQ(fast_ip(a, 6), libc_ip(a, 6));
  }
  for (const char* text : {"::", "::1", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:0", "1::",
                           "fe80::1:0:0:1", "1:0:0:1:0:0:0:1", "2001:db8::ff00:42:8329",
                           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::0.0.1.0", "0:0:1::"}) {
    IpAddress a;
    ASSERT_EQ(inet_pton(AF_INET6, text, a.bytes.data()), 1) << text;
    EXPECT_EQ(fast_ip(a, 6), libc_ip(a, 6)) << text;
  }
}

std::string libc_timestamp(uint64_t ts_ns) {
  const time_t secs = static_cast<time_t>(ts_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char full[48];
  std::snprintf(full, sizeof full, "%s.%06u+0000", date,
                static_cast<unsigned>(ts_ns % 1'000'000'000 / 1000));
  return full;
}

TEST(FormatEveTimestamp, MatchesGmtime) {
  char buf[kEveTimestampLength];
  // Suricata's own documentation example.
  format_eve_timestamp(1259006573181233000ull, buf);
  EXPECT_EQ(std::string(buf, kEveTimestampLength), "2009-11-23T20:02:53.181233+0000");
  std::mt19937_64 rng(3);
  const uint64_t year_2400_ns = 13569465600ull * 1'000'000'000ull;
  for (uint64_t ts : {0ull, 999ull, 951782400ull * 1'000'000'000ull /* 2000-02-29 */,
                      4107542399ull * 1'000'000'000ull + 999'999'999ull /* 2100-02-28 end */}) {
    format_eve_timestamp(ts, buf);
    EXPECT_EQ(std::string(buf, kEveTimestampLength), libc_timestamp(ts)) << ts;
  }
  for (int n = 0; n < 200000; ++n) {
    const uint64_t ts = rng() % year_2400_ns;
    format_eve_timestamp(ts, buf);
    ASSERT_EQ(std::string(buf, kEveTimestampLength), libc_timestamp(ts)) << ts;
  }
}

std::string fast_json(std::string_view s) {
  fmt::memory_buffer out;
  append_json_string(s, out);
  return fmt::to_string(out);
}

// Random valid UTF-8 with the characters JSON must escape mixed in.
std::string random_utf8(std::mt19937_64& rng) {
  std::string s;
  const int n = static_cast<int>(rng() % 24);
  for (int i = 0; i < n; ++i) {
    uint32_t cp;
    switch (rng() % 6) {
      case 0: cp = static_cast<uint32_t>(rng() % 0x20); break;          // controls
      case 1: cp = "\"\\/ aZ\x7f"[rng() % 7]; break;                   // specials
      case 2: cp = 0x80 + static_cast<uint32_t>(rng() % 0x780); break;  // 2-byte
      case 3: cp = 0x800 + static_cast<uint32_t>(rng() % 0xf800); break;
      case 4: cp = 0x10000 + static_cast<uint32_t>(rng() % 0x100000); break;
      default: cp = 0x20 + static_cast<uint32_t>(rng() % 0x5f);
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;  // surrogates are not scalar values
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | cp >> 6);
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | cp >> 12);
      s += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | cp >> 18);
      s += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
      s += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return s;
}

TEST(AppendJsonString, ValidUtf8RoundTripsThroughNlohmann) {
  std::mt19937_64 rng(4);
  for (int n = 0; n < 100000; ++n) {
    const std::string s = random_utf8(rng);
    const std::string text = fast_json(s);
    const nlohmann::json parsed = nlohmann::json::parse(text);
    ASSERT_EQ(parsed.get<std::string>(), s) << text;
  }
}

TEST(AppendJsonString, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  const struct {
    std::string in, want;
  } cases[] = {
      {"a\xff" "b", "a" + fffd + "b"},
      {"\x80", fffd},
      {"\xc0\xaf", fffd + fffd},                 // overlong '/'
      {"\xed\xa0\x80", fffd + fffd + fffd},      // UTF-16 surrogate D800
      {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xe2\x82", fffd + fffd},                 // truncated euro sign
      {"ok \xe2\x82\xac", "ok \xe2\x82\xac"},    // the complete one stays
  };
  for (const auto& c : cases) {
    const std::string text = fast_json(c.in);
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(text)) << text;
    EXPECT_EQ(parsed.get<std::string>(), c.want) << text;
  }
}

TEST(EveProtoName, SuricataNames) {
  EXPECT_EQ(eve_proto_name(6), "TCP");
  EXPECT_EQ(eve_proto_name(17), "UDP");
  EXPECT_EQ(eve_proto_name(1), "ICMP");
  EXPECT_EQ(eve_proto_name(58), "IPv6-ICMP");
  EXPECT_EQ(eve_proto_name(132), "SCTP");
  EXPECT_EQ(eve_proto_name(47), "");
}

}  // namespace
}  // namespace flowscore
