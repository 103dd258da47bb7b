#include "label_file.hpp"

#include <arpa/inet.h>

#include <cstdio>

namespace flowscore::gen {

void append_timestamp(std::string& out, int64_t us) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1000000),
                              static_cast<long long>(us % 1000000));
  out.append(buf, static_cast<size_t>(n));
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
