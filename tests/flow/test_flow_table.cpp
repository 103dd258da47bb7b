// Flow table and lifecycle tests. The differential test at the bottom runs a
// slow, obviously-correct twin (flow_twin.hpp: std::map, every flow's
// deadline checked at every packet) beside the timer-wheel table and
// demands the same records.
#include <gtest/gtest.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include <bit>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "../common/eal_environment.hpp"
#include "flow_twin.hpp"
#include "flowscore/flow_table.hpp"
#include "flowscore/fragment_map.hpp"

using namespace flowscore;
using namespace flowscore::flow_twin;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

ParsedPacket udp(IpAddress s, uint16_t sp, IpAddress d, uint16_t dp, uint32_t len = 100) {
  ParsedPacket p;
  p.src = s, p.dst = d, p.src_port = sp, p.dst_port = dp;
  p.ip_version = 4, p.proto = 17, p.has_l4 = true, p.ip_len = len, p.l3_offset = 14, p.payload_len = len - 28;
  return p;
}

FlowTableConfig small_config(uint32_t capacity = 1024) {
  FlowTableConfig c;
  c.capacity = capacity;
  c.idle_timeout_ns = 10 * kSec;
  c.active_timeout_ns = 100 * kSec;
  c.tcp_linger_ns = 2 * kSec;
  c.wheel_tick_ns = kSec / 10;
  c.wheel_slots = 256;
  return c;
}

std::unique_ptr<FlowTable> make_table(const FlowTableConfig& c) {
  std::string err;
  FeatureConfig fc;
  auto t = FlowTable::create(c, fc, err);
  EXPECT_TRUE(t) << err;
  return t;
}

const IpAddress kClient = v4(10, 0, 0, 1);
const IpAddress kServer = v4(10, 0, 0, 200);

}  // namespace

TEST(FlowTable, BothDirectionsShareOneFlowAndTheFirstSenderInitiates) {
  auto t = make_table(small_config());
  VectorSink sink;
  // The server speaks first (higher address): it is still the initiator.
  t->account(udp(kServer, 53, kClient, 40000, 80), 94, 1 * kSec, 0, sink);
  t->account(udp(kClient, 40000, kServer, 53, 120), 134, 2 * kSec, 0, sink);
  t->account(udp(kServer, 53, kClient, 40000, 80), 94, 3 * kSec, 0, sink);
  EXPECT_EQ(t->size(), 1u);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  const FlowRecord& r = sink.records[0];
  EXPECT_EQ(r.src.addr, kServer);
  EXPECT_EQ(r.src.port, 53);
  EXPECT_EQ(r.stats.pkts_fwd, 2u);
  EXPECT_EQ(r.stats.pkts_bwd, 1u);
  EXPECT_EQ(r.stats.wire_bytes_fwd, 188u);
  EXPECT_EQ(r.stats.wire_bytes_bwd, 134u);
  EXPECT_EQ(r.state, FlowState::kEstablished);
  EXPECT_EQ(r.reason, EndReason::kShutdown);
  EXPECT_EQ(r.stats.first_ts_ns, 1 * kSec);
  EXPECT_EQ(r.stats.last_ts_ns, 3 * kSec);
}

TEST(FlowTable, SynAckFirstMakesTheSynSenderTheInitiator) {
  auto t = make_table(small_config());
  VectorSink sink;
  t->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kSyn | tcp_flag::kAck), 60, kSec, 0, sink);
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kAck), 60, kSec + 1000, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].src.addr, kClient);
  EXPECT_EQ(sink.records[0].dst.port, 80);
  EXPECT_EQ(sink.records[0].stats.pkts_fwd, 1u);  // the client's ACK
}

TEST(FlowTable, FinFromBothSidesClosesAfterTheLingerKeepingTheLastAck) {
  auto t = make_table(small_config());
  VectorSink sink;
  uint64_t ts = kSec;
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 60, ts, 0, sink);
  t->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kSyn | tcp_flag::kAck), 60, ts += 1000, 0, sink);
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kAck), 60, ts += 1000, 0, sink);
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kFin | tcp_flag::kAck), 60, ts += 1000, 0, sink);
  t->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kFin | tcp_flag::kAck), 60, ts += 1000, 0, sink);
  t->expire(ts + kSec / 2, sink);
  EXPECT_TRUE(sink.records.empty()) << "closed flow must linger";
  // The final ACK arrives inside the linger: same flow (the CICFlowMeter split-flow bug).
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kAck), 60, ts + kSec, 0, sink);
  t->expire(ts + 4 * kSec, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kTcpClose);
  EXPECT_EQ(sink.records[0].state, FlowState::kClosed);
  EXPECT_EQ(sink.records[0].stats.packets(), 6u);
  EXPECT_EQ(t->size(), 0u);
}

TEST(FlowTable, RstClosesAndASynAfterCloseStartsANewFlow) {
  auto t = make_table(small_config());
  VectorSink sink;
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 60, kSec, 0, sink);
  t->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kRst | tcp_flag::kAck), 60, kSec + 10, 0, sink);
  // Port reuse inside the linger: the old flow is reported, the new one starts.
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 60, kSec + 500, 0, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kTcpClose);
  EXPECT_EQ(sink.records[0].stats.packets(), 2u);
  EXPECT_EQ(t->counters().tcp_port_reuse, 1u);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].stats.packets(), 1u);
}

