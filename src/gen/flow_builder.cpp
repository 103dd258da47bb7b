#include "flow_builder.hpp"

#include <algorithm>
#include <cmath>

namespace flowscore::gen {

FlowBuilder::FlowBuilder(Rng& r, const Scenario& scenario, FlowAddressing& addressing,
                         Script& s, int64_t horizon_us)
    : rng(r), sc(scenario), addr(addressing), script(s), horizon(horizon_us) {
  rtt = rtt_sample();
  host_delay = static_cast<int64_t>(rng.jitter(sc.client_delay_us, 0.5)) + 20;
}

int64_t FlowBuilder::rtt_sample() const {
  const double ms = std::clamp(rng.lognormal(sc.rtt_median_ms, sc.rtt_sigma), 0.2, 600.0);
  return static_cast<int64_t>(ms * 1000.0);
}

void FlowBuilder::set_endpoints(const IpAddr& initiator, uint16_t initiator_port,
                                const IpAddr& responder, uint16_t responder_port,
                                uint8_t proto) {
  addr.initiator = initiator;
  addr.responder = responder;
  addr.initiator_port = initiator_port;
  addr.responder_port = responder_port;
  addr.proto = proto;
  addr.icmp_id = static_cast<uint16_t>(rng.next());
  addr.vlan = rng.chance(sc.vlan_share) ? sc.vlans[rng.below(sc.vlans.size())] : 0;
  // TTLs as seen at the capture point: the initiator is a hop or two away,
  // the responder anywhere on the Internet (initial 64, 128 or 255).
  static constexpr uint8_t kInitial[] = {64, 128, 255};
  addr.ttl[kToResponder] = static_cast<uint8_t>(kInitial[rng.below(2)] - rng.between(0, 2));
  addr.ttl[kToInitiator] = static_cast<uint8_t>(kInitial[rng.below(3)] - rng.between(5, 30));
  static constexpr uint16_t kWindows[] = {64240, 65535, 29200, 502, 8192, 64800, 42340};
  addr.tcp_window[kToResponder] = kWindows[rng.below(7)];
  addr.tcp_window[kToInitiator] = kWindows[rng.below(7)];
  static constexpr uint16_t kMss[] = {1460, 1460, 1448, 1400, 1380};
  addr.mss = static_cast<uint16_t>(kMss[rng.below(5)] - (addr.ipv6 ? 20 : 0));
}

void FlowBuilder::client_to_server(const IpAddr& server_v4, uint16_t server_port, uint8_t proto,
                                   bool allow_v6) {
  addr.ipv6 = allow_v6 && rng.chance(sc.ipv6_share);
  const IpAddr client = addr.ipv6 ? sc.client_v6(rng) : sc.client_v4(rng);
  const IpAddr server = addr.ipv6 ? sc.server_v6(server_v4) : server_v4;
  set_endpoints(client, ephemeral_port(), server, server_port, proto);
}

void FlowBuilder::tcp_handshake() {
  send(kToResponder, tcp::kSyn, 0, Payload::kOpaque);
  t += rtt;
  send(kToInitiator, tcp::kSyn | tcp::kAck, 0, Payload::kOpaque);
  t += host_delay;
  send(kToResponder, tcp::kAck, 0, Payload::kOpaque);
}

void FlowBuilder::tcp_message(Dir d, uint64_t bytes, Payload first, uint32_t aux, Payload rest,
                              double rate_bps) {
  if (bytes == 0) return;
  const Dir back = d == kToResponder ? kToInitiator : kToResponder;
  const int64_t ack_delay = answer_delay(d);
  const uint64_t seg_max = mss();
  const uint64_t segments = (bytes + seg_max - 1) / seg_max;
  // Pacing: time to serialise one full segment at the flow's rate.
  const double pace_us = static_cast<double>(seg_max) * 8.0 / std::max(rate_bps, 1e4) * 1e6;
  uint64_t window = 10;
  uint64_t in_window = 0;
  int64_t window_start = t;
  int64_t last_ack = t;
  uint64_t left = bytes;
  for (uint64_t i = 0; i < segments; ++i) {
    if (t > horizon) break;
    const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(left, seg_max));
    left -= len;
    const bool last = left == 0;
    send(d, static_cast<uint8_t>(tcp::kAck | (last ? tcp::kPsh : 0)), len, i == 0 ? first : rest,
         i == 0 ? aux : 0);
    if (i % 2 == 1 || last) {
      last_ack = t + ack_delay;
      send_acking(last_ack, back, tcp::kAck, 0, Payload::kOpaque, 0, seq_used_[d]);
    }
    if (++in_window == window) {
      // Wait for the window's ACKs before the next window (slow start).
      in_window = 0;
      window *= 2;
      t = std::max(t + static_cast<int64_t>(pace_us), window_start + rtt);
      window_start = t;
    } else {
      t += static_cast<int64_t>(rng.jitter(pace_us, 0.2)) + 1;
    }
  }
  t = std::max(t, last_ack);
}

void FlowBuilder::tcp_fin_close(Dir closer) {
  const Dir other = closer == kToResponder ? kToInitiator : kToResponder;
  send(closer, tcp::kFin | tcp::kAck, 0, Payload::kOpaque);
  t += answer_delay(closer);
  send(other, tcp::kFin | tcp::kAck, 0, Payload::kOpaque);
  t += answer_delay(other);
  send(closer, tcp::kAck, 0, Payload::kOpaque);
}

void FlowBuilder::drop_before(int64_t t_us) {
  std::erase_if(script, [t_us](const PacketSpec& p) { return p.t_us < t_us; });
  make_first_sender_initiator();
}

void FlowBuilder::keep_direction(Dir d) {
  std::erase_if(script, [d](const PacketSpec& p) { return p.dir != d; });
  make_first_sender_initiator();
}

// Sequence and acknowledgement numbers are relative to each side's own ISN,
// so swapping the sides and every packet's direction keeps them consistent.
void FlowBuilder::make_first_sender_initiator() {
  if (script.empty() || script.front().dir == kToResponder) return;
  std::swap(addr.initiator, addr.responder);
  std::swap(addr.initiator_port, addr.responder_port);
  std::swap(addr.ttl[0], addr.ttl[1]);
  std::swap(addr.tcp_window[0], addr.tcp_window[1]);
  for (PacketSpec& p : script) p.dir = p.dir == kToResponder ? kToInitiator : kToResponder;
}

void FlowBuilder::tcp_rst(Dir sender) { send(sender, tcp::kRst | tcp::kAck, 0, Payload::kOpaque); }

void FlowBuilder::tcp_end() {
  const double u = rng.uniform();
  if (u < sc.keepalive_open_share) return;  // still open when the capture ends
  t += host_delay;
  // HTTP keep-alive: the idle connection is closed only when a timer fires.
  if (rng.chance(sc.keepalive_idle_share))
    t += static_cast<int64_t>(std::min(rng.exponential(sc.keepalive_idle_mean_s), 120.0) * 1e6);
  if (u < sc.keepalive_open_share + sc.rst_close_share) {
    tcp_rst(rng.chance(0.7) ? kToResponder : kToInitiator);
  } else {
    tcp_fin_close(rng.chance(0.75) ? kToResponder : kToInitiator);
  }
}

}  // namespace flowscore::gen
