// The Internet checksum (RFC 1071) as IPv4, TCP, UDP, ICMP and ICMPv6 use it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace flowscore::gen {

// One's-complement sum of `len` bytes read as big-endian 16-bit words (an odd
// trailing byte is padded with zero, RFC 1071 §4.1), added to `initial` and
// NOT yet folded or inverted, so partial sums (pseudo-header, header, payload)
// can be chained.
uint64_t checksum_partial(const uint8_t* data, size_t len, uint64_t initial = 0);

// Folds a partial sum to 16 bits and inverts it: the value to store in the
// header, in host order.
uint16_t checksum_finish(uint64_t sum);

// The pseudo-header sums for TCP/UDP/ICMPv6 (RFC 793 §3.1, RFC 768,
// RFC 8200 §8.1). `l4_len` is the length of the L4 header plus payload.
uint64_t pseudo_header_sum_v4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                              uint32_t l4_len);
uint64_t pseudo_header_sum_v6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header,
                              uint32_t l4_len);

}  // namespace flowscore::gen