TEST(FlowTable, IdleTimeoutEndsAFlowAtTheFirstTickAfterItsDeadline) {
  const FlowTableConfig c = small_config();
  auto t = make_table(c);
  VectorSink sink;
  t->account(udp(kClient, 1000, kServer, 2000), 128, 5 * kSec, 0, sink);
  t->expire(5 * kSec + c.idle_timeout_ns, sink);  // deadline reached, its tick not yet over
  EXPECT_TRUE(sink.records.empty());
  t->expire(5 * kSec + c.idle_timeout_ns + c.wheel_tick_ns, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kIdleTimeout);
  EXPECT_EQ(sink.records[0].state, FlowState::kNew);
}

TEST(FlowTable, ActiveTimeoutReportsALongFlowAndKeepsTrackingIt) {
  FlowTableConfig c = small_config();
  c.active_timeout_ns = 30 * kSec;
  auto t = make_table(c);
  VectorSink sink;
  uint64_t packets = 0;
  for (uint64_t ts = kSec; ts < 100 * kSec; ts += kSec / 2) {
    t->expire(ts, sink);
    t->account(udp(kClient, 1000, kServer, 2000), 128, ts, 0, sink);
    ++packets;
  }
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 4u);  // 1-31, 31-61, 61-91, 91-99.5 s
  uint64_t total = 0;
  for (size_t i = 0; i < sink.records.size(); ++i) {
    EXPECT_EQ(sink.records[i].reason, i + 1 < sink.records.size() ? EndReason::kActiveTimeout : EndReason::kShutdown);
    EXPECT_EQ(sink.records[i].src.addr, kClient) << "orientation survives the checkpoint";
    EXPECT_EQ(sink.records[i].flow_id, sink.records[0].flow_id) << "every record of one flow has its flow_id";
    total += sink.records[i].stats.packets();
  }
  EXPECT_EQ(total, packets);
  EXPECT_LT(sink.records[0].flow_id, uint64_t{1} << 51);  // Suricata's range: exact as a JSON double
}

// flow_id: the same for a flow whichever table (worker) tracks it and
// whenever it runs; another flow, or the same 5-tuple reused, gets another.
TEST(FlowTable, FlowIdsComeFromTheFlowNotTheTableOrTheOrder) {
  VectorSink a, b;
  auto first = make_table(small_config());
  FlowTableConfig other = small_config(4096);
  other.worker_id = 3;
  auto second = make_table(other);
  second->account(udp(kServer, 53, kClient, 5353), 90, kSec / 2, 0, b);  // another flow first
  first->account(udp(kClient, 1000, kServer, 2000), 128, kSec, 0, a);
  second->account(udp(kClient, 1000, kServer, 2000), 128, kSec, 0, b);
  first->flush(EndReason::kShutdown, a);
  second->flush(EndReason::kShutdown, b);
  ASSERT_EQ(a.records.size(), 1u);
  ASSERT_EQ(b.records.size(), 2u);
  const auto& same = b.records[0].src.port == 1000 ? b.records[0] : b.records[1];
  const auto& dns = b.records[0].src.port == 1000 ? b.records[1] : b.records[0];
  EXPECT_EQ(a.records[0].flow_id, same.flow_id);
  EXPECT_NE(dns.flow_id, same.flow_id);

  VectorSink c;  // the 5-tuple again, later: a new flow, a new id
  auto third = make_table(small_config());
  third->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 60, kSec, 0, c);
  third->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kRst | tcp_flag::kAck), 60, kSec + 10, 0, c);
  third->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 60, kSec + 500, 0, c);
  third->flush(EndReason::kShutdown, c);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_NE(c.records[0].flow_id, c.records[1].flow_id);
}

// Offline, one burst can span minutes: a flow whose active timeout passes
// and which then stays silent past the idle timeout is forgotten, as the
// wheel would have done between packets, so a later packet from the other
// side starts a new flow that it initiates (found by tests/fuzz).
TEST(FlowTable, ACheckpointedFlowSilentPastTheIdleTimeoutWithinOneBurstIsForgotten) {
  FlowTableConfig c = small_config();  // idle 10 s
  c.active_timeout_ns = 20 * kSec;
  auto t = make_table(c);
  VectorSink sink;
  const ParsedPacket from_client = udp(kClient, 1000, kServer, 2000);
  const ParsedPacket from_server = udp(kServer, 2000, kClient, 1000);
  // Active deadline 1020 s, then forgotten at 1016 + 10 = 1026 s: both
  // before the last packet, and no expiry runs in between.
  const FlowTable::PacketRef burst[] = {{&from_client, 128, 1000 * kSec},
                                        {&from_client, 128, 1008 * kSec},
                                        {&from_client, 128, 1016 * kSec},
                                        {&from_server, 128, 1060 * kSec}};
  t->account_burst(burst, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kActiveTimeout);
  EXPECT_EQ(sink.records[0].stats.pkts_fwd, 3u);
  EXPECT_EQ(sink.records[1].reason, EndReason::kShutdown);
  EXPECT_EQ(sink.records[1].src.addr, kServer) << "a new flow, initiated by the server";
  EXPECT_EQ(sink.records[1].stats.pkts_fwd, 1u);
  EXPECT_EQ(t->counters().flows_created, 2u);
}

