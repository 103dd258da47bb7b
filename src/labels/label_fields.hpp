// Parsers for the cells of a label file (docs/LABELS.md). Private to
// src/labels. Each returns false and says why in `why` (without the line
// number: the caller knows it).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowscore/packet.hpp"

namespace flowscore::labels {

// An address prefix. version 0 = any address of either family.
struct Cidr {
  IpAddress net;
  uint8_t version = 0;
  uint8_t prefix_len = 0;
  bool contains(const IpAddress& a, uint8_t ip_version) const;
};

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
  bool contains(uint16_t p) const { return lo <= p && p <= hi; }
};

// "" or "*" means "any" for every optional cell.
bool is_wildcard(std::string_view cell);

// A plain IPv4 or IPv6 address (inet_pton forms).
bool parse_address(std::string_view text, IpAddress& out, uint8_t& version, std::string& why);
// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
// Host bits set beyond the prefix are refused: 10.1.2.3/8 is more likely a
// typo than a wish for 10.0.0.0/8.
bool parse_cidr(std::string_view text, Cidr& out, std::string& why);
// "80", "1024-65535", "*".
bool parse_port_range(std::string_view text, PortRange& out, std::string& why);
// A single port or ICMP type/code, 0..65535.
bool parse_port(std::string_view text, uint16_t& out, std::string& why);
// IANA protocol number 0..255 or a name (tcp, udp, icmp, icmpv6, sctp, ...).
bool parse_proto(std::string_view text, uint8_t& out, std::string& why);
// Decimal seconds since the epoch, up to 9 fraction digits, to exact
// nanoseconds (no binary floating point, so 1700000000.000001 stays exact).
bool parse_epoch_ns(std::string_view text, uint64_t& out, std::string& why);
// Labels end up as a CSV cell and a class name: letters, digits, '_', '-',
// '.', ':', '/' only.
bool valid_label(std::string_view text, std::string& why);

// Splits one line on commas, trimming spaces/tabs around each cell. Label
// files are plain CSV without quoting (no cell may contain a comma).
void split_cells(std::string_view line, std::vector<std::string_view>& cells);

}  // namespace flowscore::labels
