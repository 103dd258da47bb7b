// Per-flow features: what the model sees. The authoritative definition of
// every feature is docs/FEATURES.md; FeatureSpec::version() names that text's
// version, and a model trained on another version is refused.
//
// Hot path: FlowFeatures::add() runs once per packet; it must not allocate,
// branch little, and stay small (the flow table's memory per flow counts).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace flowscore {

// One packet as the feature accumulator sees it.
struct PacketObservation {
  uint64_t ts_ns = 0;        // packet time (pcap time offline, TSC-derived live)
  uint32_t wire_len = 0;     // frame length on the wire
  uint32_t ip_len = 0;       // IP length from the outer IP header
  uint32_t payload_len = 0;  // L4 payload bytes
  uint16_t tcp_window = 0;
  uint8_t tcp_flags = 0;     // 0 unless is_tcp
  bool is_tcp = false;       // carries a parsed TCP header
  bool forward = true;       // sent by the flow's initiator
};

struct FeatureConfig {
  uint32_t first_packets = 8;               // N in "first N packets" (0..kMaxFirstPackets)
  uint64_t activity_gap_ns = 5'000'000'000; // a gap longer than this ends an active period
  uint64_t pair_window_ns = 60'000'000'000; // epoch of the pair_flows count (>= 1 s)
  static constexpr uint32_t kMaxFirstPackets = 32;  // one bit each in FlowFeatures::first_forward
};

// One of the first N packets of a record, as stored beside the flow table
// (N per flow, so N does not grow the fixed per-flow record): its length and
// the gap before it, both exact, in 6 bytes. Its direction is bit k of
// FlowFeatures::first_forward, so N = 8 costs 48 B per tracked flow.
struct [[gnu::packed]] FirstPacketSlot {
  uint16_t ip_len;  // L, the IP length capped at 65535 (FEATURES.md §2)
  uint32_t gap_us;  // time since the record's previous packet, µs (0 for the first)
};
static_assert(sizeof(FirstPacketSlot) == 6);

// Running per-flow statistics. Plain data (memset-able, trivially copyable):
// it lives inside the flow table entry, so every byte here costs memory per
// tracked flow. Flow accounting (packets, bytes, times) lives here too, once.
//
// Every sum is an exact integer; docs/FEATURES.md §9 gives the bounds that
// keep it so. They hold while a record has < 2^32 packets per direction (the
// counters' width) and spans < kMaxSpanNs: the flow table's active timeout
// must end a record before either limit (times saturate past the span).
struct FlowFeatures {
  // --- accounting the EVE record reads (do not rename: output depends on them)
  uint64_t first_ts_ns;
  uint64_t last_ts_ns;        // monotone: max of the packet times seen
  uint64_t wire_bytes_fwd;
  uint64_t wire_bytes_bwd;
  uint32_t pkts_fwd;
  uint32_t pkts_bwd;
  // --- running statistics. Index [0] is forward, [1] backward. Times are µs
  // offsets from the record's first packet (FEATURES.md §3), in 32 bits.
  // Σ L and max L of a direction (L = min(ip_len, 65535)) in one word: the
  // sum in the low 48 bits (Σ L < 2^32 packets · 2^16 = 2^48, so it never
  // carries into the max), the max in the high 16. One load, one store.
  struct IpLengths {
    uint64_t bits;
    static constexpr uint64_t kSumMask = (uint64_t{1} << 48) - 1;
    uint64_t sum() const { return bits & kSumMask; }
    uint16_t max() const { return static_cast<uint16_t>(bits >> 48); }
    void add(uint32_t len) {
      const uint64_t longest = bits >> 48 > len ? bits >> 48 : len;
      bits = (bits & kSumMask) + len + (longest << 48);
    }
  } ip_len[2];
  uint64_t ip_len_sq[2];      // Σ L²  (< 2^32 packets · 65535² < 2^64)
  uint64_t payload_bytes[2];
  uint64_t iat_sq[2];         // Σ gap² between packets of one direction (≤ span² < 2^64)
  uint64_t iat_both_sq;       // Σ gap² between consecutive packets
  uint64_t active_sq;         // Σ duration² of the active periods closed so far
  uint64_t idle_sq;           // Σ idle gap²
  // Each direction's first and latest packet times, two of the four implied:
  // the record's first packet is at 0 (§3), its latest at offset_us(last_ts_ns).
  uint32_t second_first_us;   // first packet of the direction that spoke second (0 until it does)
  uint32_t other_last_us;     // latest packet of the direction that did not send the latest one
  uint32_t iat_min[2];
  uint32_t iat_max[2];
  uint32_t iat_both_min;
  uint32_t iat_both_max;
  uint32_t active_start_us;   // start of the current (open) active period
  uint32_t active_min;        // over closed active periods
  uint32_t active_max;
  uint32_t idle_count;        // each idle gap is >= 1 µs, so this is < 2^32 too
  uint32_t idle_sum;          // ≤ span
  uint32_t idle_min;
  uint32_t psh[2];            // PSH and ACK are common: exact counts
  uint32_t ack[2];
  uint16_t rare_flags[2][6];  // FIN SYN RST URG ECE CWR, saturating at 65535 (FEATURES.md §7)
  uint16_t len_min[2];
  uint16_t init_win[2];
  uint32_t first_forward;     // bit k set when the record's packet k (< kMaxFirstPackets) was forward
  uint8_t init_win_seen;      // bit d set once direction d carried TCP
  uint8_t opener;             // direction of the record's first packet (0 forward, 1 backward)
  uint8_t latest;             // direction of the record's latest packet
  uint8_t pair_flows;         // set by the flow table after reset(): FEATURES.md §7a

