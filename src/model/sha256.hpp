#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace flowscore::model {

using Sha256 = std::array<uint8_t, 32>;
Sha256 sha256(std::string_view bytes);  // OpenSSL EVP
std::string to_hex(const Sha256& digest, size_t hex_digits);

}  // namespace flowscore::model
