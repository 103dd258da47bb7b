// The mechanics of a conversation, shared by every traffic class: who sends
// what when, as seen from a capture point next to the flow's initiator.
//
// Timing model: the initiator's packets are seen when sent; the responder's
// arrive one round trip (`rtt`) after what provoked them; the initiator
// answers after its stack delay (`host_delay`). TCP bulk transfer follows
// slow start (initial window of 10 segments, RFC 6928, doubling per round
// trip) up to the flow's rate, with a delayed ACK for every second segment
// (RFC 9293 §3.8.6.3).
#pragma once
#include <cstdint>

#include "flow_script.hpp"
#include "frame_composer.hpp"
#include "rng.hpp"
#include "scenario.hpp"

namespace flowscore::gen {

class FlowBuilder {
 public:
  FlowBuilder(Rng& rng, const Scenario& scenario, FlowAddressing& addressing, Script& script,
              int64_t horizon_us);

  Rng& rng;
  const Scenario& sc;
  FlowAddressing& addr;
  Script& script;
  int64_t t = 0;           // time cursor, microseconds after the flow's first packet
  int64_t rtt = 0;         // capture point -> responder -> capture point
  int64_t host_delay = 0;  // the initiator's reaction time
  int64_t horizon;         // packets after this are never emitted: stop planning there

  bool past_horizon() const { return t > horizon; }

  // Endpoints: a client (v4 or v6 per the scenario's share when `allow_v6`)
  // talking to `server_v4` (mapped into the server /48 for v6).
  void client_to_server(const IpAddr& server_v4, uint16_t server_port, uint8_t proto,
                        bool allow_v6);
  void set_endpoints(const IpAddr& initiator, uint16_t initiator_port, const IpAddr& responder,
                     uint16_t responder_port, uint8_t proto);
  uint16_t ephemeral_port() { return static_cast<uint16_t>(rng.between(32768, 60999)); }

  void send(Dir d, uint8_t flags, uint32_t len, Payload p, uint32_t aux = 0) {
    send_at(t, d, flags, len, p, aux);
  }
  // Sends at `when`, acknowledging everything the peer has sent so far.
  // Payloads are capped so every frame fits a 1500-byte IP MTU: the
  // generator never writes IP fragments or jumbo frames.
  void send_at(int64_t when, Dir d, uint8_t flags, uint32_t len, Payload p, uint32_t aux = 0) {
    send_acking(when, d, flags, len, p, aux, seq_used_[d ^ 1]);
  }
  void send_acking(int64_t when, Dir d, uint8_t flags, uint32_t len, Payload p, uint32_t aux,
                   uint32_t ack_rel) {
    const uint32_t cap = max_payload();
    const uint16_t n = static_cast<uint16_t>(len < cap ? len : cap);
    script.push_back(PacketSpec{when, aux, seq_used_[d], ack_rel, n, d, flags, p});
    // SYN and FIN each take one sequence number (RFC 9293 §3.4).
    seq_used_[d] += n + ((flags & tcp::kSyn) ? 1u : 0u) + ((flags & tcp::kFin) ? 1u : 0u);
  }
  uint32_t max_payload() const {
    const uint32_t l3 = addr.ipv6 ? 40 : addr.proto == kProtoIgmp ? 24 : 20;  // IGMP: Router Alert
    // TCP options ride only on SYNs, which carry no data; ESP and IGMP
    // payloads include their own headers.
    const uint32_t l4 = addr.proto == kProtoTcp ? 20
                        : addr.proto == kProtoEsp || addr.proto == kProtoIgmp ? 0
                                                                              : 8;
    return 1500 - l3 - l4;
  }
  // Delay until the other side's answer to a packet sent in `d` is seen.
  int64_t answer_delay(Dir d) const { return d == kToResponder ? rtt : host_delay; }
  void wait_seconds(double s) { t += static_cast<int64_t>(s * 1e6); }

  // TCP pieces. Each advances `t` past what it sent.
  void tcp_handshake();
  // `bytes` from `d`'s side: the first segment carries `first` (with `aux`),
  // the rest `rest`. ACKs from the receiver per delayed-ACK rule; the final
  // segment carries PSH.
  void tcp_message(Dir d, uint64_t bytes, Payload first, uint32_t aux, Payload rest,
                   double rate_bps);
  void tcp_fin_close(Dir closer);
  void tcp_rst(Dir sender);
  // FIN from the initiator, or an RST, or nothing (left open), by the
  // scenario's shares.
  void tcp_end();

  int64_t rtt_sample() const;

  // What a capture point sees of a finished (time-ordered) script, for the
  // partial_* classes. Either may leave the responder sending first; then the
  // two sides swap roles, since the initiator is by definition the sender of
  // the first captured packet (docs/LABELS.md).
  void drop_before(int64_t t_us);  // the capture started at t_us
  void keep_direction(Dir d);      // asymmetric routing: only `d` passes here

 private:
  uint32_t mss() const { return addr.mss; }
  void make_first_sender_initiator();
  uint32_t seq_used_[2] = {0, 0};  // sequence space each side has consumed
};

}  // namespace flowscore::gen
