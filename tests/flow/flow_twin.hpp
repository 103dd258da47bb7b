// A slow, obviously-correct twin of the flow table's lifecycle (std::map,
// every flow's deadline checked at every packet), and the small builders
// its users share: tests/flow/test_flow_table.cpp runs it beside the
// timer-wheel table on random traffic, tests/fuzz/fuzz_flow_table.cpp on
// traffic the fuzzer shapes. Both demand the same records.
#pragma once
#include <algorithm>
#include <array>
#include <compare>
#include <map>
#include <tuple>
#include <vector>

#include "flowscore/flow_table.hpp"

namespace flowscore::flow_twin {

inline IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress ip;
  ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
  return ip;
}

inline ParsedPacket tcp(IpAddress s, uint16_t sp, IpAddress d, uint16_t dp, uint8_t flags, uint32_t len = 60) {
  ParsedPacket p;
  p.src = s, p.dst = d, p.src_port = sp, p.dst_port = dp;
  p.ip_version = 4, p.proto = 6, p.tcp_flags = flags, p.has_l4 = true;
  p.ip_len = len, p.l3_offset = 14, p.tcp_header_len = 20, p.payload_len = len > 40 ? len - 40 : 0;
  return p;
}

// Collects records as plain copies.
struct VectorSink final : RecordSink {
  std::vector<FlowRecord> records;
  FlowRecord slot;
  FlowRecord* reserve() override { return &slot; }
  void commit(FlowRecord* r) override { records.push_back(*r); }
};

struct TwinFlow {
  IpAddress init_addr;
  uint16_t init_port;
  uint64_t first, last;
  uint64_t pkts_fwd = 0, pkts_bwd = 0, bytes_fwd = 0, bytes_bwd = 0;
  bool fin_init = false, fin_resp = false, closed = false;
};

using Tuple = std::tuple<std::array<uint8_t, 16>, uint16_t, std::array<uint8_t, 16>, uint16_t>;

struct TwinRecord {
  Tuple oriented;  // initiator first
  uint64_t first, last, pkts_fwd, pkts_bwd, bytes_fwd, bytes_bwd;
  EndReason reason;
  auto operator<=>(const TwinRecord&) const = default;
};

