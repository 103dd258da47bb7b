// Worker cost per packet in the flow table (lookup, lifecycle, features) at
// 1k, 100k and 1M concurrent flows, burst-shaped as in the worker, plus the
// parser's cost per frame. Memory per tracked flow, as the table measures it,
// is reported as counters, here and at the production capacity (BM_FlowTableCreate).
//   flow_table_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <rte_eal.h>

#include <random>
#include <vector>

#include "flowscore/flow_table.hpp"
#include "flowscore/packet.hpp"

using namespace flowscore;

namespace {

struct CountingSink final : RecordSink {
  FlowRecord slot;
  uint64_t records = 0;
  FlowRecord* reserve() override { return &slot; }
  void commit(FlowRecord*) override { ++records; }
};

ParsedPacket flow_packet(uint32_t flow, bool reply) {
  ParsedPacket p;
  IpAddress a, b;
  a.bytes[0] = 10, a.bytes[1] = uint8_t(flow >> 16), a.bytes[2] = uint8_t(flow >> 8), a.bytes[3] = uint8_t(flow);
  b.bytes[0] = 192, b.bytes[1] = 0, b.bytes[2] = 2, b.bytes[3] = uint8_t(flow % 7);
  p.src = reply ? b : a;
  p.dst = reply ? a : b;
  p.src_port = reply ? 443 : uint16_t(1024 + flow % 60000);
  p.dst_port = reply ? uint16_t(1024 + flow % 60000) : 443;
  p.ip_version = 4, p.proto = 6, p.has_l4 = true, p.tcp_flags = tcp_flag::kAck;
  p.ip_len = reply ? 1500 : 52, p.l3_offset = 14, p.tcp_header_len = 32, p.payload_len = p.ip_len - 52;
  return p;
}

void BM_FlowTableAccount(benchmark::State& state) {
  const uint32_t flows = static_cast<uint32_t>(state.range(0));
  FlowTableConfig cfg;
  cfg.capacity = std::max<uint32_t>(1024, flows + flows / 4);
  FeatureConfig fcfg;
  std::string err;
  auto table = FlowTable::create(cfg, fcfg, err);
  if (!table) {
    state.SkipWithError(err.c_str());
    return;
  }
  // A fixed random packet sequence over `flows` flows, both directions.
  constexpr size_t kPackets = 1 << 20;
  std::vector<ParsedPacket> packets(kPackets);
  std::mt19937 rng(1);
  for (auto& p : packets) p = flow_packet(rng() % flows, rng() & 1);
  CountingSink sink;
  uint64_t ts = 1'000'000'000'000;
  for (uint32_t f = 0; f < flows; ++f) table->account(flow_packet(f, false), 66, ts, 0, sink);  // all flows live

  FlowTable::PacketRef refs[32];
  size_t next = 0;
  for (auto _ : state) {
    for (auto& r : refs) {
      const ParsedPacket& p = packets[next++ & (kPackets - 1)];
      r = {&p, p.ip_len + 14, ts += 100};  // 10 Mpps of capture time: no flow idles out
    }
    table->account_burst(refs, 0, sink);
    table->expire(ts, sink);
  }
  state.SetItemsProcessed(state.iterations() * 32);
  // Measured at creation (FlowTableMemory), per flow of capacity.
  const FlowTableMemory& mem = table->memory();
  state.counters["bytes_per_flow"] = double(table->bytes_per_flow());
  state.counters["index_B"] = double(mem.index_bytes) / cfg.capacity;
  state.counters["entry_B"] = double(mem.entry_bytes) / cfg.capacity;
  state.counters["first_B"] = double(mem.first_packet_bytes) / cfg.capacity;
  state.counters["live_flows"] = double(table->size());
}
BENCHMARK(BM_FlowTableAccount)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Memory at the production capacity (the default flow.table_size and one
// below it, where rte_hash's free-slot ring does not double), as measured by
// the table itself. The time is creation: DPDK's zeroed allocations.
void BM_FlowTableCreate(benchmark::State& state) {
  FlowTableConfig cfg;
  cfg.capacity = static_cast<uint32_t>(state.range(0));
  std::string err;
  std::unique_ptr<FlowTable> table;
  for (auto _ : state) {
    table.reset();
    table = FlowTable::create(cfg, FeatureConfig{}, err);
    if (!table) {
      state.SkipWithError(err.c_str());
      return;
    }
  }
  const FlowTableMemory& mem = table->memory();
  state.counters["bytes_per_flow"] = double(table->bytes_per_flow());
  state.counters["index_B"] = double(mem.index_bytes) / cfg.capacity;
  state.counters["entry_B"] = double(mem.entry_bytes) / cfg.capacity;
  state.counters["first_B"] = double(mem.first_packet_bytes) / cfg.capacity;
}
BENCHMARK(BM_FlowTableCreate)->Arg((1 << 20) - 1)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->Iterations(3);

// A TCP/IPv4 frame in 802.1Q, the common case on a sensor's SPAN port.
void BM_ParseFrame(benchmark::State& state) {
  uint8_t frame[74] = {0};
  frame[12] = 0x81, frame[13] = 0x00, frame[16] = 0x08, frame[17] = 0x00;  // VLAN, then IPv4
  uint8_t* ip = frame + 18;
  ip[0] = 0x45, ip[2] = 0, ip[3] = 52, ip[8] = 64, ip[9] = 6;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  uint8_t* tcp = ip + 20;
  tcp[0] = 0x04, tcp[1] = 0x00, tcp[2] = 0x01, tcp[3] = 0xbb, tcp[12] = 0x80, tcp[13] = tcp_flag::kAck;
  ParsedPacket p;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parse_frame(frame, sizeof frame, LinkType::kEthernet, p));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseFrame);

}  // namespace

int main(int argc, char** argv) {
  const char* eal[] = {"bench", "--no-pci", "--no-huge", "--no-shconf", "-m2048", "--no-telemetry", "--log-level=error", "-l0"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
