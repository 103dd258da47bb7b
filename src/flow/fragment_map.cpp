#include "flowscore/fragment_map.hpp"

#include <rte_hash_crc.h>

#include <algorithm>
#include <bit>

namespace flowscore {

FragmentMap::FragmentMap(uint32_t capacity, uint64_t timeout_ns)
    : slots_(std::bit_ceil(std::max<uint32_t>(capacity, kProbe))),
      mask_(static_cast<uint32_t>(slots_.size() - 1)),
      timeout_ns_(timeout_ns) {}

uint32_t FragmentMap::bucket(const ParsedPacket& p) const {
  uint32_t h = rte_hash_crc(p.src.bytes.data(), p.src.bytes.size(), p.fragment_id);
  h = rte_hash_crc(p.dst.bytes.data(), p.dst.bytes.size(), h ^ p.proto);
  return h & mask_;
}

// RFC 791 §3.2 / RFC 8200 §4.5: fragments of one datagram share source,
// destination, protocol and identification (and, here, the IP version:
// addresses are stored in 16 bytes either way).
bool FragmentMap::same_datagram(const Slot& s, const ParsedPacket& p) {
  return s.fragment_id == p.fragment_id && s.proto == p.proto && s.ip_version == p.ip_version && s.src == p.src &&
         s.dst == p.dst;
}

void FragmentMap::clear() { std::fill(slots_.begin(), slots_.end(), Slot{}); }

bool FragmentMap::live(const Slot& s, uint64_t ts_ns) const {
  // Out-of-order capture timestamps (ts before the slot's) count as live.
  return s.ts_ns != 0 && (ts_ns <= s.ts_ns || ts_ns - s.ts_ns <= timeout_ns_);
}

void FragmentMap::remember(const ParsedPacket& p, uint64_t ts_ns) {
  const uint32_t b = bucket(p);
  Slot* victim = &slots_[b];
  for (uint32_t i = 0; i < kProbe; ++i) {
    Slot& s = slots_[(b + i) & mask_];
    if (!live(s, ts_ns) || same_datagram(s, p)) {
      victim = &s;
      break;
    }
    if (s.ts_ns < victim->ts_ns) victim = &s;  // else displace the oldest live entry
  }
  if (live(*victim, ts_ns) && !same_datagram(*victim, p)) ++counters_.overwritten;
  *victim = Slot{p.src, p.dst, ts_ns == 0 ? 1 : ts_ns, p.fragment_id, p.src_port, p.dst_port,
                 p.proto, p.ip_version, p.icmp_type, p.icmp_code};
  ++counters_.first_seen;
}

bool FragmentMap::attribute(ParsedPacket& p, uint64_t ts_ns) {
  const uint32_t b = bucket(p);
  for (uint32_t i = 0; i < kProbe; ++i) {
    const Slot& s = slots_[(b + i) & mask_];
    if (live(s, ts_ns) && same_datagram(s, p)) {
      p.src_port = s.src_port;
      p.dst_port = s.dst_port;
      p.icmp_type = s.icmp_type;
      p.icmp_code = s.icmp_code;
      p.tcp_flags = 0;
      p.has_l4 = true;
      ++counters_.attributed;
      return true;
    }
  }
  ++counters_.unattributed;
  return false;
}

}  // namespace flowscore