// pair_flows (FEATURES.md §7a): flows the two hosts began in this epoch and
// the one before, set when a record starts; replies and continuation
// records count nothing; each input starts afresh.
TEST(FlowTable, RecordsCarryTheFlowsTheirTwoHostsBeganLately) {
  FlowTableConfig c = small_config();
  c.active_timeout_ns = 30 * kSec;
  auto t = make_table(c);
  VectorSink sink;
  const uint64_t t0 = 6000 * kSec;  // an epoch boundary (60 s epochs)
  for (uint16_t port = 1; port <= 5; ++port) {
    t->account(tcp(kClient, 40000, kServer, port, tcp_flag::kSyn), 60, t0 + port * kSec, 0, sink);
    t->account(tcp(kServer, port, kClient, 40000, tcp_flag::kRst | tcp_flag::kAck), 60, t0 + port * kSec + 1000, 0, sink);
  }
  t->account(udp(v4(10, 9, 9, 9), 53, kServer, 53), 80, t0 + 6 * kSec, 0, sink);  // another pair
  // One long flow of the pair, 40 s on: it begins (6th) and is checkpointed at 70 s.
  for (uint64_t ts = t0 + 40 * kSec; ts <= t0 + 80 * kSec; ts += kSec) {
    t->expire(ts, sink);
    t->account(udp(kServer, 7000, kClient, 7001), 100, ts, 0, sink);
  }
  t->flush(EndReason::kShutdown, sink);
  std::map<std::pair<uint16_t, uint64_t>, unsigned> by_port_and_start;
  for (const FlowRecord& r : sink.records) by_port_and_start[{r.dst.port, r.stats.first_ts_ns}] = r.stats.pair_flows;
  for (uint16_t port = 1; port <= 5; ++port) EXPECT_EQ((by_port_and_start[{port, t0 + port * kSec}]), port);
  EXPECT_EQ((by_port_and_start[{53, t0 + 6 * kSec}]), 1u);
  EXPECT_EQ((by_port_and_start[{7001, t0 + 40 * kSec}]), 6u);
  EXPECT_EQ((by_port_and_start[{7001, t0 + 71 * kSec}]), 6u) << "a continuation counts nothing, sees the recent flows";
  t->account(tcp(kClient, 40000, kServer, 9, tcp_flag::kSyn), 60, t0 + 81 * kSec, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  EXPECT_EQ(sink.records.back().stats.pair_flows, 1) << "a new input starts with no history";
  EXPECT_EQ(t->pair_evictions(), 0u);
}

TEST(FlowTable, AFullTableEndsFlowsEarlyAndCountsThemNeverLosingARecord) {
  auto t = make_table(small_config(64));
  VectorSink sink;
  for (uint32_t i = 0; i < 5000; ++i)
    t->account(udp(v4(192, 168, i >> 8, i & 255), 1000, kServer, 53), 80, kSec + i * 1000, 0, sink);
  EXPECT_LE(t->size(), 64u);
  EXPECT_EQ(t->counters().evicted_pressure, 5000u - t->size());
  t->flush(EndReason::kShutdown, sink);
  EXPECT_EQ(sink.records.size(), 5000u);
  size_t forced = 0;
  for (const auto& r : sink.records) forced += r.reason == EndReason::kPressure;
  EXPECT_EQ(forced, 5000u - 64u);
}

TEST(FlowTable, AFullTableEndsTimedOutFlowsForTheirOwnReasonBeforeForcingAny) {
  // Expiry runs once per burst. A new flow that finds the table full while
  // flows have long passed their deadline must not report them "forced".
  auto t = make_table(small_config(8));
  VectorSink sink;
  for (uint8_t i = 1; i <= 8; ++i) t->account(udp(v4(10, 0, 0, i), 1000, kServer, 53), 80, i * kSec / 10, 0, sink);
  t->account(udp(v4(10, 0, 0, 9), 1000, kServer, 53), 80, 100 * kSec, 0, sink);
  ASSERT_EQ(sink.records.size(), 8u);
  for (const FlowRecord& r : sink.records) EXPECT_EQ(r.reason, EndReason::kIdleTimeout);
  EXPECT_EQ(t->counters().evicted_pressure, 0u);
  EXPECT_EQ(t->size(), 1u);
}

// Issue 14 §3: a full table ended the flow filed last in the soonest wheel
// slot, which under a spoofed SYN flood was often a talking connection (it
// is filed at its first packet): 200 packets came out as one-packet
// "forced" records. A flood that fills the table many times over must
// force out its own unanswered flows, and the connection stay one record.
TEST(FlowTable, AFloodThatFillsTheTableForcesOutUnansweredFlowsNotATalkingConnection) {
  auto t = make_table(small_config(63));
  VectorSink sink;
  uint32_t spoofed = 0x0b000000;
  uint64_t benign_packets = 0;
  for (uint64_t us = 0; us < 2'000'000; us += 100) {  // a SYN every 100 µs for 2 s
    const uint64_t now = kSec + us * 1000;
    IpAddress src = v4(0, 0, 0, 0);
    const uint32_t a = spoofed++;
    src.bytes[0] = a >> 24, src.bytes[1] = a >> 16, src.bytes[2] = a >> 8, src.bytes[3] = a;
    t->account(tcp(src, 1024, kServer, 80, tcp_flag::kSyn), 60, now, 0, sink);
    // From 0.5 s: a connection that talks every 5 ms, both ways.
    if (us >= 500'000 && us < 1'500'000 && us % (5 * 1000) == 0) {
      const bool from_client = (us / (5 * 1000)) % 2 == 0;
      const uint8_t flags = us == 500'000 ? tcp_flag::kSyn : tcp_flag::kAck | tcp_flag::kPsh;
      if (from_client) {
        t->account(tcp(kClient, 40000, kServer, 443, flags, 200), 214, now, 0, sink);
      } else {
        t->account(tcp(kServer, 443, kClient, 40000, tcp_flag::kAck | tcp_flag::kPsh, 900), 914, now, 0, sink);
      }
      ++benign_packets;
    }
    if (us % 3200 == 0) t->expire(now, sink);  // once per burst of 32
  }
  t->flush(EndReason::kShutdown, sink);
  std::vector<const FlowRecord*> benign;
  for (const FlowRecord& r : sink.records)
    if (r.dst.port == 443) benign.push_back(&r);
  ASSERT_EQ(benign.size(), 1u) << "the connection was split into " << benign.size() << " records";
  EXPECT_EQ(benign[0]->stats.packets(), benign_packets);
  EXPECT_NE(benign[0]->reason, EndReason::kPressure);
  EXPECT_GT(t->counters().evicted_pressure, 10'000u);  // the flood did fill the table, many times over
}

// A RST from kClient at 1 s, then its ACK every second until `until_s`
// (under the 2 s linger): a closed connection that keeps talking. With
// `expire_each`, the wheel runs after every packet, as after every burst.
static void talk_after_rst(FlowTable& t, VectorSink& sink, uint64_t until_s, bool expire_each) {
  t.account(tcp(kClient, 40000, kServer, 80, tcp_flag::kRst), 54, kSec, 0, sink);
  for (uint64_t s = 2; s <= until_s; ++s) {
    t.account(tcp(kClient, 40000, kServer, 80, tcp_flag::kAck), 54, s * kSec, 0, sink);
    if (expire_each) t.expire(s * kSec, sink);
  }
}

TEST(FlowTable, PacketsAfterAClosePaceTheActiveTimeoutNotOneEndlessRecord) {
  // A RST, then packets 1 s apart (under the 2 s linger) for 60 s: the
  // connection is closed but keeps talking, and must still be reported at
  // every active timeout, or one RST would keep a flow's verdict away.
  FlowTableConfig c = small_config();
  c.active_timeout_ns = 10 * kSec;
  auto t = make_table(c);
  VectorSink sink;
  talk_after_rst(*t, sink, 61, true);
  t->expire(70 * kSec, sink);  // silent past the linger: the connection ends
  ASSERT_GE(sink.records.size(), 6u);
  uint64_t packets = 0;
  for (size_t i = 0; i < sink.records.size(); ++i) {
    const FlowRecord& r = sink.records[i];
    packets += r.stats.packets();
    EXPECT_LE(r.stats.last_ts_ns - r.stats.first_ts_ns, c.active_timeout_ns) << i;
    EXPECT_EQ(r.state, FlowState::kClosed) << i;
    EXPECT_EQ(r.reason, i + 1 < sink.records.size() ? EndReason::kActiveTimeout : EndReason::kTcpClose) << i;
  }
  EXPECT_EQ(packets, 61u);
  EXPECT_EQ(t->size(), 0u);
}

TEST(FlowTable, ASynOnACheckpointedClosedFlowStartsANewConnectionAndNoEmptyRecord) {
  // A closed connection reported at its active timeout, then a SYN on its
  // 5-tuple within the linger: a new connection, and nothing more to say
  // about the old one (an empty tcp_close record came out; found by fuzzing).
  FlowTableConfig c = small_config();
  c.active_timeout_ns = 10 * kSec;
  auto t = make_table(c);
  VectorSink sink;
  talk_after_rst(*t, sink, 10, false);
  t->expire(11 * kSec + kSec / 2, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kActiveTimeout);
  t->account(tcp(kServer, 80, kClient, 40000, tcp_flag::kSyn), 54, 12 * kSec, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].stats.packets(), 1u);
  EXPECT_EQ(sink.records[1].src.addr, kServer);  // the new connection's SYN sender
  EXPECT_EQ(t->counters().tcp_port_reuse, 1u);
}

TEST(FlowTable, AContinuedRecordEndsAtItsOwnActiveTimeout) {
  // Active timeout (10 s) shorter than the idle one (60 s): the record that
  // continues a checkpointed flow was left in the slot of its predecessor's
  // idle deadline and ended late, at shutdown.
  FlowTableConfig c = small_config();
  c.idle_timeout_ns = 60 * kSec;
  c.active_timeout_ns = 10 * kSec;
  c.wheel_slots = 4096;  // one turn (410 s) is longer than the wait: no slot is visited early
  auto t = make_table(c);
  VectorSink sink;
  for (uint64_t s : {0, 5, 11, 15}) {
    t->account(udp(kClient, 5000, kServer, 53), 80, 1000 * kSec + s * kSec, 0, sink);
    t->expire(1000 * kSec + s * kSec, sink);
  }
  t->expire(1040 * kSec, sink);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kActiveTimeout);
  EXPECT_EQ(sink.records[0].stats.packets(), 2u);
  EXPECT_EQ(sink.records[1].reason, EndReason::kActiveTimeout);
  EXPECT_EQ(sink.records[1].stats.first_ts_ns, 1011 * kSec);
  EXPECT_EQ(sink.records[1].stats.packets(), 2u);
}

