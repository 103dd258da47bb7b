// EVE output cost per record, side by side with the naive way (build an
// nlohmann::json object field by field with libc text routines, then dump),
// plus the pieces: Community ID, IPv6 text vs inet_ntop.
//
//   ninja -C build bench/output_bench && build/bench/output_bench
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "eve_reference.hpp"
#include "flowscore/community_id.hpp"
#include "flowscore/eve.hpp"
#include "synthetic_records.hpp"

namespace flowscore {
namespace {

constexpr size_t kRecords = 4096;
constexpr size_t kFeatures = 80;  // about what docs/FEATURES.md defines

struct Workload {
  EveOptions options;
  std::vector<FlowRecord> records;
  std::vector<float> features;

  explicit Workload(bool with_features) {
    options = test::make_options(with_features, true, 0);
    options.feature_names.clear();
    for (size_t i = 0; i < kFeatures; ++i) options.feature_names.push_back("feature_" + std::to_string(i));
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < kRecords; ++i) records.push_back(test::random_record(rng, static_cast<int>(i)));
    features = test::random_features(rng, kFeatures);
  }
};

void BM_EveFormatter(benchmark::State& state) {
  const Workload w(state.range(0) != 0);
  const EveFormatter formatter(w.options);
  fmt::memory_buffer out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    out.clear();
    formatter.format(w.records[i++ % kRecords], w.features, out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EveFormatter)->ArgName("features")->Arg(0)->Arg(1);

void BM_NlohmannBuildAndDump(benchmark::State& state) {
  const Workload w(state.range(0) != 0);
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string line = test::eve_reference(w.records[i++ % kRecords], w.options, w.features).back().dump();
    bytes += line.size() + 1;
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_NlohmannBuildAndDump)->ArgName("features")->Arg(0)->Arg(1);

void BM_CommunityId(benchmark::State& state) {
  const Workload w(false);
  std::array<char, kCommunityIdLength> out;
  size_t i = 0;
  for (auto _ : state) {
    community_id_v1(w.records[i++ % kRecords], 0, CommunityIdBuffer(out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CommunityId);

std::vector<IpAddress> random_ipv6(size_t n) {
  std::mt19937_64 rng(2);
  std::vector<IpAddress> v(n);
  for (IpAddress& a : v) {
    for (int g = 0; g < 8; ++g) {
      const uint16_t w = rng() % 3 ? static_cast<uint16_t>(rng()) : 0;
      a.bytes[2 * g] = static_cast<uint8_t>(w >> 8);
      a.bytes[2 * g + 1] = static_cast<uint8_t>(w);
    }
  }
  return v;
}

void BM_FormatIpv6(benchmark::State& state) {
  const auto addrs = random_ipv6(kRecords);
  char buf[kIpTextMax];
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(format_ip(addrs[i++ % kRecords], 6, buf));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FormatIpv6);

void BM_InetNtop6(benchmark::State& state) {
  const auto addrs = random_ipv6(kRecords);
  char buf[INET6_ADDRSTRLEN];
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(inet_ntop(AF_INET6, addrs[i++ % kRecords].bytes.data(), buf, sizeof buf));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_InetNtop6);

}  // namespace
}  // namespace flowscore

BENCHMARK_MAIN();
