// Deterministic random numbers for the traffic generator.
//
// A capture must be byte-identical for the same seed and parameters, on any
// machine that builds this code. The std:: distributions are
// implementation-defined (libstdc++ and libc++ draw different normals from the
// same engine), so every distribution here is written out by hand on top of
// xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/), seeded through
// SplitMix64 as its authors recommend.
#pragma once
#include <cmath>
#include <cstdint>

namespace flowscore::gen {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // An independent stream for one purpose (one flow, one campaign), so that
  // adding a draw in one place does not shift every later draw elsewhere.
  Rng fork(uint64_t stream) {
    uint64_t sm = next() ^ (stream * 0xd1342543de82ef95ULL);
    return Rng(splitmix64(sm));
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n); Lemire's multiply-shift with rejection, so
  // exactly uniform. n must be > 0.
  uint64_t below(uint64_t n) {
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
      const uint64_t low = static_cast<uint64_t>(m);
      if (low >= n || low >= (-n % n)) return static_cast<uint64_t>(m >> 64);
    }
  }
  // Uniform integer in [lo, hi], inclusive.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool chance(double p) { return uniform() < p; }

  double exponential(double mean) { return -mean * std::log1p(-uniform()); }

  // Standard normal by Box-Muller; one draw per call keeps the stream simple.
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }

  // Pareto type I: P(X > x) = (xm / x)^alpha for x >= xm.
  double pareto(double xm, double alpha) {
    return xm / std::pow(1.0 - uniform(), 1.0 / alpha);
  }

  // Number of failures before the first success, mean (1-p)/p.
  uint64_t geometric(double p) {
    if (p >= 1.0) return 0;
    return static_cast<uint64_t>(std::floor(std::log1p(-uniform()) / std::log1p(-p)));
  }

  // value * (1 +- fraction), uniformly.
  double jitter(double value, double fraction) {
    return value * (1.0 + fraction * (2.0 * uniform() - 1.0));
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace flowscore::gen