TEST(FlowTable, ALaterFragmentIsNotATcpPacket) {
  // It borrows its first fragment's ports, not a TCP header: it must not
  // set a direction's initial window (FEATURES.md §2: tcp_i is false).
  auto t = make_table(small_config());
  VectorSink sink;
  t->account(tcp(kClient, 40000, kServer, 80, tcp_flag::kSyn), 54, kSec, 0, sink);
  ParsedPacket later = tcp(kServer, 80, kClient, 40000, 0, 600);
  later.fragment = Fragment::kLater;
  later.tcp_window = 0;
  t->account(later, 614, 2 * kSec, 0, sink);
  ParsedPacket syn_ack = tcp(kServer, 80, kClient, 40000, tcp_flag::kSyn | tcp_flag::kAck);
  syn_ack.tcp_window = 2000;
  t->account(syn_ack, 54, 3 * kSec, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].stats.init_win[1], 2000);
  EXPECT_EQ(sink.records[0].stats.pkts_bwd, 2u);
}

TEST(FlowTable, BurstsUnderPressureConserveEveryPacket) {
  // Evictions inside a burst free positions that later packets of the same
  // burst were looked up at: the table must notice and look again.
  auto t = make_table(small_config(16));
  VectorSink sink;
  std::mt19937 rng(7);
  std::vector<ParsedPacket> burst(32);
  std::vector<FlowTable::PacketRef> refs(32);
  uint64_t sent = 0, bytes = 0;
  for (int b = 0; b < 500; ++b) {
    for (size_t i = 0; i < burst.size(); ++i) {
      burst[i] = udp(v4(172, 16, 0, rng() % 40), 1000 + rng() % 2, kServer, 53, 60 + rng() % 100);
      refs[i] = {&burst[i], burst[i].ip_len + 14, kSec + uint64_t(b) * 1000};
      ++sent;
      bytes += refs[i].wire_len;
    }
    t->account_burst(refs, 0, sink);
  }
  t->flush(EndReason::kShutdown, sink);
  uint64_t got = 0, got_bytes = 0;
  for (const auto& r : sink.records) {
    got += r.stats.packets();
    got_bytes += r.stats.wire_bytes_fwd + r.stats.wire_bytes_bwd;
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(got_bytes, bytes);
  EXPECT_GT(t->counters().evicted_pressure, 0u);
  EXPECT_EQ(t->counters().insert_failed, 0u);
}

ParsedPacket icmp(IpAddress s, IpAddress d, uint8_t type, uint8_t code) {
  ParsedPacket p;
  p.src = s, p.dst = d, p.ip_version = 4, p.proto = 1, p.has_l4 = true;
  p.icmp_type = type, p.icmp_code = code, p.ip_len = 84, p.l3_offset = 14, p.payload_len = 56;
  return p;
}

TEST(FlowTable, IcmpPairsLikeCommunityId) {
  auto t = make_table(small_config());
  VectorSink sink;
  // Echo request and reply: one flow. Destination unreachable both ways: two
  // one-way flows, oriented as sent (Community ID keeps them apart too).
  t->account(icmp(kClient, kServer, 8, 0), 98, kSec, 0, sink);
  t->account(icmp(kServer, kClient, 0, 0), 98, kSec + 10, 0, sink);
  t->account(icmp(kServer, kClient, 3, 3), 98, kSec + 20, 0, sink);
  t->account(icmp(kClient, kServer, 3, 3), 98, kSec + 30, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 3u);
  int echo = 0, unreachable_from_server = 0, unreachable_from_client = 0;
  for (const auto& r : sink.records) {
    if (r.stats.packets() == 2) {
      ++echo;
      EXPECT_EQ(r.src.addr, kClient);
    } else if (r.src.addr == kServer) {
      ++unreachable_from_server;
      EXPECT_EQ(r.icmp_type, 3);
    } else {
      ++unreachable_from_client;
    }
  }
  EXPECT_EQ(echo, 1);
  EXPECT_EQ(unreachable_from_server, 1);
  EXPECT_EQ(echo + unreachable_from_server + unreachable_from_client, 3);
}

TEST(FlowTable, CapturesStampedAtTheEpochStillExpire) {
  const FlowTableConfig c = small_config();
  auto t = make_table(c);
  VectorSink sink;
  t->account(udp(kClient, 1, kServer, 2), 80, 0, 0, sink);
  t->expire(c.idle_timeout_ns + 2 * c.wheel_tick_ns, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].reason, EndReason::kIdleTimeout);
}

