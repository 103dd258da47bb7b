// The label file: one CSV row per generated flow. Its columns are a contract
// with the label reader (docs/GENERATOR.md): never reorder or rename them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "frame_composer.hpp"

namespace flowscore::gen {

inline constexpr std::string_view kLabelHeader =
    "label,class,proto,src_ip,src_port,dst_ip,dst_port,start,end\n";

struct LabelRow {
  IpAddr src;  // the flow's initiator
  IpAddr dst;
  int64_t start_us = 0;  // first and last packet, microseconds since the epoch
  int64_t end_us = 0;
  uint32_t packets = 0;
  uint16_t src_port = 0;  // ICMP: type of the initiator's first packet
  uint16_t dst_port = 0;  // ICMP: its code
  uint16_t class_id = 0;
  uint8_t proto = 0;      // IANA protocol number
  bool ipv6 = false;
};

// Appends one CSV line for `row` to `out`.
void append_label_line(std::string& out, const LabelRow& row, std::string_view label,
                       std::string_view class_name);

// "1700000000.123456": seconds with exactly six decimals, like pcap timestamps.
void append_timestamp(std::string& out, int64_t us);

}  // namespace flowscore::gen
