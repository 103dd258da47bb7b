#include "label_file.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace flowscore::gen {

void append_timestamp(std::string& out, int64_t us) {
  char buf[32];
  char* end = std::to_chars(buf, buf + 20, us / 1000000).ptr;
  *end++ = '.';
  int64_t frac = us % 1000000;
  for (int i = 5; i >= 0; --i, frac /= 10) end[i] = static_cast<char>('0' + frac % 10);
  out.append(buf, static_cast<size_t>(end + 6 - buf));
}

namespace {

// RFC 5952 text form for IPv6 (what glibc's inet_ntop and tshark print).
void append_address(std::string& out, const IpAddr& a, bool ipv6) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
  out += buf;
}

}  // namespace

void append_label_line(std::string& out, const LabelRow& row, std::string_view label,
                       std::string_view class_name) {
  out += label;
  out += ',';
  out += class_name;
  out += ',';
  out += std::to_string(row.proto);
  out += ',';
  append_address(out, row.src, row.ipv6);
  out += ',';
  out += std::to_string(row.src_port);
  out += ',';
  append_address(out, row.dst, row.ipv6);
  out += ',';
  out += std::to_string(row.dst_port);
  out += ',';
  append_timestamp(out, row.start_us);
  out += ',';
  append_timestamp(out, row.end_us);
  out += '\n';
}

}  // namespace flowscore::gen