TEST(FlowTable, TimeNeverRunsBackwards) {
  // A packet stamped far ahead moves the table's clock; a later packet with
  // an earlier stamp is judged at that clock, so its idle flow has ended.
  auto t = make_table(small_config());
  VectorSink sink;
  t->account(udp(kClient, 1, kServer, 2), 80, 100 * kSec, 0, sink);
  t->account(udp(kClient, 3, kServer, 4), 80, 5000 * kSec, 0, sink);
  t->account(udp(kClient, 1, kServer, 2), 80, 101 * kSec, 0, sink);
  // A new flow stamped behind the clock is not ended by its own packet: no
  // empty record, and it begins once (pair_flows counts it once).
  t->account(udp(kClient, 5, kServer, 6), 80, 102 * kSec, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 4u);
  for (const auto& r : sink.records) EXPECT_EQ(r.stats.packets(), 1u);
  EXPECT_EQ(t->counters().flows_created, 4u);
}

// flush() empties the index in one reset: a full table flushed twice
// (two capture files) holds every flow of the second round again, without
// evictions, and emits each flow exactly once.
TEST(FlowTable, AFlushedFullTableTakesAFullTableAgain) {
  VectorSink sink;
  auto t = make_table(small_config(64));
  for (int round = 0; round < 2; ++round) {
    for (uint16_t port = 1; port <= 64; ++port)
      t->account(udp(kClient, port, kServer, uint16_t(1000 + round)), 80, kSec + port, 0, sink);
    EXPECT_EQ(t->size(), 64u);
    t->flush(EndReason::kShutdown, sink);
    EXPECT_EQ(t->size(), 0u);
  }
  EXPECT_EQ(t->counters().evicted_pressure, 0u);
  ASSERT_EQ(sink.records.size(), 128u);
  std::set<std::pair<uint16_t, uint16_t>> seen;
  for (const auto& r : sink.records) seen.insert({r.src.port, r.dst.port});
  EXPECT_EQ(seen.size(), 128u);
}

