// Cost of the feature accumulator per packet (FlowFeatures::add) and of one
// feature vector per record (FeatureSpec::compute).
//
// Add/1 keeps one flow hot in L1: the arithmetic alone. Add/1000 and
// Add/100000 spread packets over that many flows in random order, so the
// larger one pays the cache misses a real flow table pays (100k flows of
// FlowFeatures plus their first-packet slots are ~30 MB, beyond the LLC).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "flowscore/features.hpp"

namespace flowscore {
namespace {

struct Workload {
  std::vector<PacketObservation> packets;
  std::vector<uint32_t> flow_of;  // flow index per packet
};

Workload make_workload(uint32_t flows, size_t packets) {
  std::mt19937_64 rng(42);
  Workload w;
  std::vector<uint64_t> clock(flows, 1'700'000'000'000'000'000);
  for (size_t i = 0; i < packets; ++i) {
    const uint32_t flow = static_cast<uint32_t>(rng() % flows);
    clock[flow] += rng() % 20'000'000;  // up to 20 ms apart: some gaps are idle at a 5 ms threshold
    PacketObservation p;
    p.ts_ns = clock[flow];
    p.ip_len = rng() % 2 ? 52 : 1500;
    p.wire_len = p.ip_len + 14;
    p.payload_len = p.ip_len - 52;
    p.tcp_window = static_cast<uint16_t>(rng());
    p.tcp_flags = static_cast<uint8_t>(rng() % 4 ? 0x10 : 0x18);
    p.is_tcp = true;
    p.forward = rng() % 2;
    w.packets.push_back(p);
    w.flow_of.push_back(flow);
  }
  return w;
}

void BM_Add(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  FeatureConfig cfg;
  cfg.activity_gap_ns = 5'000'000;
  const Workload w = make_workload(flows, size_t{1} << 20);
  std::vector<FlowFeatures> table(flows);
  std::vector<FirstPacketSlot> slots(size_t{flows} * cfg.first_packets);
  for (auto& f : table) f.reset(1'700'000'000'000'000'000);
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t flow = w.flow_of[i];
    table[flow].add(w.packets[i], {slots.data() + size_t{flow} * cfg.first_packets, cfg.first_packets}, cfg);
    i = (i + 1) & (w.packets.size() - 1);
  }
  benchmark::DoNotOptimize(table.data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Add)->Arg(1)->Arg(1000)->Arg(100000);

void BM_Compute(benchmark::State& state) {
  FeatureConfig cfg;
  const FeatureSpec spec(cfg);
  const Workload w = make_workload(1, 1000);
  FlowFeatures f;
  std::vector<FirstPacketSlot> slots(cfg.first_packets);
  f.reset(w.packets[0].ts_ns);
  for (const auto& p : w.packets) f.add(p, slots, cfg);
  std::vector<float> out(spec.count());
  for (auto _ : state) {
    spec.compute(f, slots, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Compute);

}  // namespace
}  // namespace flowscore

BENCHMARK_MAIN();
