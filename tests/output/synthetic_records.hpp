// Seeded synthetic flow records and EVE options for tests/output and
// bench/output_bench.cpp: every protocol, IPv4/IPv6, unscored / binary /
// multi-class verdicts, and names that need JSON escaping.
#pragma once
#include <cmath>
#include <random>
#include <vector>

#include "flowscore/community_id.hpp"
#include "flowscore/eve.hpp"

namespace flowscore::test {

inline EveOptions make_options(bool features, bool host, uint16_t seed) {
  EveOptions o;
  o.community_id_seed = seed;
  o.include_features = features;
  o.feature_names = {"duration", "fwd_pkts", "pkt_len \"mean\"", "iat\\std", "ünïcode-名前",
                     "tab\there", "ctl\x01", "emoji 🚀"};
  o.model.name = "cic \"ids\" 2017\n";
  o.model.hash = "sha256:0123abcd";
  o.model.classes = {{"BENIGN", "", 3},
                     {"DoS \"Hulk\"", "Denial of Service", 1},
                     {"PortScan\\nmap", "Attempted Information Leak", 2},
                     {"Bot/Ares\t😈", "A Network Trojan was detected", 1}};
  // Classes 4.. have no entry: they must come out as class_<id>.
  if (host) {
    o.sensor_name = "sensor \"east\"-1";
    // in_iface for inputs 0 and 2; input 1 has no name, 3.. are past the list.
    o.input_names = {"monday \"tap\".pcap", "", "0000:3b:00.0"};
  }
  return o;
}

inline FlowRecord random_record(std::mt19937_64& rng, int i) {
  static const uint8_t kProtos[] = {6, 17, 132, 1, 58, 47, 103, 0, 255};
  FlowRecord r{};
  r.proto = kProtos[i % std::size(kProtos)];
  r.input_index = static_cast<uint32_t>(i % 5);
  r.ip_version = r.proto == 58 || (r.proto != 1 && rng() % 2) ? 6 : 4;
  for (auto* ep : {&r.src, &r.dst}) {
    for (size_t b = 0; b < (r.ip_version == 4 ? 4u : 16u); ++b) {
      ep->addr.bytes[b] = rng() % 3 ? static_cast<uint8_t>(rng()) : 0;
    }
    ep->port = static_cast<uint16_t>(rng());
  }
  if (r.proto == 1 || r.proto == 58) {
    r.icmp_type = static_cast<uint8_t>(rng() % 2 ? (r.proto == 1 ? 8 : 128) : rng());
    r.icmp_code = static_cast<uint8_t>(rng() % 4);
    const IcmpPorts p = icmp_ports(r.icmp_type, r.icmp_code, r.proto == 58);
    r.src.port = p.src_port;
    r.dst.port = p.dst_port;
  } else if (r.proto != 6 && r.proto != 17 && r.proto != 132) {
    r.src.port = r.dst.port = 0;
  }
  for (int tags = static_cast<int>(rng() % 3); tags > 0; --tags) r.vlan.push(static_cast<uint16_t>(rng() % 4096));
  r.flow_id = rng() >> 16;
  r.state = static_cast<FlowState>(rng() % 3);
  r.reason = static_cast<EndReason>(rng() % 5);
  r.stats.first_ts_ns = rng() % (2'200'000'000ull * 1'000'000'000ull);
  r.stats.last_ts_ns = r.stats.first_ts_ns + rng() % (86'400ull * 1'000'000'000ull);
  r.stats.pkts_fwd = static_cast<uint32_t>(rng());
  r.stats.pkts_bwd = static_cast<uint32_t>(rng() % 100);
  r.stats.wire_bytes_fwd = rng() >> (rng() % 64);
  r.stats.wire_bytes_bwd = rng() % 1'000'000;
  switch (i % 4) {
    case 0: break;  // no model: unscored
    case 1:         // binary
      r.verdict.scored = true;
      r.verdict.num_classes = 2;
      r.verdict.label = rng() % 2;
      r.verdict.score = std::ldexp(static_cast<float>(rng() % 1000), -10);
      r.verdict.alert = r.verdict.label == 1 && rng() % 2;
      break;
    default: {  // multi-class, some ids beyond the named classes
      r.verdict.scored = true;
      r.verdict.num_classes = static_cast<uint8_t>(3 + rng() % 14);
      float total = 0;
      for (int c = 0; c < r.verdict.num_classes; ++c) {
        r.verdict.proba[c] = static_cast<float>(rng() % 1000) / 997.0f;
        total += r.verdict.proba[c];
      }
      for (int c = 0; c < r.verdict.num_classes; ++c) r.verdict.proba[c] /= total;
      r.verdict.label = static_cast<uint8_t>(rng() % r.verdict.num_classes);
      r.verdict.score = r.verdict.proba[r.verdict.label];
      r.verdict.alert = r.verdict.label != 0 && rng() % 3;
    }
  }
  // What the alert policy adds (src/policy): evidence, rate limits, campaigns.
  if (rng() % 2) {
    Judgement& j = r.judgement;
    j.judged = true;
    j.thin = rng() % 2;
    j.limited = r.verdict.alert && rng() % 3 == 0;
    // A thin flow may alert for an attack class other than its label.
    j.alert_class = r.verdict.num_classes > 1 && rng() % 3 == 0
                        ? static_cast<uint8_t>(1 + rng() % (r.verdict.num_classes - 1))
                        : r.verdict.label;
    j.evidence_mask = static_cast<uint16_t>(rng() & ((1u << Judgement::kMaxEvidence) - 1));
    for (uint32_t& v : j.context) v = static_cast<uint32_t>(rng() >> (rng() % 64));
    j.campaign_id = rng() % 3 == 0 ? static_cast<uint32_t>(1 + rng() % 100000) : 0;
  }
  return r;
}

inline std::vector<float> random_features(std::mt19937_64& rng, size_t n) {
  std::vector<float> f(n);
  for (float& v : f) {
    switch (rng() % 6) {
      case 0: v = std::nanf(""); break;
      case 1: v = static_cast<float>(rng() % 100000); break;
      case 2: v = 0; break;
      case 3: v = -std::ldexp(static_cast<float>(rng() % 4096), -static_cast<int>(rng() % 40)); break;
      case 4: v = std::ldexp(1.0f, static_cast<int>(rng() % 200) - 100); break;
      default: v = static_cast<float>(rng()) / 3.0f;
    }
  }
  return f;
}

}  // namespace flowscore::test