// A flush of a few flows deletes their keys one by one instead of resetting
// the whole index: their places must come back all the same, so the next
// input can fill the table to the last place without an eviction.
TEST(FlowTable, AFlushOfAFewFlowsFreesTheirPlaces) {
  VectorSink sink;
  auto t = make_table(small_config(256));  // a reset only above 256 / 64 live flows
  for (uint16_t port = 1; port <= 3; ++port) t->account(udp(kClient, port, kServer, 53), 80, kSec + port, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  EXPECT_EQ(t->size(), 0u);
  t->flush(EndReason::kShutdown, sink);  // an empty table: nothing to emit or delete
  for (uint16_t port = 1; port <= 256; ++port) t->account(udp(kClient, port, kServer, 53), 80, 2 * kSec + port, 1, sink);
  EXPECT_EQ(t->size(), 256u);
  EXPECT_EQ(t->counters().evicted_pressure, 0u);
  t->flush(EndReason::kShutdown, sink);
  EXPECT_EQ(t->size(), 0u);
  ASSERT_EQ(sink.records.size(), 3u + 256u);
  for (size_t i = 0; i < sink.records.size(); ++i) EXPECT_EQ(sink.records[i].stats.packets(), 1u) << i;
  EXPECT_EQ(t->counters().flows_created, 3u + 256u);
}

TEST(FlowTable, ASinkWithoutRoomCountsDroppedRecords) {
  struct FullSink final : RecordSink {
    FlowRecord* reserve() override { return nullptr; }
    void commit(FlowRecord*) override { FAIL(); }
  } full;
  auto t = make_table(small_config());
  t->account(udp(kClient, 1, kServer, 2), 80, kSec, 0, full);
  t->flush(EndReason::kShutdown, full);
  EXPECT_EQ(t->counters().records_dropped, 1u);
  EXPECT_EQ(t->size(), 0u);
}

namespace {
// What rte_hash_create() allocates for `entries` keys with extendable
// buckets, read from DPDK 22.11 lib/hash/rte_cuckoo_hash.c: a key store of
// entries + 1 slots (slot 0 is a dummy), each RTE_ALIGN(8 B data pointer +
// key, 16); align32pow2(entries) / 8 buckets of 64 B, and as many
// extendable ones; a ring of free key slots, align32pow2(entries + 1)
// uint32s; a ring of free extendable buckets, align32pow2(buckets + 1) uint32s.
size_t rte_hash_payload_bytes(uint64_t entries, size_t key_len) {
  auto pow2 = [](uint64_t v) { return std::bit_ceil(v); };
  const uint64_t buckets = pow2(entries) / 8;
  const uint64_t key_slot = (8 + key_len + 15) / 16 * 16;
  return (entries + 1) * key_slot + 2 * buckets * 64 + pow2(entries + 1) * 4 + pow2(buckets + 1) * 4;
}
// The allocator's headers, struct rte_hash, the rings' headers and the
// tailq entry: a few cache lines each, far below this.
constexpr size_t kIndexOverheadSlack = 16 * 1024;
}  // namespace

TEST(FlowTable, MeasuresTheMemoryRteHashAndItsArraysReallyTake) {
  for (uint32_t capacity : {65535u, 65536u, 100000u}) {
    SCOPED_TRACE(capacity);
    auto t = make_table(small_config(capacity));
    const FlowTableMemory& m = t->memory();
    const size_t expected = rte_hash_payload_bytes(capacity, sizeof(FlowKey));
    EXPECT_GE(m.index_bytes, expected);
    EXPECT_LE(m.index_bytes, expected + kIndexOverheadSlack);
    EXPECT_GE(m.entry_bytes, size_t{capacity} * sizeof(FlowFeatures));
    EXPECT_GE(m.first_packet_bytes, size_t{capacity} * FeatureConfig{}.first_packets * sizeof(FirstPacketSlot));
    EXPECT_EQ(t->bytes_per_flow(), (m.total() + capacity - 1) / capacity);
  }
}

TEST(FlowTable, WithoutFirstPacketsMapsNoSlotsAndStillReportsFlows) {
  FeatureConfig none;
  none.first_packets = 0;
  std::string err;
  auto t = FlowTable::create(small_config(), none, err);
  ASSERT_TRUE(t) << err;
  EXPECT_EQ(t->memory().first_packet_bytes, 0u);
  VectorSink sink;
  t->account(udp(kClient, 1, kServer, 2), 80, kSec, 0, sink);
  t->account(udp(kServer, 2, kClient, 1), 80, 2 * kSec, 0, sink);
  t->flush(EndReason::kShutdown, sink);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].first_count, 0);
  EXPECT_EQ(sink.records[0].stats.packets(), 2u);
}

