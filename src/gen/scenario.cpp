#include "scenario.hpp"

#include <algorithm>
#include <cmath>

namespace flowscore::gen {

IpAddr ipv4(uint32_t v) {
  IpAddr a;
  a.bytes[0] = static_cast<uint8_t>(v >> 24);
  a.bytes[1] = static_cast<uint8_t>(v >> 16);
  a.bytes[2] = static_cast<uint8_t>(v >> 8);
  a.bytes[3] = static_cast<uint8_t>(v);
  return a;
}

uint32_t ipv4_value(const IpAddr& a) {
  return static_cast<uint32_t>(a.bytes[0]) << 24 | static_cast<uint32_t>(a.bytes[1]) << 16 |
         static_cast<uint32_t>(a.bytes[2]) << 8 | a.bytes[3];
}

namespace {
// An index below n with P(index < k) = (k / n)^(1 / skew): skew 1 is
// uniform, skew 3 sends ~21% of draws to the first 1% of indices.
size_t skewed_index(Rng& rng, size_t n, double skew) {
  const size_t i = static_cast<size_t>(static_cast<double>(n) * std::pow(rng.uniform(), skew));
  return std::min(i, n - 1);
}
}  // namespace

IpAddr Scenario::client_v4(Rng& rng) const {
  if (active_clients.empty()) return ipv4(clients_v4.base + 1 + static_cast<uint32_t>(rng.below(clients_v4.hosts)));
  return ipv4(clients_v4.base + 1 + active_clients[skewed_index(rng, active_clients.size(), client_skew)]);
}

// A dual-stack host keeps its IPv6 address (an interface ID derived from its
// host number); without active hosts (bench) each flow draws a fresh one.
IpAddr Scenario::client_v6(Rng& rng) const {
  IpAddr a;
  for (int i = 0; i < 8; ++i) a.bytes[i] = clients_v6_prefix[i];
  uint64_t iid = rng.next();
  if (!active_clients.empty()) {
    iid = active_clients[skewed_index(rng, active_clients.size(), client_skew)] * 0x9e3779b97f4a7c15ULL;
    iid ^= iid >> 29;
  }
  for (int i = 0; i < 8; ++i) a.bytes[8 + i] = static_cast<uint8_t>(iid >> (8 * i));
  return a;
}

size_t Scenario::server_index(Rng& rng, size_t n) const {
  return server_skew == 1 ? static_cast<size_t>(rng.below(n)) : skewed_index(rng, n, server_skew);
}

IpAddr Scenario::server_v6(const IpAddr& v4) const {
  IpAddr a;
  for (int i = 0; i < 6; ++i) a.bytes[i] = servers_v6_prefix[i];
  for (int i = 0; i < 4; ++i) a.bytes[12 + i] = v4.bytes[i];
  return a;
}

// A unicast address outside the special-purpose blocks of RFC 6890 that a
// reader would notice (0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
// 192.168/16, the documentation nets, 224/3).
IpAddr Scenario::random_public_v4(Rng& rng) {
  for (;;) {
    const uint32_t v = static_cast<uint32_t>(rng.next());
    const uint32_t a = v >> 24, b = (v >> 16) & 0xff;
    if (a == 0 || a == 10 || a == 127 || a >= 224) continue;
    if (a == 100 && (b & 0xc0) == 64) continue;
    if (a == 169 && b == 254) continue;
    if (a == 172 && (b & 0xf0) == 16) continue;
    if (a == 192 && (b == 168 || b == 0)) continue;
    if (a == 198 && (b == 18 || b == 19 || b == 51)) continue;
    if (a == 203 && b == 0) continue;
    if ((v & 0xff) == 0 || (v & 0xff) == 255) continue;
    return ipv4(v);
  }
}

namespace {

std::vector<IpAddr> server_pool(Rng& rng, uint64_t lo, uint64_t hi) {
  std::vector<IpAddr> pool(static_cast<size_t>(rng.between(static_cast<int64_t>(lo),
                                                            static_cast<int64_t>(hi))));
  for (auto& a : pool) a = Scenario::random_public_v4(rng);
  return pool;
}

}  // namespace

Scenario draw_scenario(Profile profile, Rng& rng) {
  Scenario s;
  s.profile = profile;
  // Captures start somewhere in 2023-2024, at any second of the day.
  s.epoch_us = (1672531200LL + static_cast<int64_t>(rng.below(2 * 365 * 86400))) * 1000000LL;

  // Client network: a private block of a seed-drawn size (RFC 1918).
  const bool bench = profile == Profile::kBench;
  const int prefix = static_cast<int>(bench ? rng.between(14, 18) : rng.between(18, 24));
  const uint32_t hosts = (1u << (32 - prefix)) - 2;
  uint32_t base;
  switch (rng.below(3)) {
    case 0: base = 0x0a000000u | static_cast<uint32_t>(rng.below(1u << 24)); break;
    case 1: base = 0xac100000u | static_cast<uint32_t>(rng.below(1u << 20)); break;
    default: base = 0xc0a80000u | static_cast<uint32_t>(rng.below(1u << 16)); break;
  }
  if (prefix < 16 && (base >> 24) != 10) base = 0x0a000000u | (base & 0x00ffffff);
  base &= ~((1u << (32 - prefix)) - 1);
  s.clients_v4 = {base, hosts};
  s.clients_v6_prefix = {0x20, 0x01, 0x0d, 0xb8};
  for (int i = 4; i < 8; ++i) s.clients_v6_prefix[i] = static_cast<uint8_t>(rng.next());
  s.servers_v6_prefix = {0x2a, static_cast<uint8_t>(rng.between(0, 15))};
  for (int i = 2; i < 6; ++i) s.servers_v6_prefix[i] = static_cast<uint8_t>(rng.next());
  s.ipv6_share = rng.uniform(0.04, 0.2);
  s.vlan_share = rng.uniform(0.02, 0.1);
  s.vlans.resize(static_cast<size_t>(rng.between(1, 6)));
  for (auto& v : s.vlans) v = static_cast<uint16_t>(rng.between(2, 4094));

  s.web_servers = server_pool(rng, 200, 4000);
  s.dns_resolvers = server_pool(rng, 1, 6);
  s.ntp_servers = server_pool(rng, 2, 12);
  s.cdn_servers = server_pool(rng, 5, 80);
  s.ssh_servers = server_pool(rng, 3, 60);
  s.upload_servers = server_pool(rng, 3, 40);
  s.voip_peers = server_pool(rng, 10, 400);
  s.ping_targets = server_pool(rng, 5, 200);
  if (!bench) {  // the bench profile keeps the uniform draws its published captures came from
    const uint32_t active = static_cast<uint32_t>(std::min<uint64_t>(hosts, rng.between(4, 80)));
    s.active_clients.resize(active);
    for (auto& h : s.active_clients) h = static_cast<uint32_t>(rng.below(hosts));
    s.client_skew = rng.uniform(1.0, 3.0);
    s.server_skew = rng.uniform(1.0, 3.0);
  }

  s.rtt_median_ms = rng.lognormal(25, 0.6);
  s.rtt_sigma = rng.uniform(0.3, 0.9);
  s.client_delay_us = rng.uniform(50, 600);
  s.think_median_s = rng.lognormal(1.0, 0.5);
  s.think_sigma = rng.uniform(0.8, 1.6);
  s.object_median = rng.lognormal(7000, 0.5);
  s.object_sigma = rng.uniform(1.4, 2.2);
  s.object_tail_alpha = rng.uniform(1.1, 1.6);
  s.object_tail_share = rng.uniform(0.02, 0.08);
  s.object_tail_min = rng.uniform(100e3, 400e3);
  s.request_median = rng.uniform(300, 700);
  s.requests_per_conn = rng.uniform(1.5, 5);
  s.bulk_rate_mbps = rng.lognormal(20, 0.7);
  s.voip_seconds_median = rng.uniform(30, 180);
  s.ssh_key_gap_ms = rng.uniform(120, 300);
  s.ntp_poll_s = static_cast<double>(1u << rng.between(4, 6));
  s.keepalive_open_share = rng.uniform(0.05, 0.2);
  s.rst_close_share = rng.uniform(0.05, 0.2);
  // Browsers hold idle connections open for a minute or more; servers close
  // them when their keep-alive timer fires (nginx's default: 75 s).
  s.keepalive_idle_share = rng.uniform(0.6, 0.9);
  s.keepalive_idle_mean_s = rng.uniform(30, 70);
  if (bench) {
    // Benchmark traffic is dominated by small objects, so that the flow count
    // per packet matches the target (5M packets ~ 730k flows).
    s.object_median = rng.lognormal(1200, 0.3);
    s.object_sigma = rng.uniform(0.8, 1.2);
    s.object_tail_share = rng.uniform(0.004, 0.012);
    s.object_tail_min = rng.uniform(30e3, 80e3);
    s.object_tail_alpha = rng.uniform(1.3, 1.7);
    // ... and by browsers' idle keep-alive connections, which is what keeps
    // ~100k flows open at once in a 5M-packet capture.
    s.keepalive_idle_share = rng.uniform(0.85, 0.95);
    s.keepalive_idle_mean_s = rng.uniform(50, 90);
  }
  return s;
}

}  // namespace flowscore::gen
