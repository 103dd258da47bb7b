// FlowFeatures/FeatureSpec against a slow, obviously-correct twin written
// from docs/FEATURES.md: it keeps every packet, then computes each feature
// from the whole list with textbook two-pass formulas in long double.
//
// Two comparisons per column:
//  * `spec`: the document's own binary64 formulas (§5) applied to moments the
//    twin sums from the packet list. §9 claims two correct implementations
//    agree bit for bit, so this must be exactly equal for every column.
//  * `textbook`: two-pass mean/std in long double. Integer-valued columns
//    must be exactly equal; mean/std may differ by at most 1 float32 ulp
//    (justified at `kMaxUlpRounded`).
//
// This header holds the twin and the comparison, shared by the GoogleTest
// suite (features_test.cpp) and the libFuzzer target (tests/fuzz).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "flowscore/features.hpp"

namespace flowscore::feature_twin {

using u128 = unsigned __int128;

// The document's mean/std go through at most three binary64 roundings, each
// ≤ 2^-53 relative; the long-double two-pass twin is within ~n·2^-64
// relative (n ≤ 10^5 here, so < 2^-47). Both are far inside half a float32
// ulp (2^-24) of the true value, so after rounding to float32 they are the
// same float, or the two neighbours of a rounding midpoint: ≤ 1 ulp apart.
constexpr int64_t kMaxUlpRounded = 1;
// pair_flows counts other flows (FEATURES.md §7a): the flow table sets it, the
// accumulator carries it to the record unchanged. Any value will do here.
constexpr uint8_t kPairFlows = 7;

struct Packet {
  uint64_t ts_ns;
  bool forward;
  uint32_t wire_len;
  uint32_t ip_len;
  uint32_t payload_len;
  bool is_tcp;
  uint8_t flags;
  uint16_t window;
};

struct Expected {
  float spec;      // FEATURES.md formulas on exact sums
  float textbook;  // two-pass long double
  bool rounded;    // value went through a non-exact operation (mean, std)
};

inline float f32(uint64_t x) { return static_cast<float>(static_cast<double>(x)); }
inline const float kNaN = std::numeric_limits<float>::quiet_NaN();

class Twin {
 public:
  Twin(const std::vector<Packet>& pkts, const FeatureConfig& cfg) {
    // §3: monotone time, truncated to µs, relative to the first packet, saturating.
    std::vector<uint64_t> t;
    uint64_t e = pkts.empty() ? 0 : pkts[0].ts_ns;
    for (const Packet& p : pkts) {
      e = std::max(e, p.ts_ns);
      t.push_back(std::min<uint64_t>(e / 1000 - pkts[0].ts_ns / 1000, UINT32_MAX));
    }
    const char* dirs[2] = {"fwd", "bwd"};
    std::vector<uint64_t> len[3], iat[3], idle, active;
    uint64_t count[2] = {}, wire[2] = {}, ip[2] = {}, payload[2] = {};
    uint64_t flag_count[2][8] = {};
    int64_t last_t[2] = {-1, -1};
    bool win_seen[2] = {};
    uint16_t win[2] = {};
    size_t run_start = 0;
    for (size_t i = 0; i < pkts.size(); ++i) {
      const Packet& p = pkts[i];
      const int d = p.forward ? 0 : 1;
      const uint64_t l = std::min<uint32_t>(p.ip_len, 65535);
      ++count[d];
      wire[d] += p.wire_len;
      ip[d] += l;
      payload[d] += p.payload_len;
      len[d].push_back(l);
      len[2].push_back(l);
      if (last_t[d] >= 0) iat[d].push_back(t[i] - uint64_t(last_t[d]));
      last_t[d] = int64_t(t[i]);
      if (i > 0) {
        const uint64_t g = t[i] - t[i - 1];
        iat[2].push_back(g);
        if (g * 1000 > cfg.activity_gap_ns) {
          idle.push_back(g);
          active.push_back(t[i - 1] - t[run_start]);
          run_start = i;
        }
      }
      if (p.is_tcp) {
        for (int b = 0; b < 8; ++b) flag_count[d][b] += (p.flags >> b) & 1;
        if (!win_seen[d]) win[d] = p.window, win_seen[d] = true;
      }
    }
    if (!pkts.empty()) active.push_back(t.back() - t[run_start]);

    for (int d = 0; d < 2; ++d) exact(std::string("pkts_") + dirs[d], count[d]);
    for (int d = 0; d < 2; ++d) exact(std::string("bytes_wire_") + dirs[d], wire[d]);
    for (int d = 0; d < 2; ++d) exact(std::string("bytes_ip_") + dirs[d], ip[d]);
    for (int d = 0; d < 2; ++d) exact(std::string("bytes_payload_") + dirs[d], payload[d]);
    exact("duration_us", pkts.empty() ? 0 : t.back() - t.front());
    const char* both[3] = {"fwd", "bwd", "both"};
    for (int d = 0; d < 3; ++d) stats(std::string("len_") + both[d] + "_", "", len[d]);
    for (int d = 0; d < 3; ++d) stats(std::string("iat_") + both[d] + "_", "_us", iat[d]);
    const char* flag_names[8] = {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"};
    for (int d = 0; d < 2; ++d) {
      for (int b = 0; b < 8; ++b) {
        const bool saturates = b != 3 && b != 4;  // all but PSH, ACK
        const uint64_t c = saturates ? std::min<uint64_t>(flag_count[d][b], 65535) : flag_count[d][b];
        exact(std::string("tcp_") + flag_names[b] + "_" + dirs[d], c);
      }
    }
    for (int d = 0; d < 2; ++d) {
      const std::string name = std::string("tcp_init_win_") + dirs[d];
      if (win_seen[d]) {
        exact(name, win[d]);
      } else {
        values_[name] = {kNaN, kNaN, false};
      }
    }
    stats("active_", "_us", active);
    stats("idle_", "_us", idle);
    exact("pair_flows", kPairFlows);
    for (uint32_t k = 0; k < cfg.first_packets; ++k) {
      const bool have = k < pkts.size();
      const std::string suffix = "_" + std::to_string(k);
      if (have) {
        exact("first_len" + suffix, std::min<uint32_t>(pkts[k].ip_len, 65535));
        exact("first_dir" + suffix, pkts[k].forward ? 1 : 0);
        exact("first_gap_us" + suffix, k == 0 ? 0 : t[k] - t[k - 1]);
      } else {
        for (const char* c : {"first_len", "first_dir", "first_gap_us"}) values_[c + suffix] = {kNaN, kNaN, false};
      }
    }
  }

  const std::map<std::string, Expected>& values() const { return values_; }

 private:
  void exact(const std::string& name, uint64_t v) { values_[name] = {f32(v), f32(v), false}; }

  void stats(const std::string& prefix, const std::string& unit, const std::vector<uint64_t>& x) {
    const std::string names[4] = {prefix + "min" + unit, prefix + "max" + unit, prefix + "mean" + unit,
                                  prefix + "std" + unit};
    if (x.empty()) {
      for (const auto& n : names) values_[n] = {kNaN, kNaN, false};
      return;
    }
    exact(names[0], *std::min_element(x.begin(), x.end()));
    exact(names[1], *std::max_element(x.begin(), x.end()));
    // §5 as written, on sums taken here from the list.
    u128 s = 0, q = 0;
    for (uint64_t v : x) s += v, q += u128{v} * v;
    const u128 n = x.size();
    const float spec_mean = static_cast<float>(static_cast<double>(s) / static_cast<double>(x.size()));
    const float spec_std =
        static_cast<float>(std::sqrt(static_cast<double>(n * q - s * s)) / static_cast<double>(x.size()));
    // Textbook two-pass, population variance.
    long double mean = 0;
    for (uint64_t v : x) mean += static_cast<long double>(v);
    mean /= static_cast<long double>(x.size());
    long double m2 = 0;
    for (uint64_t v : x) m2 += (static_cast<long double>(v) - mean) * (static_cast<long double>(v) - mean);
    const long double sd = std::sqrt(m2 / static_cast<long double>(x.size()));
    values_[names[2]] = {spec_mean, static_cast<float>(mean), true};
    values_[names[3]] = {spec_std, static_cast<float>(sd), true};
  }

  std::map<std::string, Expected> values_;
};

inline bool same_bits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

// Distance in representable float32 values; both operands finite and >= 0 here.
inline int64_t ulp_distance(float a, float b) {
  return std::abs(int64_t{std::bit_cast<int32_t>(a)} - int64_t{std::bit_cast<int32_t>(b)});
}

struct Computed {
  std::vector<float> out;
  FlowFeatures f;
};

// `garbage` fills the accumulator before reset(), which must initialise every
// field (the flow table reuses entries).
inline Computed run_fast(const FeatureSpec& spec, const std::vector<Packet>& pkts, uint8_t garbage) {
  Computed c;
  std::memset(&c.f, garbage, sizeof c.f);
  std::vector<FirstPacketSlot> slots(spec.config().first_packets);
  c.f.reset(pkts[0].ts_ns);
  c.f.pair_flows = kPairFlows;  // what the flow table's PairActivity sets after reset()
  for (const Packet& p : pkts) {
    PacketObservation o;
    o.ts_ns = p.ts_ns;
    o.wire_len = p.wire_len;
    o.ip_len = p.ip_len;
    o.payload_len = p.payload_len;
    o.tcp_window = p.window;
    o.tcp_flags = p.is_tcp ? p.flags : 0;
    o.is_tcp = p.is_tcp;
    o.forward = p.forward;
    c.f.add(o, slots, spec.config());
  }
  c.out.assign(spec.count(), -1.0f);
  const size_t shown = std::min<uint64_t>(slots.size(), c.f.packets());
  spec.compute(c.f, std::span<const FirstPacketSlot>(slots).first(shown), c.out);
  return c;
}

// Compares every column; returns the number of mismatching columns.

// Every column against the twin: one line per column that differs (empty
// when all agree). Two comparisons per column (see the file's head).
inline std::vector<std::string> mismatches(const FeatureSpec& spec, const std::vector<Packet>& pkts,
                                           const std::vector<float>& out) {
  const Twin twin(pkts, spec.config());
  std::vector<std::string> bad;
  if (twin.values().size() != spec.count()) bad.push_back("twin and spec disagree on the column set");
  for (size_t i = 0; i < spec.count(); ++i) {
    const std::string& name = spec.names()[i];
    const auto it = twin.values().find(name);
    if (it == twin.values().end()) {
      bad.push_back("twin has no column " + name);
      continue;
    }
    const Expected& e = it->second;
    const bool spec_ok = same_bits(out[i], e.spec);
    const bool textbook_ok = e.rounded ? (!std::isnan(out[i]) && ulp_distance(out[i], e.textbook) <= kMaxUlpRounded)
                                       : same_bits(out[i], e.textbook);
    if (!spec_ok || !textbook_ok) {
      std::ostringstream line;
      line << "column " << i << " " << name << " = " << out[i] << ", spec " << e.spec << ", textbook " << e.textbook;
      bad.push_back(line.str());
    }
  }
  return bad;
}

}  // namespace flowscore::feature_twin
