// Attributes non-first IP fragments to the flow of their first fragment.
//
// Only the first fragment carries the L4 header (ports, ICMP type). flowscore
// does not reassemble: it remembers the first fragment's ports under
// (src, dst, proto, IP id) for a short time, and lends them to the later
// fragments so their packets and bytes count toward the right flow, as
// tshark's per-conversation totals do. Fixed size, allocated once per worker.
#pragma once
#include <cstdint>
#include <vector>

#include "flowscore/packet.hpp"

namespace flowscore {

struct FragmentCounters {
  uint64_t first_seen = 0;     // first fragments remembered
  uint64_t attributed = 0;     // later fragments given their first fragment's ports
  uint64_t unattributed = 0;   // later fragments with no (live) first fragment: counted, not flowed
  uint64_t overwritten = 0;    // a live entry displaced by a newer first fragment (map too small)
};

class FragmentMap {
 public:
  // `capacity` is rounded up to a power of two; entries older than `timeout_ns` are dead.
  FragmentMap(uint32_t capacity, uint64_t timeout_ns);

  // For a Fragment::kFirst packet: remember its L4 fields.
  void remember(const ParsedPacket& p, uint64_t ts_ns);
  // For a Fragment::kLater packet: fill in the L4 fields of its first
  // fragment and return true, or return false (counted) when unknown.
  bool attribute(ParsedPacket& p, uint64_t ts_ns);

  // Forgets every first fragment: a capture file's fragments must not lend
  // ports to the next file's (each file is flowed on its own clock).
  void clear();

  const FragmentCounters& counters() const { return counters_; }

 private:
  struct Slot {
    IpAddress src;
    IpAddress dst;
    uint64_t ts_ns;        // 0 = empty
    uint32_t fragment_id;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t proto;
    uint8_t ip_version;    // an IPv4 address is an IPv6-sized one with zeros after it
    uint8_t icmp_type;
    uint8_t icmp_code;
  };
  static constexpr uint32_t kProbe = 4;  // slots examined per lookup

  uint32_t bucket(const ParsedPacket& p) const;
  static bool same_datagram(const Slot& s, const ParsedPacket& p);
  bool live(const Slot& s, uint64_t ts_ns) const;

  std::vector<Slot> slots_;
  uint32_t mask_;
  uint64_t timeout_ns_;
  FragmentCounters counters_;
};

}  // namespace flowscore