TEST(FlowTable, ReturnsItsIndexMemoryToTheDpdkHeap) {
  rte_malloc_socket_stats before{}, after{};
  ASSERT_EQ(rte_malloc_get_socket_stats(rte_socket_id_by_idx(0), &before), 0);
  make_table(small_config(100000)).reset();
  ASSERT_EQ(rte_malloc_get_socket_stats(rte_socket_id_by_idx(0), &after), 0);
  EXPECT_EQ(after.heap_allocsz_bytes, before.heap_allocsz_bytes);
}

// Fragments of datagram 77 from kClient to kServer: the first carries the
// UDP ports, a later one none.
static ParsedPacket fragment(Fragment which) {
  ParsedPacket p = which == Fragment::kFirst ? udp(kClient, 5353, kServer, 53) : udp(kClient, 0, kServer, 0);
  p.has_l4 = which == Fragment::kFirst;
  p.fragment = which;
  p.fragment_id = 77;
  return p;
}

TEST(FragmentMap, LaterFragmentsBorrowTheFirstFragmentsPorts) {
  FragmentMap m(64, 30 * kSec);
  m.remember(fragment(Fragment::kFirst), kSec);
  ParsedPacket later = fragment(Fragment::kLater);
  ASSERT_TRUE(m.attribute(later, 2 * kSec));
  EXPECT_EQ(later.src_port, 5353);
  EXPECT_EQ(later.dst_port, 53);
  later.fragment_id = 78;
  EXPECT_FALSE(m.attribute(later, 2 * kSec));
  later.fragment_id = 77;
  EXPECT_FALSE(m.attribute(later, 40 * kSec)) << "entries die after the fragment timeout";
  EXPECT_EQ(m.counters().attributed, 1u);
  EXPECT_EQ(m.counters().unattributed, 2u);
}

TEST(FragmentMap, ForgetsEverythingWhenClearedAndTellsIpVersionsApart) {
  FragmentMap m(64, 30 * kSec);
  m.remember(fragment(Fragment::kFirst), kSec);
  // An IPv6 datagram whose 16-byte addresses start with the IPv4 ones.
  ParsedPacket later6 = fragment(Fragment::kLater);
  later6.ip_version = 6;
  EXPECT_FALSE(m.attribute(later6, 2 * kSec));
  ParsedPacket later4 = fragment(Fragment::kLater);
  m.clear();  // the next capture file
  EXPECT_FALSE(m.attribute(later4, 2 * kSec));
  m.remember(fragment(Fragment::kFirst), kSec);
  EXPECT_TRUE(m.attribute(later4, 2 * kSec));
}

