// FlowFeatures: the per-packet accumulator behind docs/FEATURES.md.
// Hot path: one call per packet, no allocation, no loops, branches that a
// flow's packets take the same way (first packet, first of a direction, idle
// gap) so they predict well.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "flowscore/features.hpp"

namespace flowscore {

static_assert(std::is_trivially_copyable_v<FlowFeatures>, "the flow table copies and memsets it");
static_assert(FeatureConfig::kMaxFirstPackets <= 8 * sizeof(FlowFeatures::first_forward));

namespace {
constexpr uint32_t kMaxIpLen = 65535;  // FEATURES.md §2: L = min(ip_len, 65535)

// Bit positions of FIN SYN RST URG ECE CWR in the TCP flags byte, in
// rare_flags order (RFC 9293 §3.1, RFC 3168 §6.1).
constexpr int kRareFlagBits[6] = {0, 1, 2, 5, 6, 7};
constexpr uint8_t kRareFlagMask = 0xE7;
constexpr int kPshBit = 3;
constexpr int kAckBit = 4;
}  // namespace

void FlowFeatures::reset(uint64_t ts_ns) {
  std::memset(this, 0, sizeof *this);
  first_ts_ns = last_ts_ns = ts_ns;
  iat_min[0] = iat_min[1] = iat_both_min = active_min = idle_min = UINT32_MAX;
  len_min[0] = len_min[1] = UINT16_MAX;
}

void FlowFeatures::add(const PacketObservation& p, std::span<FirstPacketSlot> first_slots,
                       const FeatureConfig& cfg) {
  const int d = p.forward ? 0 : 1;
  const uint64_t k = packets();  // this packet's index in the record
  // FEATURES.md §3: time never runs backwards inside a record.
  const uint64_t ts = std::max(p.ts_ns, last_ts_ns);
  const uint32_t t = offset_us(ts);
  // The previous packet's time (0 before the first packet: last = first).
  const uint32_t prev_t = offset_us(last_ts_ns);
  const uint32_t gap = t - prev_t;  // 0 for the first packet

  if (k != 0) {
    iat_both_sq += uint64_t{gap} * gap;
    iat_both_min = std::min(iat_both_min, gap);
    iat_both_max = std::max(iat_both_max, gap);
    // §8: a gap strictly longer than the threshold is idle and closes the
    // active period that ended at the previous packet. gap < 2^32, so the
    // product cannot overflow.
    if (uint64_t{gap} * 1000 > cfg.activity_gap_ns) {
      const uint32_t active = prev_t - active_start_us;
      active_sq += uint64_t{active} * active;
      active_min = std::min(active_min, active);
      active_max = std::max(active_max, active);
      active_start_us = t;
      ++idle_count;
      idle_sum += gap;
      idle_sq += uint64_t{gap} * gap;
      idle_min = std::min(idle_min, gap);
    }
  }

  uint32_t& dir_pkts = d == 0 ? pkts_fwd : pkts_bwd;
  // Branch-free on the sender: in a conversation it switches unpredictably.
  // `same` is all ones when this packet's side also sent the previous one;
  // then its latest time is the previous packet's, else the stored one, and
  // on a switch the other side's latest time becomes the previous packet's.
  const uint32_t same = 0u - uint32_t{static_cast<uint32_t>(d) == latest};
  const uint32_t dir_last = (prev_t & same) | (other_last_us & ~same);
  other_last_us = (other_last_us & same) | (prev_t & ~same);
  latest = static_cast<uint8_t>(d);
  if (dir_pkts != 0) {
    const uint32_t dir_gap = t - dir_last;
    iat_sq[d] += uint64_t{dir_gap} * dir_gap;
    iat_min[d] = std::min(iat_min[d], dir_gap);
    iat_max[d] = std::max(iat_max[d], dir_gap);
  } else if (k == 0) {
    opener = static_cast<uint8_t>(d);
  } else {
    second_first_us = t;
  }
  ++dir_pkts;
  (d == 0 ? wire_bytes_fwd : wire_bytes_bwd) += p.wire_len;

  const uint32_t len = std::min(p.ip_len, kMaxIpLen);
  ip_len[d].add(len);
  ip_len_sq[d] += uint64_t{len} * len;
  len_min[d] = static_cast<uint16_t>(std::min<uint32_t>(len_min[d], len));
  payload_bytes[d] += p.payload_len;

  if (p.is_tcp) {
    const uint8_t seen_bit = static_cast<uint8_t>(1u << d);
    if (!(init_win_seen & seen_bit)) {
      init_win[d] = p.tcp_window;
      init_win_seen |= seen_bit;
    }
    const uint32_t flags = p.tcp_flags;
    psh[d] += (flags >> kPshBit) & 1u;
    ack[d] += (flags >> kAckBit) & 1u;
    if (flags & kRareFlagMask) {  // most packets carry only ACK/PSH
      for (int i = 0; i < 6; ++i) {  // unrolled by the compiler: six saturating adds
        uint16_t& count = rare_flags[d][i];
        count = static_cast<uint16_t>(count + (((flags >> kRareFlagBits[i]) & 1u) & (count != UINT16_MAX)));
      }
    }
  }

  if (k < first_slots.size()) {
    first_slots[k] = FirstPacketSlot{static_cast<uint16_t>(len), gap};
    first_forward |= uint32_t{d == 0} << k;  // k < first_slots.size() <= 32
  }
  last_ts_ns = ts;
}

}  // namespace flowscore
