// A float32 as printf's "%.9g" prints it: nine significant digits, which
// read back (as float32, or as double then float32) to the same value, so
// what `extract` and `predict` write is what run scores. Faster than
// fmt's "{:.9g}" (which falls back to Dragon4 for many values): whole numbers
// below 10^9 (counts, bytes, ports: most flow features) print as integers,
// the rest through std::to_chars (Ryu printf in libstdc++ 12). Byte for byte
// the same text as snprintf("%.9g") (tests/output/test_float_text.cpp).
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>

namespace flowscore {

// Longest output: "-1.17549435e-38" and the like, 15 characters.
inline constexpr size_t kFloatTextMax = 24;

// Writes v at out (kFloatTextMax bytes of room) and returns the end.
inline char* write_float9(char* out, float v) {
  if (v == std::trunc(v) && std::fabs(v) < 1e9f && !(v == 0 && std::signbit(v)))
    return std::to_chars(out, out + kFloatTextMax, static_cast<int64_t>(v)).ptr;
  return std::to_chars(out, out + kFloatTextMax, v, std::chars_format::general, 9).ptr;
}

}  // namespace flowscore