TEST(FlowTable, MatchesTheSlowTwinOnRandomTraffic) {
  FlowTableConfig c = small_config(1 << 14);
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    // An active timeout longer than the idle one, and shorter.
    c.active_timeout_ns = seed % 2 ? 40 * kSec : 5 * kSec;
    auto t = make_table(c);
    VectorSink sink;
    TwinTable twin(c);
    std::mt19937_64 rng(seed);
    uint64_t ts = 1000 * kSec;
    // Packets go in as bursts of 32, as the worker hands them over; the
    // wheel runs once per burst, so flows that time out inside a burst must
    // be caught by the per-packet check.
    std::vector<ParsedPacket> burst;
    std::vector<uint64_t> pending_ts;
    std::vector<FlowTable::PacketRef> refs;
    burst.reserve(32);
    auto hand_over = [&] {
      refs.clear();
      for (const ParsedPacket& q : burst) refs.push_back({&q, q.ip_len + 14, pending_ts[&q - burst.data()]});
      t->account_burst(refs, 0, sink);
      burst.clear();
      pending_ts.clear();
    };
    for (int i = 0; i < 20000; ++i) {
      // Few hosts and ports, so flows recur, close, reopen and time out.
      ts += std::uniform_int_distribution<uint64_t>(0, 3 * kSec / 2)(rng) * (rng() % 50 == 0 ? 8 : 1);
      const IpAddress a = v4(10, 0, 0, 1 + rng() % 6), b = v4(10, 0, 1, 1 + rng() % 3);
      const uint16_t pa = 1000 + rng() % 4, pb = 80;
      const bool a_sends = rng() % 2;
      const uint8_t flag_choices[] = {tcp_flag::kSyn, tcp_flag::kSyn | tcp_flag::kAck, tcp_flag::kAck, tcp_flag::kAck,
                                      tcp_flag::kAck | tcp_flag::kPsh, tcp_flag::kFin | tcp_flag::kAck, tcp_flag::kRst};
      const uint8_t flags = flag_choices[rng() % std::size(flag_choices)];
      const uint32_t len = 40 + rng() % 1460;
      const ParsedPacket p = a_sends ? tcp(a, pa, b, pb, flags, len) : tcp(b, pb, a, pa, flags, len);
      burst.push_back(p);
      pending_ts.push_back(ts);
      if (burst.size() == 32) {
        hand_over();
        t->expire(ts, sink);
      }
      twin.packet(p, len + 14, ts);
    }
    hand_over();
    t->expire(ts, sink);  // the worker's last pass, before end of input
    t->flush(EndReason::kShutdown, sink);
    twin.flush();
    std::vector<TwinRecord> fast = as_twin_records(sink.records);
    std::sort(fast.begin(), fast.end());
    std::sort(twin.out.begin(), twin.out.end());
    ASSERT_EQ(fast.size(), twin.out.size()) << "seed " << seed;
    EXPECT_TRUE(fast == twin.out) << "seed " << seed;
  }
}

// flow.vlan_tracking (Suricata's vlan.use-for-tracking): the same 5-tuple on
// two VLANs (a router seen twice on a trunk) is two flows when tracked, one
// when not; either way each record names its first packet's VLAN IDs, and
// an entry reused by an untagged flow names none.
TEST(FlowTable, VlansSplitFlowsOnlyWhenTrackedAndEveryRecordNamesItsOwn) {
  const auto tagged = [](ParsedPacket p, std::initializer_list<uint16_t> ids) {
    for (uint16_t id : ids) p.vlan.push(id);
    return p;
  };
  for (const bool tracked : {false, true}) {
    FlowTableConfig c = small_config();
    c.vlan_in_key = tracked;
    auto t = make_table(c);
    VectorSink sink;
    t->account(tagged(udp(kClient, 40000, kServer, 53), {10}), 114, 1 * kSec, 0, sink);
    t->account(tagged(udp(kServer, 53, kClient, 40000), {20, 7}), 118, 2 * kSec, 0, sink);
    t->account(tagged(udp(kClient, 40000, kServer, 53), {10}), 114, 3 * kSec, 0, sink);
    EXPECT_EQ(t->size(), tracked ? 2u : 1u);
    t->flush(EndReason::kShutdown, sink);
    t->account(udp(kClient, 40001, kServer, 53), 114, 4 * kSec, 0, sink);  // untagged, maybe in a reused entry
    t->flush(EndReason::kShutdown, sink);
    ASSERT_EQ(sink.records.size(), tracked ? 3u : 2u);
    std::sort(sink.records.begin(), sink.records.end(),
              [](const FlowRecord& a, const FlowRecord& b) { return a.stats.first_ts_ns < b.stats.first_ts_ns; });
    const FlowRecord& first = sink.records[0];
    EXPECT_EQ(first.vlan.count(), 1u);
    EXPECT_EQ(first.vlan.id(0), 10);
    EXPECT_EQ(first.stats.packets(), tracked ? 2u : 3u);
    if (tracked) {
      const FlowRecord& second = sink.records[1];
      ASSERT_EQ(second.vlan.count(), 2u);
      EXPECT_EQ(second.vlan.id(0), 20);
      EXPECT_EQ(second.vlan.id(1), 7);
      EXPECT_EQ(second.stats.packets(), 1u);
      EXPECT_NE(second.flow_id, first.flow_id);
    }
    EXPECT_EQ(sink.records.back().vlan.count(), 0u);
  }
}
