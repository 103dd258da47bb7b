// FeatureSpec: column names and the per-record feature vector of
// docs/FEATURES.md. Runs once per record, not per packet. The column order is
// the document's §7 table; names() and compute() walk it in the same order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "flowscore/features.hpp"

namespace flowscore {

namespace {
using u128 = unsigned __int128;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
constexpr const char* kDirs[2] = {"fwd", "bwd"};
constexpr const char* kRareFlagNames[6] = {"fin", "syn", "rst", "urg", "ece", "cwr"};

// FEATURES.md §6: integers go to float32 through float64, rounded each time
// to nearest-even (exact below 2^53, then below 2^24).
float to_f32(uint64_t x) { return static_cast<float>(static_cast<double>(x)); }

// Appends min, max, mean, std of a multiset given its exact moments
// (FEATURES.md §5). The integers are exact; the only rounding is in the three
// binary64 operations and the final float32.
float* put_stats(float* out, uint64_t n, uint64_t min, uint64_t max, uint64_t sum, u128 sum_sq) {
  if (n == 0) {
    std::fill_n(out, 4, kMissing);
    return out + 4;
  }
  // n·Q − S² ≥ 0 by Cauchy–Schwarz; < 2^33 · 2^65 = 2^98 for every set here.
  const u128 scaled_m2 = u128{n} * sum_sq - u128{sum} * sum;
  const double dn = static_cast<double>(n);
  out[0] = to_f32(min);
  out[1] = to_f32(max);
  out[2] = static_cast<float>(static_cast<double>(sum) / dn);
  out[3] = static_cast<float>(std::sqrt(static_cast<double>(scaled_m2)) / dn);
  return out + 4;
}

void add_stat_names(std::vector<std::string>& names, const std::string& prefix, const char* unit) {
  for (const char* stat : {"min", "max", "mean", "std"}) names.push_back(fmt::format("{}_{}{}", prefix, stat, unit));
}
}  // namespace

FeatureSpec::FeatureSpec(const FeatureConfig& cfg) : cfg_(cfg) {
  if (cfg.first_packets > FeatureConfig::kMaxFirstPackets) {
    throw std::invalid_argument(fmt::format("features.first_packets must be 0..{}, got {}",
                                            FeatureConfig::kMaxFirstPackets, cfg.first_packets));
  }
  version_ = fmt::format("{} first_packets={} activity_gap_ns={} pair_window_ns={}", kDocVersion,
                         cfg.first_packets, cfg.activity_gap_ns, cfg.pair_window_ns);
  for (const char* d : kDirs) names_.push_back(fmt::format("pkts_{}", d));
  for (const char* d : kDirs) names_.push_back(fmt::format("bytes_wire_{}", d));
  for (const char* d : kDirs) names_.push_back(fmt::format("bytes_ip_{}", d));
  for (const char* d : kDirs) names_.push_back(fmt::format("bytes_payload_{}", d));
  names_.push_back("duration_us");
  for (const char* d : {"fwd", "bwd", "both"}) add_stat_names(names_, fmt::format("len_{}", d), "");
  for (const char* d : {"fwd", "bwd", "both"}) add_stat_names(names_, fmt::format("iat_{}", d), "_us");
  for (const char* d : kDirs) {
    // Bit order of the flags byte: FIN SYN RST PSH ACK URG ECE CWR.
    for (const char* flag : {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"}) {
      names_.push_back(fmt::format("tcp_{}_{}", flag, d));
    }
  }
  for (const char* d : kDirs) names_.push_back(fmt::format("tcp_init_win_{}", d));
  add_stat_names(names_, "active", "_us");
  add_stat_names(names_, "idle", "_us");
  names_.push_back("pair_flows");
  for (uint32_t k = 0; k < cfg.first_packets; ++k) names_.push_back(fmt::format("first_len_{}", k));
  for (uint32_t k = 0; k < cfg.first_packets; ++k) names_.push_back(fmt::format("first_dir_{}", k));
  for (uint32_t k = 0; k < cfg.first_packets; ++k) names_.push_back(fmt::format("first_gap_us_{}", k));
}

void FeatureSpec::compute(const FlowFeatures& f, std::span<const FirstPacketSlot> first,
                          std::span<float> out_span) const {
  if (out_span.size() < count()) {
    throw std::invalid_argument(fmt::format("feature vector needs {} floats, got {}", count(), out_span.size()));
  }
  float* out = out_span.data();
  const uint64_t pkts[2] = {f.pkts_fwd, f.pkts_bwd};
  const uint64_t n = f.packets();

  *out++ = to_f32(pkts[0]);
  *out++ = to_f32(pkts[1]);
  *out++ = to_f32(f.wire_bytes_fwd);
  *out++ = to_f32(f.wire_bytes_bwd);
  const uint64_t ip_bytes[2] = {f.ip_len[0].sum(), f.ip_len[1].sum()};
  const uint64_t len_max[2] = {f.ip_len[0].max(), f.ip_len[1].max()};
  for (int d = 0; d < 2; ++d) *out++ = to_f32(ip_bytes[d]);
  for (int d = 0; d < 2; ++d) *out++ = to_f32(f.payload_bytes[d]);
  const uint32_t last_t = f.offset_us(f.last_ts_ns);
  *out++ = to_f32(last_t);  // duration: the first packet is at 0

  // Packet lengths; "both" merges the two directions' sums.
  for (int d = 0; d < 2; ++d) {
    out = put_stats(out, pkts[d], f.len_min[d], len_max[d], ip_bytes[d], f.ip_len_sq[d]);
  }
  out = put_stats(out, n, std::min(f.len_min[0], f.len_min[1]), std::max(len_max[0], len_max[1]),
                  ip_bytes[0] + ip_bytes[1], u128{f.ip_len_sq[0]} + f.ip_len_sq[1]);

  // Inter-arrival times. The gaps of a direction telescope: their sum is
  // the direction's last time minus its first.
  for (int d = 0; d < 2; ++d) {
    const uint64_t gaps = pkts[d] > 0 ? pkts[d] - 1 : 0;
    out = put_stats(out, gaps, f.iat_min[d], f.iat_max[d], f.last_us(d) - f.first_us(d), f.iat_sq[d]);
  }
  out = put_stats(out, n > 0 ? n - 1 : 0, f.iat_both_min, f.iat_both_max, last_t, f.iat_both_sq);

  for (int d = 0; d < 2; ++d) {
    const uint16_t* rare = f.rare_flags[d];  // FIN SYN RST URG ECE CWR
    const uint64_t counts[8] = {rare[0], rare[1], rare[2], f.psh[d], f.ack[d], rare[3], rare[4], rare[5]};
    for (uint64_t c : counts) *out++ = to_f32(c);
  }
  for (int d = 0; d < 2; ++d) *out++ = (f.init_win_seen >> d) & 1 ? to_f32(f.init_win[d]) : kMissing;

  // Active periods: the closed ones plus the one still open at the last
  // packet. Idle gaps and active periods partition the duration (§8).
  if (n == 0) {
    std::fill_n(out, 8, kMissing);
    out += 8;
  } else {
    const uint32_t open = last_t - f.active_start_us;
    out = put_stats(out, uint64_t{f.idle_count} + 1, std::min(f.active_min, open), std::max(f.active_max, open),
                    last_t - f.idle_sum, u128{f.active_sq} + uint64_t{open} * open);
    // The longest gap is idle whenever any gap is.
    out = put_stats(out, f.idle_count, f.idle_min, f.iat_both_max, f.idle_sum, f.idle_sq);
  }
  *out++ = to_f32(f.pair_flows);

  const size_t shown = std::min<uint64_t>({cfg_.first_packets, first.size(), n});
  const uint32_t first_n = cfg_.first_packets;
  for (size_t k = 0; k < first_n; ++k) {
    const bool have = k < shown;
    out[k] = have ? to_f32(first[k].ip_len) : kMissing;
    out[first_n + k] = have ? to_f32((f.first_forward >> k) & 1) : kMissing;
    out[2 * first_n + k] = have ? to_f32(first[k].gap_us) : kMissing;
  }
}

}  // namespace flowscore
