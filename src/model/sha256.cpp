#include "sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace flowscore::model {

Sha256 sha256(std::string_view bytes) {
  Sha256 digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    throw std::runtime_error("OpenSSL SHA-256 failed");  // only on a broken libcrypto
  return digest;
}

std::string to_hex(const Sha256& digest, size_t hex_digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < digest.size() && out.size() < hex_digits; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  out.resize(std::min(out.size(), hex_digits));
  return out;
}

}  // namespace flowscore::model