// The lifecycle rules, written the plain way: every flow's deadline is
// checked before every packet; a flow ends at the first tick boundary after
// its deadline (the table's documented resolution).
class TwinTable {
 public:
  explicit TwinTable(const FlowTableConfig& c) : c_(c) {}
  void expire(uint64_t now) {
    for (auto it = flows_.begin(); it != flows_.end();) {
      TwinFlow& f = it->second;
      // A closed connection lingers instead of idling; the active timeout
      // bounds every record, closed or not.
      const uint64_t quiet_end = f.last + quiet_limit(f);
      const uint64_t due = std::min(quiet_end, f.first + c_.active_timeout_ns);
      if (due / c_.wheel_tick_ns < now / c_.wheel_tick_ns && due <= now) {
        const EndReason why = quiet_end > f.first + c_.active_timeout_ns ? EndReason::kActiveTimeout
                              : f.closed                                 ? EndReason::kTcpClose
                                                                         : EndReason::kIdleTimeout;
        out.push_back(record(f, why));
        if (why == EndReason::kActiveTimeout) {
          // The flow goes on; the next packet starts the next record.
          pending_restart_[it->first] = f;
          it = flows_.erase(it);
          continue;
        }
        it = flows_.erase(it);
      } else {
        ++it;
      }
    }
    // A checkpointed flow that stays silent for the idle timeout (the
    // linger, once closed) is forgotten, also one checkpointed just above:
    // both deadlines may lie before `now`.
    std::erase_if(pending_restart_, [&](const auto& kv) {
      const uint64_t due = kv.second.last + quiet_limit(kv.second);
      return due / c_.wheel_tick_ns < now / c_.wheel_tick_ns && due <= now;
    });
  }
  void packet(const ParsedPacket& p, uint32_t wire, uint64_t ts) {
    expire(ts);
    const Tuple fwd{p.src.bytes, p.src_port, p.dst.bytes, p.dst_port};
    const Tuple rev{p.dst.bytes, p.dst_port, p.src.bytes, p.src_port};
    auto it = flows_.find(fwd);
    if (it == flows_.end()) it = flows_.find(rev);
    if (it != flows_.end() && it->second.closed && (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn) {
      out.push_back(record(it->second, EndReason::kTcpClose));
      flows_.erase(it);
      it = flows_.end();
    }
    if (it == flows_.end()) {
      auto restart = pending_restart_.find(fwd);
      if (restart == pending_restart_.end()) restart = pending_restart_.find(rev);
      if (restart != pending_restart_.end() && restart->second.closed &&
          (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn) {
        pending_restart_.erase(restart);  // a new connection on the 5-tuple: the checkpoint reported the old one
        restart = pending_restart_.end();
      }
      TwinFlow f;
      if (restart != pending_restart_.end()) {
        f.init_addr = restart->second.init_addr;
        f.init_port = restart->second.init_port;
        // The connection goes on across the checkpoint, and so does a FIN
        // already seen from one side (found by tests/fuzz).
        f.fin_init = restart->second.fin_init;
        f.fin_resp = restart->second.fin_resp;
        f.closed = restart->second.closed;
        pending_restart_.erase(restart);
      } else {
        const bool syn_ack = (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == (tcp_flag::kSyn | tcp_flag::kAck);
        f.init_addr = syn_ack ? p.dst : p.src;
        f.init_port = syn_ack ? p.dst_port : p.src_port;
      }
      f.first = f.last = ts;
      const Tuple key{f.init_addr.bytes, f.init_port, f.init_addr == p.src && f.init_port == p.src_port ? p.dst.bytes : p.src.bytes,
                      f.init_addr == p.src && f.init_port == p.src_port ? p.dst_port : p.src_port};
      it = flows_.emplace(key, f).first;
    }
    TwinFlow& f = it->second;
    const bool fwd_dir = f.init_addr == p.src && f.init_port == p.src_port;
    f.last = std::max(f.last, ts);
    (fwd_dir ? f.pkts_fwd : f.pkts_bwd) += 1;
    (fwd_dir ? f.bytes_fwd : f.bytes_bwd) += wire;
    if (p.tcp_flags & tcp_flag::kFin) (fwd_dir ? f.fin_init : f.fin_resp) = true;
    if ((p.tcp_flags & tcp_flag::kRst) || (f.fin_init && f.fin_resp)) f.closed = true;
  }
  void flush() {
    for (auto& [k, f] : flows_) out.push_back(record(f, EndReason::kShutdown));
    flows_.clear();
  }
  std::vector<TwinRecord> out;

 private:
  uint64_t quiet_limit(const TwinFlow& f) const { return f.closed ? c_.tcp_linger_ns : c_.idle_timeout_ns; }
  static TwinRecord record(const TwinFlow& f, EndReason why) {
    return {Tuple{}, f.first, f.last, f.pkts_fwd, f.pkts_bwd, f.bytes_fwd, f.bytes_bwd, why};
  }
  FlowTableConfig c_;
  std::map<Tuple, TwinFlow> flows_;
  std::map<Tuple, TwinFlow> pending_restart_;
};


// The fast table's records in the twin's terms.
inline std::vector<TwinRecord> as_twin_records(const std::vector<FlowRecord>& records) {
  std::vector<TwinRecord> out;
  for (const FlowRecord& r : records)
    out.push_back({Tuple{}, r.stats.first_ts_ns, r.stats.last_ts_ns, r.stats.pkts_fwd, r.stats.pkts_bwd,
                   r.stats.wire_bytes_fwd, r.stats.wire_bytes_bwd, r.reason});
  return out;
}

}  // namespace flowscore::flow_twin
