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
  uint8_t tcp_flags = 0;
  bool is_tcp = false;
  bool forward = true;       // sent by the flow's initiator
};

struct FeatureConfig {
  uint32_t first_packets = 8;               // N in "first N packets" (0..kMaxFirstPackets)
  uint64_t activity_gap_ns = 5'000'000'000; // a gap longer than this ends an active period
  static constexpr uint32_t kMaxFirstPackets = 32;
};

// The first N packets of a flow: stored beside the flow table, N per flow,
// so N does not grow the fixed per-flow record.
struct FirstPacketSlot {
  uint16_t ip_len;    // IP length of the packet
  uint8_t forward;    // 1 = from initiator
  uint8_t pad;
  uint32_t gap_us;    // time since the flow's previous packet, µs, saturating
};

// Running per-flow statistics. Plain data (memset-able, trivially copyable):
// it lives inside the flow table entry, so every byte here costs memory per
// tracked flow. Flow accounting (packets, bytes, times) lives here too, once.
struct FlowFeatures {
  // --- accounting the EVE record reads (do not rename: output depends on them)
  uint64_t first_ts_ns;
  uint64_t last_ts_ns;
  uint64_t wire_bytes_fwd;
  uint64_t wire_bytes_bwd;
  uint32_t pkts_fwd;
  uint32_t pkts_bwd;
  // --- running statistics: layout owned by src/features/

  // Starts a flow whose first packet arrives at ts_ns.
  void reset(uint64_t ts_ns);
  // Folds one packet in. Writes first_slots[k] for the k-th packet while
  // k < first_slots.size(). Never allocates.
  void add(const PacketObservation& p, std::span<FirstPacketSlot> first_slots);
  uint64_t packets() const { return uint64_t{pkts_fwd} + pkts_bwd; }
};

class FeatureSpec {
 public:
  explicit FeatureSpec(const FeatureConfig& cfg);
  const std::string& version() const { return version_; }
  const std::vector<std::string>& names() const { return names_; }
  size_t count() const { return names_.size(); }
  const FeatureConfig& config() const { return cfg_; }

  // Writes count() values into `out`. `first` holds min(N, packets) slots.
  void compute(const FlowFeatures& f, std::span<const FirstPacketSlot> first,
               std::span<float> out) const;

 private:
  FeatureConfig cfg_;
  std::string version_;
  std::vector<std::string> names_;
};

}  // namespace flowscore
