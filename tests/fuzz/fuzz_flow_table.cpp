// libFuzzer target: the flow table (rte_hash index, timer wheel, TCP close
// and linger, active-timeout checkpoints, port reuse) against the slow twin
// in tests/flow/flow_twin.hpp, on TCP traffic the fuzzer shapes: which of a
// few hosts and ports talk, in which direction, with which flags, how far
// apart in time (up to many wheel turns), with which timeouts. Packets go in
// as bursts with expiry once per burst, as the worker hands them over; the
// table must emit the same records as the twin.
#include <rte_eal.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "flow_twin.hpp"
#include "flowscore/flow_table.hpp"

namespace {

using namespace flowscore;
using namespace flowscore::flow_twin;

constexpr uint64_t kSec = 1'000'000'000;
constexpr size_t kMaxPackets = 3000;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* argv[] = {"fuzz", "--no-pci", "--no-huge", "-m256", "--no-shconf", "--no-telemetry",
                        "--log-level=error", "-l0"};
  if (rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)) < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  FlowTableConfig c;
  c.capacity = 1023;  // the traffic below has at most 6·3·4 = 72 flows: no table pressure
  c.wheel_tick_ns = kSec / 10;
  c.wheel_slots = 256;  // 25.6 s: long gaps and active timeouts turn the wheel many times
  c.idle_timeout_ns = (1 + data[0] % 30) * kSec;
  // Independent of the idle timeout: shorter or longer (a continued
  // record's active deadline can then fall before the slot it was filed in).
  c.active_timeout_ns = (1 + data[1] % 120) * kSec / 2;
  c.tcp_linger_ns = (data[2] % 5) * kSec / 2;
  const unsigned burst_size = 1 + data[3] % 32;
  data += 4, size -= 4;

  std::string error;
  auto table = FlowTable::create(c, FeatureConfig{}, error);
  if (!table) {
    std::fprintf(stderr, "flow table: %s\n", error.c_str());
    std::abort();
  }
  TwinTable twin(c);
  VectorSink sink;

  std::vector<ParsedPacket> burst;
  std::vector<uint64_t> burst_ts;
  std::vector<FlowTable::PacketRef> refs;
  burst.reserve(kMaxPackets);
  auto hand_over = [&](uint64_t now) {
    refs.clear();
    for (size_t i = 0; i < burst.size(); ++i) refs.push_back({&burst[i], burst[i].ip_len + 14, burst_ts[i]});
    table->account_burst(refs, 0, sink);
    burst.clear();
    burst_ts.clear();
    table->expire(now, sink);
  };

  const uint8_t kFlags[] = {tcp_flag::kSyn, tcp_flag::kSyn | tcp_flag::kAck, tcp_flag::kAck,
                            tcp_flag::kAck | tcp_flag::kPsh, tcp_flag::kFin | tcp_flag::kAck, tcp_flag::kRst,
                            tcp_flag::kFin, 0};
  uint64_t ts = 1000 * kSec;
  for (size_t i = 0; i + 3 <= size && i / 3 < kMaxPackets; i += 3) {
    const uint8_t who = data[i], how = data[i + 1], gap = data[i + 2];
    // Gap: 0..255 in one of four scales, so bursts of same-instant packets,
    // sub-tick spacing, timeouts and many wheel turns all occur.
    static constexpr uint64_t kScale[] = {0, kSec / 1000, kSec / 10, 2 * kSec};
    ts += gap * kScale[how >> 6];
    const IpAddress a = v4(10, 0, 0, 1 + who % 6), b = v4(10, 0, 1, 1 + (who >> 3) % 3);
    const uint16_t pa = 1000 + (who >> 5) % 4, pb = 80;
    const uint8_t flags = kFlags[how % std::size(kFlags)];
    const uint32_t len = 40 + ((how >> 3) & 7) * 180;
    const ParsedPacket p = (how & 8) ? tcp(a, pa, b, pb, flags, len) : tcp(b, pb, a, pa, flags, len);
    burst.push_back(p);
    burst_ts.push_back(ts);
    if (burst.size() == burst_size) hand_over(ts);
    twin.packet(p, len + 14, ts);
  }
  hand_over(ts);  // the worker's last pass, before end of input
  table->flush(EndReason::kShutdown, sink);
  twin.flush();

  std::vector<TwinRecord> fast = as_twin_records(sink.records);
  std::sort(fast.begin(), fast.end());
  std::sort(twin.out.begin(), twin.out.end());
  if (fast != twin.out) {
    std::fprintf(stderr, "flow table: %zu records, twin: %zu\n", fast.size(), twin.out.size());
    for (size_t k = 0; k < std::max(fast.size(), twin.out.size()); ++k) {
      const bool same = k < fast.size() && k < twin.out.size() && fast[k] == twin.out[k];
      if (same) continue;
      auto show = [](const char* who, const std::vector<TwinRecord>& v, size_t k) {
        if (k >= v.size()) return std::fprintf(stderr, "  %s: -\n", who), void();
        const TwinRecord& r = v[k];
        std::fprintf(stderr, "  %s: first %llu last %llu pkts %llu/%llu bytes %llu/%llu reason %s\n", who,
                     (unsigned long long)r.first, (unsigned long long)r.last, (unsigned long long)r.pkts_fwd,
                     (unsigned long long)r.pkts_bwd, (unsigned long long)r.bytes_fwd, (unsigned long long)r.bytes_bwd,
                     std::string(end_reason_name(r.reason)).c_str());
      };
      show("table", fast, k);
      show("twin ", twin.out, k);
      break;
    }
    std::abort();
  }
  return 0;
}
