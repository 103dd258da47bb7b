// libFuzzer target: `flowscore predict`'s cell parser (std::from_chars with
// a strtof fallback) against its definition, strtof on the whole cell: the
// same verdict and, for a number, the same float32 bits.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "csv_blocks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string cell(reinterpret_cast<const char*>(data), size);
  float fast = 0;
  const bool fast_ok = flowscore::model::parse_feature_cell(cell, fast);
  // The twin: empty or "nan" in any case is missing; else strtof must take
  // every byte (of a cell shorter than 64), must not start at a space, and
  // must not read NaN.
  bool slow_ok;
  float slow = 0;
  std::string lower;
  for (char c : cell) lower += static_cast<char>(c | ((c >= 'A' && c <= 'Z') ? 0x20 : 0));
  if (cell.empty() || lower == "nan") {
    slow_ok = true;
    slow = NAN;
  } else if (cell.size() >= 64) {
    slow_ok = false;  // longer than any number extract writes: refused
  } else {
    char* end = nullptr;
    slow = std::strtof(cell.c_str(), &end);
    slow_ok = end == cell.c_str() + cell.size() && !std::isspace(static_cast<unsigned char>(cell[0])) && !std::isnan(slow);
  }
  if (fast_ok != slow_ok) std::abort();
  if (fast_ok && !(std::isnan(fast) && std::isnan(slow)) && std::memcmp(&fast, &slow, sizeof fast) != 0) std::abort();
  return 0;
}
