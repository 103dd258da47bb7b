// Turns one PacketSpec of a flow into the bytes of an Ethernet frame.
//
// Built once per flow: the Ethernet (+802.1Q) and IP header of each direction
// become a template, and every packet copies its template and patches the
// fields that change (lengths, IP id, TCP seq/ack/flags), then computes the
// IPv4 header checksum and the TCP/UDP/ICMP/IGMP checksum over the finished
// bytes (ESP has none).
#pragma once
#include <array>
#include <cstdint>

#include "flow_script.hpp"

namespace flowscore::gen {

// An IPv4 address lives in bytes[0..3]; the rest stay zero.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

inline constexpr uint8_t kProtoIcmp = 1, kProtoIgmp = 2, kProtoTcp = 6, kProtoUdp = 17, kProtoEsp = 50,
                         kProtoIcmpV6 = 58;

struct FlowAddressing {
  IpAddr initiator;
  IpAddr responder;
  uint16_t initiator_port = 0;  // unused for ICMP, IGMP and ESP
  uint16_t responder_port = 0;
  uint16_t icmp_id = 0;         // echo identifier
  uint8_t proto = kProtoTcp;    // kProtoIcmp means ICMPv6 when ipv6 is set
  bool ipv6 = false;
  uint16_t vlan = 0;            // 802.1Q VLAN id; 0 = untagged
  std::array<uint8_t, 2> ttl{64, 64};  // TTL / hop limit per Dir, as seen at the capture point
  std::array<uint16_t, 2> tcp_window{64240, 65160};
  uint16_t mss = 1460;
  std::array<bool, 2> syn_options{true, true};  // per Dir; false: SYNs carry none (a raw-socket tool's)
  bool responder_broadcast = false;  // the responder is a broadcast address: frames to it go to ff:ff:ff:ff:ff:ff
};

class FrameComposer {
 public:
  static constexpr uint32_t kEthernetMinFrame = 60;  // without FCS (IEEE 802.3 §3.2.8)

  // `token` seeds initial sequence numbers, IP ids and flow labels.
  void reset(const FlowAddressing& addressing, uint64_t token);

  // Writes the frame for `pkt`, sent at `ts_us`, into `out` (room for
  // PcapWriter::kMaxFrame bytes) and returns its length. Advances the flow's
  // IP ids and RTP/ICMP counters; TCP numbers come from the PacketSpec.
  uint32_t compose(const PacketSpec& pkt, int64_t ts_us, uint8_t* out);

  const FlowAddressing& addressing() const { return a_; }

  // The L4 protocol number the flow's own packets carry (ICMPv6 for ICMP over IPv6).
  uint8_t wire_proto() const;

 private:
  struct Sent {  // the initiator's last packet, quoted by ICMP errors
    PacketSpec pkt{};
    int64_t ts_us = 0;
    uint16_t ip_id = 0;
    uint32_t seq = 0;
    bool valid = false;
  };

  uint32_t write_ip_packet(uint8_t* ip, const PacketSpec& pkt, int64_t ts_us, uint16_t ip_id,
                           uint32_t seq, uint32_t ack);
  uint32_t write_icmp_error(uint8_t* ip, const PacketSpec& pkt);
  uint32_t finish_ip(uint8_t* ip, Dir dir, uint8_t proto, uint32_t l4_len, uint16_t ip_id);

  FlowAddressing a_;
  uint32_t token_ = 0;
  uint32_t l2_len_ = 14;
  std::array<std::array<uint8_t, 18>, 2> l2_{};  // Ethernet (+ 802.1Q) header per Dir
  std::array<uint32_t, 2> isn_{};  // initial sequence numbers
  std::array<uint16_t, 2> ip_id_{};
  std::array<uint32_t, 2> flow_label_{};
  std::array<uint16_t, 2> rtp_seq_{};
  std::array<uint32_t, 2> rtp_ts_{};
  std::array<uint32_t, 2> esp_spi_{};  // one SA per direction (RFC 4303 §2.1)
  std::array<uint32_t, 2> esp_seq_{};
  uint16_t icmp_seq_ = 0;
  Sent last_probe_;
};

}  // namespace flowscore::gen
