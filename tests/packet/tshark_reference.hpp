// tshark as the independent reference for parse_frame: what Wireshark's
// dissectors say about the outermost IP header and its L4 header, per frame.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flowscore/packet.hpp"

namespace flowscore::test {

// tshark's view of one frame, reduced to what ParsedPacket carries.
struct TsharkFrame {
  std::string protocols;  // frame.protocols, e.g. "eth:ethertype:vlan:ethertype:ip:tcp"
  uint8_t ip_version = 0; // 0: tshark found no IP layer
  IpAddress src, dst;
  std::optional<uint8_t> proto;  // upper-layer protocol after the outer IPv6 chain
  std::optional<uint16_t> src_port, dst_port;
  std::optional<uint8_t> tcp_flags;
  std::optional<uint16_t> tcp_window;
  std::optional<uint8_t> icmp_type, icmp_code;
  std::optional<Fragment> fragment;
  VlanIds vlan;  // vlan.id of the first two VLAN layers before the outer IP header
  bool error = false;  // tshark raised an error-severity expert item (malformed, bogus length)
};

// True when tshark is on PATH.
bool tshark_available();

// Runs tshark over `path` (reassembly off, so each frame stands alone).
// Empty on failure, with `error` set.
std::vector<TsharkFrame> tshark_frames(const std::string& path, std::string& error);

// One frame's verdict: "match"; "agree: ..." when both sides find the frame
// unusable (malformed or cut short); otherwise a short mismatch class naming the
// field or status that disagrees.
std::string compare_with_tshark(ParseStatus status, const ParsedPacket& ours,
                                const TsharkFrame& ref);

// Per-file tally: frames, matches, and mismatches by class (with the first
// frame number of each class, to look at in Wireshark).
struct Tally {
  uint64_t frames = 0;
  uint64_t matched = 0;
  uint64_t matched_ip = 0;  // of `matched`: both parsed IP and every field agreed
  // Frames both sides find unusable: kBadL4Header where tshark also finds no
  // usable L4 header, kTruncated* where tshark also lacks a field we need.
  uint64_t agreed_unusable = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> mismatches;  // class -> (count, first frame)
};

// Reads `path` with libpcap, parses every frame, compares with tshark.
// False with `error` set when the file or tshark cannot be read.
bool compare_capture(const std::string& path, Tally& tally, std::string& error);

}  // namespace flowscore::test
