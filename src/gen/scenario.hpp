// Everything about a capture that is drawn once from its seed: address plan,
// server pools, timing and size distributions, attack campaigns.
//
// A held-out seed must be a genuinely new scenario, not the same network with
// other random packets, so every knob a model could overfit to (subnets,
// server addresses, RTTs, object sizes, think times, attack rates and
// targets) is drawn here rather than fixed in code.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "frame_composer.hpp"
#include "rng.hpp"

namespace flowscore::gen {

enum class Profile : uint8_t { kBench, kTrain };

struct Subnet4 {
  uint32_t base = 0;  // host order, network address
  uint32_t hosts = 1; // usable host addresses after base
};

// One attack campaign: who attacks whom, and how.
struct Campaign {
  IpAddr attacker;            // the scanner / brute forcer / infected host
  IpAddr victim;              // the target (or, for c2/exfil, the external server)
  uint16_t victim_port = 0;
  uint16_t attacker_port = 0; // fixed source port (SYN/FIN/XMAS/UDP scans)
  uint32_t port_step = 1;     // scan order: port = 1 + (start + i * step) mod 65535
  uint32_t port_start = 0;
  uint64_t probes = 0;        // flows generated so far
  double rate_pps = 0;        // packets/s within one flow
  uint32_t size = 0;          // the campaign's typical payload size
  double period_s = 0;        // beacon / keep-alive period
  double jitter = 0;          // relative jitter of the period
  double open_share = 0;      // scans: share of probed ports that are open
  double reply_share = 0;     // share of probes the victim answers
  // Benign classes that come in visits (web, DNS, video, QUIC): the share of
  // flows that repeat the previous flow's two hosts, and those hosts.
  double revisit_share = 0;   // 0: every flow draws its hosts (the bench profile)
  // SYN flood tool: a raw-socket tool's SYN has no options and the tool's
  // window (fixed, or random per packet); otherwise an OS stack's SYN.
  bool raw_syn = false;
  bool random_window = false;
  uint16_t syn_window = 0;
  bool visited = false;
  bool visit_ipv6 = false;
  IpAddr visit_client, visit_server;
  bool visit_natt = false;    // ipsec: the tunnel visited runs over NAT-T (UDP/4500)
  uint16_t visit_port = 0;    // ipsec: the NATed side's UDP/4500 source port
};

struct Scenario {
  Profile profile = Profile::kTrain;
  int64_t epoch_us = 0;  // capture start, microseconds since the Unix epoch

  Subnet4 clients_v4;
  // Who talks. A real network has a few busy hosts and many quiet ones, and
  // popular servers: so the same two hosts meet again and again (a host and
  // its resolver, a browser and a site), as pair_flows sees (FEATURES.md
  // §7a). Empty (the bench profile): every flow draws any host of the subnet.
  std::vector<uint32_t> active_clients;  // host numbers within clients_v4, busiest first
  double client_skew = 1;  // >= 1; 1 is uniform (skewed_index)
  double server_skew = 1;
  std::array<uint8_t, 8> clients_v6_prefix{};  // /64
  std::array<uint8_t, 6> servers_v6_prefix{};  // /48; IID carries the v4 address
  double ipv6_share = 0;
  double vlan_share = 0;
  std::vector<uint16_t> vlans;

  std::vector<IpAddr> web_servers, dns_resolvers, ntp_servers, cdn_servers, ssh_servers,
      upload_servers, voip_peers, ping_targets;

  double rtt_median_ms = 30, rtt_sigma = 0.6;
  double client_delay_us = 200;  // host stack delay before an ACK or request
  double think_median_s = 1, think_sigma = 1;
  double object_median = 8000, object_sigma = 1.8, object_tail_alpha = 1.2,
         object_tail_share = 0.05, object_tail_min = 200000;
  double request_median = 450;
  double requests_per_conn = 3;
  double bulk_rate_mbps = 20;
  double voip_seconds_median = 60;
  double ssh_key_gap_ms = 180;
  double ntp_poll_s = 64;
  double keepalive_open_share = 0.1;  // connections still open at capture end
  double keepalive_idle_share = 0.6;  // connections that idle before closing
  double keepalive_idle_mean_s = 20;  // ... for this long on average (server keep-alive timeout)
  double rst_close_share = 0.1;


  IpAddr client_v4(Rng& rng) const;
  IpAddr client_v6(Rng& rng) const;
  // One of n servers of a pool, popular ones (low indices) more often.
  size_t server_index(Rng& rng, size_t n) const;
  IpAddr server_v6(const IpAddr& v4) const;
  static IpAddr random_public_v4(Rng& rng);
};

// Draws a scenario; the attack campaigns are added by traffic_classes.cpp
// (draw_campaigns), which knows what each attack needs.
Scenario draw_scenario(Profile profile, Rng& rng);

IpAddr ipv4(uint32_t host_order);
uint32_t ipv4_value(const IpAddr& a);

}  // namespace flowscore::gen
