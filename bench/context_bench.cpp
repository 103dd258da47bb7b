// Cost per flow record of the cross-flow context (src/context) and of the
// whole judgement (context + alert policy + campaigns, src/policy), at 1k,
// 100k and 1M active hosts, beside the baseline a reader would write first:
// exact counts in std::unordered_map/set (docs/BENCHMARKS.md, "Context").
#include <benchmark/benchmark.h>

#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flowscore/config.hpp"
#include "flowscore/context.hpp"
#include "flowscore/record_judge.hpp"

namespace flowscore {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

IpAddress v4(uint32_t a) {
  IpAddress ip;
  ip.bytes[0] = a >> 24, ip.bytes[1] = a >> 16, ip.bytes[2] = a >> 8, ip.bytes[3] = a;
  return ip;
}

// 256k records among `hosts` addresses: every record a new flow between two
// of them, on a few services, a third answered, 10k records a second.
std::vector<FlowRecord> records(uint32_t hosts) {
  std::mt19937_64 rng(hosts);
  std::vector<FlowRecord> out(1 << 18);
  uint64_t t = 1000 * kSecond;
  for (FlowRecord& r : out) {
    r = FlowRecord{};
    r.ip_version = 4;
    r.proto = rng() % 4 ? 6 : 17;
    r.src = {v4(0x0a000000 + static_cast<uint32_t>(rng() % hosts)), static_cast<uint16_t>(rng())};
    r.dst = {v4(0x0a000000 + static_cast<uint32_t>(rng() % hosts)), static_cast<uint16_t>(rng() % 8 ? 443 : rng() % 1024)};
    t += 100'000;
    r.stats.first_ts_ns = r.stats.last_ts_ns = t;
    r.stats.pkts_fwd = 1 + rng() % 10;
    r.stats.pkts_bwd = rng() % 3 ? 0 : 1 + rng() % 10;
    r.stats.payload_bytes[1] = r.stats.pkts_bwd * 100;
    r.stats.rare_flags[0][1] = r.proto == 6;
    r.verdict.scored = true;
    r.verdict.num_classes = 8;
    r.verdict.label = static_cast<uint8_t>(rng() % 8);
    r.verdict.proba[r.verdict.label] = 0.7f;
  }
  return out;
}

std::vector<FlowRecord>& cached(uint32_t hosts) {
  static std::unordered_map<uint32_t, std::vector<FlowRecord>> by_hosts;
  auto it = by_hosts.find(hosts);
  if (it == by_hosts.end()) it = by_hosts.emplace(hosts, records(hosts)).first;
  return it->second;
}

// Sized as the shipped config sizes it for a million hosts.
ContextConfig million_host_config() {
  ContextConfig c;
  c.host_slots = 1u << 20;
  c.service_slots = 1u << 19;
  c.pair_cells = 1u << 20;
  return c;
}

void BM_ContextObserve(benchmark::State& state) {
  const auto& recs = cached(static_cast<uint32_t>(state.range(0)));
  ContextStore store(million_host_config());
  size_t i = 0;
  for (auto _ : state) {
    const FlowRecord& r = recs[i++ & (recs.size() - 1)];
    benchmark::DoNotOptimize(store.observe(r, flow_traits(r), 0));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["MiB"] = double(store.bytes()) / (1 << 20);
  state.counters["forgotten"] = benchmark::Counter(double(store.forgotten()), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ContextObserve)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// With the context fetched `ahead` records early (the writer did so, 4
// ahead, before the batch path).
void BM_ContextObservePrefetched(benchmark::State& state) {
  const auto& recs = cached(static_cast<uint32_t>(state.range(0)));
  const size_t ahead = static_cast<size_t>(state.range(1));
  ContextStore store(million_host_config());
  size_t i = 0;
  for (auto _ : state) {
    const FlowRecord& next = recs[(i + ahead) & (recs.size() - 1)];
    store.prefetch(ContextStore::key_of(next, flow_traits(next), 0));
    const FlowRecord& r = recs[i++ & (recs.size() - 1)];
    benchmark::DoNotOptimize(store.observe(r, flow_traits(r), 0));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ContextObservePrefetched)->ArgsProduct({{1000, 100'000, 1'000'000}, {4, 16}});

// As the writer counts a drained batch (RecordJudge::prepare): traits and
// keys for the batch, then ContextStore::observe(span), which requests each
// record's buckets kBatchAhead records before counting it.
void BM_ContextObserveBatch(benchmark::State& state) {
  const auto& recs = cached(static_cast<uint32_t>(state.range(0)));
  const size_t batch_size = static_cast<size_t>(state.range(1));
  ContextStore store(million_host_config());
  std::vector<ContextStore::Observation> batch(batch_size);
  size_t i = 0;
  for (auto _ : state) {
    for (ContextStore::Observation& o : batch) {
      o.record = &recs[i++ & (recs.size() - 1)];
      o.traits = flow_traits(*o.record);
      o.key = ContextStore::key_of(*o.record, o.traits, 0);
    }
    store.observe(batch);
    benchmark::DoNotOptimize(batch.back().values);
  }
  state.SetItemsProcessed(state.iterations() * int64_t(batch_size));
}
BENCHMARK(BM_ContextObserveBatch)->ArgsProduct({{1000, 100'000, 1'000'000}, {32, 256}});

// The baseline: exact distinct sets and counters in hash maps, one window
// (no epochs even), which is less than the store does.
void BM_ExactMapsBaseline(benchmark::State& state) {
  const auto& recs = cached(static_cast<uint32_t>(state.range(0)));
  struct Host {
    std::unordered_set<uint32_t> sources, targets;
    uint32_t flows_in = 0, flows_out = 0;
  };
  std::unordered_map<uint32_t, Host> hosts;
  std::unordered_map<uint64_t, uint32_t> pairs;
  const auto addr = [](const IpAddress& a) {
    return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 | a.bytes[3];
  };
  size_t i = 0;
  for (auto _ : state) {
    const FlowRecord& r = recs[i++ & (recs.size() - 1)];
    const uint32_t s = addr(r.src.addr), d = addr(r.dst.addr);
    Host& dst = hosts[d];
    dst.sources.insert(s);
    ++dst.flows_in;
    Host& src = hosts[s];
    src.targets.insert(d ^ uint32_t{r.dst.port} << 16);
    ++src.flows_out;
    benchmark::DoNotOptimize(++pairs[uint64_t{s} << 32 | (d ^ r.dst.port)]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ExactMapsBaseline)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// Context + policy + campaigns, as the writer runs them on every record.
void BM_RecordJudge(benchmark::State& state) {
  auto& recs = cached(static_cast<uint32_t>(state.range(0)));
  Config cfg;
  cfg.context = million_host_config();
  for (const char* c : {"benign", "flood", "amplification", "scan", "bruteforce", "slowloris", "c2_beacon", "exfiltration"}) {
    ClassPolicy p;
    p.name = c;
    p.evidence = {{ContextValue::kDstSources, 20}};
    cfg.model.classes.push_back(p);
  }
  RecordJudge judge(cfg, false);
  ModelInfo model;
  for (const ClassPolicy& p : cfg.model.classes) model.classes.push_back({p.name, "", 3});
  judge.model_changed(0, model);
  fmt::memory_buffer out;
  // Judged in place, a batch at a time, as the writer does (256 records:
  // model.batch_size, what a drain returns when records queue up).
  std::vector<FlowRecord*> batch(256);
  size_t i = 0;
  for (auto _ : state) {
    for (FlowRecord*& r : batch) r = &recs[i++ & (recs.size() - 1)];
    judge.prepare(batch);
    for (FlowRecord* r : batch) {
      judge.judge(*r, out);
      benchmark::DoNotOptimize(r->verdict.alert);
    }
    if (out.size() > (1 << 20)) out.clear();
  }
  state.SetItemsProcessed(state.iterations() * int64_t(batch.size()));
}
BENCHMARK(BM_RecordJudge)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

}  // namespace
}  // namespace flowscore

BENCHMARK_MAIN();
