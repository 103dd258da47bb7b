// libFuzzer target: the compiled model loader (src/model/compiled_file.cpp),
// then every scoring engine on whatever it accepts.
//
// The input is a compiled file without its trailing SHA-256; the target
// appends the digest, so mutations reach the structural checks instead of
// stopping at the checksum. A model the loader accepts must score without a
// fault, and every engine must agree with the reference twin bit for bit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "compiled_file.hpp"
#include "forest_differential.hpp"
#include "sha256.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  const flowscore::model::Sha256 digest = flowscore::model::sha256(file);
  file.append(reinterpret_cast<const char*>(digest.data()), digest.size());

  flowscore::model::Forest forest;
  std::string error;
  if (!flowscore::model::parse_compiled_file(file, forest, error)) {
    if (error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  flowscore::fuzz::check_engines_agree(forest);
  return 0;
}
