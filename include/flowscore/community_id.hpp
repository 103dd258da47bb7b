// Community ID v1 flow hashing
// (https://github.com/corelight/community-id-spec, reference: pycommunityid).
//
//   sha1(seed . saddr . daddr . proto . 0 . sport . dport), base64, "1:" prefix
//
// with the endpoints ordered so the smaller (address, port) comes first,
// except for one-way ICMP messages, which keep their direction. Ports are
// hashed only for TCP, UDP, SCTP, ICMP and ICMPv6; for ICMP they are the
// type/code equivalents from icmp_ports() (declared in flow_key.hpp,
// implemented here so flow keys and Community IDs share one table).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "flowscore/flow_key.hpp"
#include "flowscore/flow_record.hpp"

namespace flowscore {

// "1:" + base64 of the 20-byte SHA-1 (28 characters, one '=' of padding).
inline constexpr size_t kCommunityIdLength = 30;
using CommunityIdBuffer = std::span<char, kCommunityIdLength>;

// True for the protocols whose Community ID carries ports (TCP, UDP, SCTP,
// ICMP, ICMPv6). For all others only addresses and protocol are hashed.
bool community_id_has_ports(uint8_t proto);

// Writes the ID into `out` (not NUL-terminated); allocates nothing.
//   src, dst:   endpoints as one packet (or the flow's initiator) states them;
//               for ICMP/ICMPv6 the ports are icmp_ports()'s src_port/dst_port.
//   one_way:    icmp_ports()'s one_way for ICMP: the tuple is hashed in the
//               given direction, never reordered. Ignored for other protocols.
//   ip_version: 4 (4-byte addresses in bytes[0..3]) or 6.
// Returns false (and leaves `out` untouched) when ip_version is neither.
bool community_id_v1(const Endpoint& src, const Endpoint& dst, uint8_t proto,
                     uint8_t ip_version, uint16_t seed, bool one_way, CommunityIdBuffer out);

// Convenience for tests and tools: the same ID as a string ("" on bad ip_version).
std::string community_id_v1(const Endpoint& src, const Endpoint& dst, uint8_t proto,
                            uint8_t ip_version, uint16_t seed, bool one_way);

// The ID of a flow record: src is the initiator; for ICMP the one-way rule
// comes from the initiator's first type/code (record.icmp_type/icmp_code).
bool community_id_v1(const FlowRecord& record, uint16_t seed, CommunityIdBuffer out);

}  // namespace flowscore
