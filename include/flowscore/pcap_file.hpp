// Checking a capture file before the pipeline opens it: the one place a bad
// path, a non-capture file or an unsupported link type becomes a message a
// user can act on.
#pragma once
#include <cstdint>
#include <string>

#include "flowscore/packet.hpp"

namespace flowscore {

struct PcapFileInfo {
  LinkType link = LinkType::kEthernet;
  uint32_t pcap_linktype = 0;  // LINKTYPE_* number (https://www.tcpdump.org/linktypes.html)
  uint32_t snaplen = 0;        // as libpcap reports it for the file
  // Timestamps are finer than a microsecond: pcap's nanosecond magic
  // (0xa1b23c4d), or a pcapng if_tsresol finer than 10^-6 s on the first interface.
  bool nanosecond = false;
};

// Opens `path` with libpcap (pcap or pcapng) and fills `out`. On failure
// returns false and sets `error` to one sentence naming the file and the
// problem: missing, empty, not a capture, or a link type flowscore cannot parse
// (with the list of those it can).
bool probe_pcap_file(const std::string& path, PcapFileInfo& out, std::string& error);

}  // namespace flowscore
