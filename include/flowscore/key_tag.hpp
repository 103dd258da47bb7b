// 64-bit tags of small key structs, for the fixed tables of src/context and
// src/policy.
#pragma once
#include <rte_hash_crc.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace flowscore {

// A 64-bit tag of a plain key struct (no padding holes, a multiple of 8
// bytes): two CRC32-C lanes with different seeds, so keys that share one are
// ~2^-64 apart; never 0 (which marks an empty slot). The words are copied
// out with memcpy: reading the struct through a uint64_t pointer, as
// rte_hash_crc() does, lets the compiler read it before it is written.
template <typename Key>
uint64_t key_tag(const Key& key) {
  static_assert(sizeof(Key) % 8 == 0 && std::has_unique_object_representations_v<Key>);
  uint32_t hi = 0x9e3779b9, lo = 0x85ebca6b;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&key);
  for (size_t i = 0; i < sizeof(Key); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    hi = rte_hash_crc_8byte(word, hi);
    lo = rte_hash_crc_8byte(word, lo);
  }
  const uint64_t tag = uint64_t{hi} << 32 | lo;
  return tag != 0 ? tag : 1;
}

}  // namespace flowscore
