#include "label_fields.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace flowscore::labels {
namespace {

template <typename T>
bool parse_unsigned(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string quoted(std::string_view s) {
  // Built by append: GCC 12 warns falsely (-Wrestrict, bug 105651) on "'" + string.
  std::string out(1, '\'');
  out.append(s);
  out += '\'';
  return out;
}

}  // namespace

bool Cidr::contains(const IpAddress& a, uint8_t ip_version) const {
  if (version == 0) return true;
  if (version != ip_version) return false;
  const uint32_t full_bytes = prefix_len / 8;
  if (std::memcmp(a.bytes.data(), net.bytes.data(), full_bytes) != 0) return false;
  const uint32_t rest_bits = prefix_len % 8;
  if (rest_bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return (a.bytes[full_bytes] & mask) == net.bytes[full_bytes];
}

bool is_wildcard(std::string_view cell) { return cell.empty() || cell == "*"; }

bool parse_address(std::string_view text, IpAddress& out, uint8_t& version, std::string& why) {
  // inet_pton wants a NUL-terminated string; the longest textual IPv6
  // address (with an embedded IPv4 tail) is 45 characters.
  std::array<char, 64> buf{};
  if (text.empty() || text.size() >= buf.size()) {
    why = "bad address " + quoted(text);
    return false;
  }
  std::copy(text.begin(), text.end(), buf.begin());
  out = IpAddress{};
  if (inet_pton(AF_INET, buf.data(), out.bytes.data()) == 1) {
    version = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf.data(), out.bytes.data()) == 1) {
    version = 6;
    return true;
  }
  why = "bad address " + quoted(text) + " (expected IPv4 or IPv6)";
  return false;
}

bool parse_cidr(std::string_view text, Cidr& out, std::string& why) {
  out = Cidr{};
  if (is_wildcard(text)) return true;
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (!parse_address(addr, out.net, out.version, why)) {
    why = "bad CIDR " + quoted(text) + ": " + why;
    return false;
  }
  const unsigned max_len = out.version == 4 ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos &&
      (!parse_unsigned(text.substr(slash + 1), len) || len > max_len)) {
    why = "bad CIDR " + quoted(text) + ": prefix length must be 0.." + std::to_string(max_len);
    return false;
  }
  out.prefix_len = static_cast<uint8_t>(len);
  for (unsigned bit = len; bit < max_len; ++bit) {
    if (out.net.bytes[bit / 8] & (0x80 >> (bit % 8))) {
      why = "bad CIDR " + quoted(text) + ": address has bits set beyond the /" +
            std::to_string(len) + " prefix";
      return false;
    }
  }
  return true;
}

bool parse_port(std::string_view text, uint16_t& out, std::string& why) {
  unsigned v = 0;
  if (!parse_unsigned(text, v) || v > 65535) {
    why = "bad port " + quoted(text) + " (expected 0..65535)";
    return false;
  }
  out = static_cast<uint16_t>(v);
  return true;
}

bool parse_port_range(std::string_view text, PortRange& out, std::string& why) {
  out = PortRange{};
  if (is_wildcard(text)) return true;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!parse_port(text, out.lo, why)) return false;
    out.hi = out.lo;
    return true;
  }
  if (!parse_port(text.substr(0, dash), out.lo, why) ||
      !parse_port(text.substr(dash + 1), out.hi, why)) {
    why = "bad port range " + quoted(text) + " (expected LO-HI, 0..65535)";
    return false;
  }
  if (out.lo > out.hi) {
    why = "bad port range " + quoted(text) + ": low end above high end";
    return false;
  }
  return true;
}

bool parse_proto(std::string_view text, uint8_t& out, std::string& why) {
  unsigned v = 0;
  if (parse_unsigned(text, v)) {
    if (v > 255) {
      why = "bad protocol " + quoted(text) + " (numbers are 0..255)";
      return false;
    }
    out = static_cast<uint8_t>(v);
    return true;
  }
  // IANA "Assigned Internet Protocol Numbers", the ones flows commonly carry.
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"icmp", 1},   {"igmp", 2},  {"tcp", 6},   {"udp", 17},     {"gre", 47},
      {"esp", 50},   {"ah", 51},   {"icmpv6", 58}, {"ipv6-icmp", 58}, {"sctp", 132},
  };
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [name, number] : kNames) {
    if (lower == name) {
      out = number;
      return true;
    }
  }
  why = "bad protocol " + quoted(text) +
        " (expected 0..255 or one of icmp igmp tcp udp gre esp ah icmpv6 ipv6-icmp sctp)";
  return false;
}

bool parse_epoch_ns(std::string_view text, uint64_t& out, std::string& why) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  uint64_t seconds = 0;
  uint64_t nanos = 0;
  // 18446744073 s is where uint64 nanoseconds overflow (year 2554).
  constexpr uint64_t kMaxSeconds = 18'446'744'072;
  const bool whole_ok = parse_unsigned(whole, seconds) && seconds <= kMaxSeconds;
  const bool frac_ok = dot == std::string_view::npos ||
                       (!frac.empty() && frac.size() <= 9 && parse_unsigned(frac, nanos));
  if (!whole_ok || !frac_ok) {
    why = "bad time " + quoted(text) +
          " (expected seconds since the epoch, e.g. 1700000000.123456, at most 9 decimals)";
    return false;
  }
  for (size_t i = frac.size(); i < 9; ++i) nanos *= 10;
  out = seconds * 1'000'000'000ull + nanos;
  return true;
}

bool valid_label(std::string_view text, std::string& why) {
  const bool ok = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
  });
  if (!ok) {
    why = "bad label " + quoted(text) +
          " (non-empty; letters, digits and _ - . : / only)";
  }
  return ok;
}

void split_cells(std::string_view line, std::vector<std::string_view>& cells) {
  cells.clear();
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

}  // namespace flowscore::labels
