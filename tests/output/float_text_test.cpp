// write_float9 against its definition, snprintf("%.9g"), on every kind of
// float32: random bit patterns (subnormals, huge, tiny), whole numbers on
// both sides of the integer fast path's edge, and the special values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "flowscore/float_text.hpp"

namespace flowscore {
namespace {

void expect_printf_text(float v) {
  char want[64], got[kFloatTextMax];
  std::snprintf(want, sizeof want, "%.9g", static_cast<double>(v));
  const std::string text(got, write_float9(got, v));
  ASSERT_EQ(text, want) << "bits 0x" << std::hex << std::bit_cast<uint32_t>(v);
}

TEST(FloatText, SameTextAsPrintfOnEveryKindOfFloat) {
  std::mt19937 rng(5);
  for (int i = 0; i < 2'000'000; ++i) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (!std::isnan(v)) expect_printf_text(v);
  }
  for (int64_t n = -100'000; n <= 100'000; ++n) expect_printf_text(static_cast<float>(n));
  for (float edge : {999999936.0f, 1e9f, 1.0000001e9f, 16777216.0f, 16777218.0f, 123456789.0f, 4294967296.0f,
                     -0.0f, 0.0f, 0.5f, -0.5f, 1e-45f, std::numeric_limits<float>::min(),
                     std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                     std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    expect_printf_text(edge);
  for (float v = 1; v < 3e9f; v *= 1.0001f) expect_printf_text(std::nextafter(std::round(v), 0.0f));
}

// What the text is for: it reads back to the same float32.
TEST(FloatText, ReadsBackToTheSameFloat) {
  std::mt19937 rng(6);
  for (int i = 0; i < 200'000; ++i) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isnan(v)) continue;
    char text[kFloatTextMax + 1];
    *write_float9(text, v) = '\0';
    EXPECT_EQ(std::bit_cast<uint32_t>(std::strtof(text, nullptr)), std::bit_cast<uint32_t>(v)) << text;
    EXPECT_EQ(std::bit_cast<uint32_t>(static_cast<float>(std::strtod(text, nullptr))), std::bit_cast<uint32_t>(v))
        << text;
  }
}

}  // namespace
}  // namespace flowscore
