// libFuzzer target: FlowFeatures::add + FeatureSpec::compute against the
// slow twin of docs/FEATURES.md (tests/features/feature_twin.hpp), on packet
// sequences the fuzzer shapes: gaps from nanoseconds to hours, time running
// back, lengths past 65535, any flags, any direction pattern, any N and
// activity gap. Every column must agree as features_test.cpp requires.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "feature_twin.hpp"

namespace {

using flowscore::feature_twin::Packet;

// Reads little pieces off the input; past its end every read gives zero.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T take() {
    T v{};
    const size_t n = std::min(sizeof v, size_ - std::min(pos_, size_));
    std::memcpy(&v, data_ + pos_, n);
    pos_ += sizeof v;
    return v;
  }
  bool more() const { return pos_ < size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr size_t kMaxPackets = 4000;  // enough for every feature's saturating paths but the 2^32 counters

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint64_t activity_gaps[] = {0, 1, 999, 1000, 1'000'000, 5'000'000'000, 60'000'000'000, UINT64_MAX};
  flowscore::FeatureConfig cfg;
  cfg.first_packets = in.take<uint8_t>() % (flowscore::FeatureConfig::kMaxFirstPackets + 1);
  cfg.activity_gap_ns = activity_gaps[in.take<uint8_t>() % std::size(activity_gaps)];
  const auto garbage = in.take<uint8_t>();
  uint64_t ts = in.take<uint64_t>() % (uint64_t{1} << 62) + 1;

  std::vector<Packet> pkts;
  do {
    const auto gap = in.take<uint32_t>();
    const auto shape = in.take<uint8_t>();
    if (!pkts.empty()) {
      static constexpr uint64_t kScale[] = {1, 1000, 1'000'000, 1'000'000'000};
      const uint64_t step = uint64_t{gap} * kScale[shape & 3];
      ts = (shape & 4) ? ts - std::min(ts - 1, step % 10'000'000) : ts + step;  // time may run back a little
    }
    Packet p;
    p.ts_ns = ts;
    p.forward = pkts.empty() ? !(shape & 8) : (shape & 16) != 0;
    p.is_tcp = (shape & 32) != 0;
    p.ip_len = in.take<uint16_t>() + ((shape & 64) ? 65536u * in.take<uint8_t>() : 0u);
    p.payload_len = in.take<uint16_t>() % (p.ip_len + 1);
    p.wire_len = p.ip_len + in.take<uint8_t>() % 40;
    p.flags = p.is_tcp ? in.take<uint8_t>() : 0;
    p.window = in.take<uint16_t>();
    pkts.push_back(p);
  } while (in.more() && pkts.size() < kMaxPackets);

  const flowscore::FeatureSpec spec(cfg);
  const auto computed = flowscore::feature_twin::run_fast(spec, pkts, garbage);
  const auto bad = flowscore::feature_twin::mismatches(spec, pkts, computed.out);
  if (!bad.empty()) {
    std::fprintf(stderr, "%zu packets, N=%u, activity gap %llu ns:\n", pkts.size(), cfg.first_packets,
                 static_cast<unsigned long long>(cfg.activity_gap_ns));
    for (const auto& line : bad) std::fprintf(stderr, "  %s\n", line.c_str());
    std::abort();
  }
  return 0;
}