  // Times beyond this distance from the record's first packet saturate.
  static constexpr uint64_t kMaxSpanNs = uint64_t{UINT32_MAX} * 1000;

  // Starts a flow whose first packet arrives at ts_ns.
  void reset(uint64_t ts_ns);
  // Folds one packet in. Writes first_slots[k] for the k-th packet while
  // k < first_slots.size(). `cfg` supplies the activity gap (idle threshold).
  // Never allocates; the only divisions are by the constant 1000 (a multiply).
  void add(const PacketObservation& p, std::span<FirstPacketSlot> first_slots, const FeatureConfig& cfg);
  uint64_t packets() const { return uint64_t{pkts_fwd} + pkts_bwd; }
  // Time of direction d's first and latest packet (0 while it has none).
  uint32_t first_us(int d) const { return d == opener ? 0 : second_first_us; }
  uint32_t last_us(int d) const { return d == latest ? offset_us(last_ts_ns) : other_last_us; }
  // µs since the record's first packet (FEATURES.md §3), saturating.
  uint32_t offset_us(uint64_t ts_ns) const {
    const uint64_t us = ts_ns / 1000 - first_ts_ns / 1000;
    return us < UINT32_MAX ? static_cast<uint32_t>(us) : UINT32_MAX;
  }
};
// Paid once per tracked flow: the flow table's goal is <= 256 B per flow in
// all (issue 2 §8). Every field above is the narrowest width that keeps its
// sum exact; growing this needs a reason.
static_assert(sizeof(FlowFeatures) <= 240, "FlowFeatures grew: see the flow table's memory budget");

class FeatureSpec {
 public:
  // Throws std::invalid_argument when cfg.first_packets > kMaxFirstPackets.
  explicit FeatureSpec(const FeatureConfig& cfg);
  const std::string& version() const { return version_; }
  const std::vector<std::string>& names() const { return names_; }
  size_t count() const { return names_.size(); }
  const FeatureConfig& config() const { return cfg_; }

  // Writes count() values into `out` (throws std::invalid_argument when it is
  // shorter). `first` holds min(N, packets) slots; missing ones read as NaN.
  void compute(const FlowFeatures& f, std::span<const FirstPacketSlot> first,
               std::span<float> out) const;

  // Docs version, without the configuration suffix.
  static constexpr const char* kDocVersion = "flowscore-features v2";
  // Columns that do not depend on N (docs/FEATURES.md §7).
  static constexpr size_t kFixedColumns = 60;

 private:
  FeatureConfig cfg_;
  std::string version_;
  std::vector<std::string> names_;
};

}  // namespace flowscore
