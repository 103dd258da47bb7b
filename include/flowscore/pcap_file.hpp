// Checking a capture file before the pipeline opens it: the one place a bad
// path, a non-capture file or an unsupported link type becomes a message a
// user can act on.
#pragma once
#include <cstddef>
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

// What a capture file holds, from its framing alone (record and block
// headers, no packet data): checked after a run against what the pcap PMD
// delivered, because the PMD ends a burst on libpcap's first error without
// saying so, which looks like the end of the file.
struct CaptureLayout {
  bool classic = false;        // pcap (else pcapng)
  uint64_t packet_records = 0; // pcap records, or pcapng enhanced/simple/obsolete packet blocks
  bool intact = true;          // framing holds to the end of the file
  uint64_t broken_at = 0;      // byte offset where it stops holding (when !intact)
};
// False when the file cannot be opened or is neither format. The file is
// read forward through a buffer of `window_bytes` (tests make it small, so
// headers straddle its edges).
bool read_capture_layout(const std::string& path, CaptureLayout& out, size_t window_bytes = 64 * 1024);
// True when the file starts with a pcapng section header.
bool is_pcapng(const std::string& path);

}  // namespace flowscore
