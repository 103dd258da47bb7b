#include "generator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "flow_builder.hpp"
#include "frame_composer.hpp"
#include "event_heap.hpp"
#include "label_file.hpp"
#include "pcap_writer.hpp"
#include "traffic_classes.hpp"

namespace flowscore::gen {

double default_duration(Profile p) { return p == Profile::kBench ? 60.0 : 300.0; }
double default_attack_rate(Profile p) { return p == Profile::kBench ? 0.03 : 0.2; }

namespace {

constexpr int kMaxRedraws = 16;
constexpr size_t kPilotFlows = 10000;

// The class drawn for each new flow: a cumulative distribution over classes.
class ClassMix {
 public:
  ClassMix(const GeneratorOptions& o, double attack_rate) {
    const auto classes = traffic_classes();
    std::vector<double> weight(classes.size(), 0.0);
    std::vector<bool> selected(classes.size(), o.classes.empty());
    for (int c : o.classes) selected[static_cast<size_t>(c)] = true;
    double group_sum[2] = {0, 0};
    for (size_t i = 0; i < classes.size(); ++i) {
      if (!selected[i]) continue;
      double w = o.profile == Profile::kBench ? classes[i].bench_weight : classes[i].train_weight;
      // A class named on the command line is generated even if the profile
      // would not mix it in by default.
      if (w == 0 && !o.classes.empty()) w = classes[i].attack ? 1.0 : 0.02;
      weight[i] = w;
      group_sum[classes[i].attack] += w;
    }
    if (group_sum[0] == 0 && group_sum[1] == 0)
      throw std::runtime_error("no traffic class selected has a share in this profile");
    // Attacks get `attack_rate` of the flows, benign the rest; a group that
    // is empty hands its share to the other.
    double share[2] = {1.0 - attack_rate, attack_rate};
    if (group_sum[1] == 0) share[0] = 1, share[1] = 0;
    if (group_sum[0] == 0) share[0] = 0, share[1] = 1;
    double acc = 0;
    for (size_t i = 0; i < classes.size(); ++i) {
      const bool attack = classes[i].attack;
      if (weight[i] > 0) acc += share[attack] * weight[i] / group_sum[attack];
      cdf_.push_back(acc);
    }
    for (double& c : cdf_) c /= acc;
  }

  int draw(Rng& rng) const {
    const double u = rng.uniform();
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return static_cast<int>(std::min<size_t>(static_cast<size_t>(it - cdf_.begin()), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

// One bidirectional identity per flow, as a flow table keys it: protocol and
// the unordered pair of endpoints. ICMP echo flows have no ports; two pings
// between the same hosts would be one flow, so they collide here too.
uint64_t flow_identity(const FlowAddressing& a) {
  auto endpoint_hash = [](const IpAddr& ip, uint16_t port) {
    uint64_t h = 0xcbf29ce484222325ULL ^ port;
    for (uint8_t b : ip.bytes) h = (h ^ b) * 0x100000001b3ULL;
    return h * 0x9e3779b97f4a7c15ULL;
  };
  const bool icmp = a.proto == kProtoIcmp;
  const uint64_t x = endpoint_hash(a.initiator, icmp ? 0 : a.initiator_port);
  const uint64_t y = endpoint_hash(a.responder, icmp ? 0 : a.responder_port);
  uint64_t h = (std::min(x, y) * 31 + std::max(x, y)) ^ (static_cast<uint64_t>(a.proto) << 56);
  return splitmix64(h);
}

struct ActiveFlow {
  FrameComposer composer;
  Script script;
  size_t cursor = 0;
  int64_t start_us = 0;  // capture-relative time of the first packet
  uint32_t row = 0;
  uint16_t class_id = 0;
};

class Run {
 public:
  Run(const GeneratorOptions& o)
      : opt_(o),
        master_(o.seed ^ (o.profile == Profile::kBench ? 0xbe9c0000ULL : 0x74a10000ULL)),
        duration_s_(o.duration_s > 0 ? o.duration_s : default_duration(o.profile)),
        attack_rate_(o.attack_rate >= 0 ? o.attack_rate : default_attack_rate(o.profile)),
        mix_(o, attack_rate_) {
    Rng scenario_rng = master_.fork(1);
    sc_ = draw_scenario(o.profile, scenario_rng);
    Rng campaign_rng = master_.fork(2);
    campaigns_ = draw_campaigns(sc_, campaign_rng);
    stats_.per_class.resize(traffic_classes().size());
  }

  GeneratorStats run() {
    const int64_t window_us = static_cast<int64_t>(duration_s_ * 1e6);
    // --packets: a flow is planned at most two windows ahead, since the
    // capture ends near one window; --flows: the window is a hard end.
    const bool flows_mode = opt_.flows > 0;
    const int64_t end_us = flows_mode ? window_us : INT64_MAX;
    double rate_per_us;
    if (flows_mode) {
      rate_per_us = static_cast<double>(opt_.flows) / static_cast<double>(window_us);
    } else {
      rate_per_us = static_cast<double>(opt_.packets) /
                    (pilot_packets_per_flow(window_us) * static_cast<double>(window_us));
    }
    PcapWriter pcap(opt_.pcap_path);
    const double expected_flows =
        flows_mode ? static_cast<double>(opt_.flows) : rate_per_us * static_cast<double>(window_us);
    used_identities_.reserve(static_cast<size_t>(std::min(expected_flows * 1.2, 5e7)));
    rows_.reserve(static_cast<size_t>(std::min(expected_flows * 1.2, 5e7)));
    Rng arrivals = master_.fork(3);
    Rng flow_seeds = master_.fork(4);
    EventHeap heap;
    uint64_t started = 0;
    double next_arrival = flows_mode ? next_order_statistic(arrivals, 0, window_us, opt_.flows)
                                     : 0.0;
    for (;;) {
      if (!flows_mode && pcap.frames() >= opt_.packets) break;
      const bool more_arrivals = flows_mode ? started < opt_.flows : true;
      const int64_t arrival_us = static_cast<int64_t>(next_arrival);
      if (more_arrivals && (heap.empty() || arrival_us <= heap.top().t_us)) {
        ++started;
        const int64_t horizon = flows_mode ? window_us - arrival_us : 2 * window_us;
        if (start_flow(flow_seeds, arrival_us, horizon)) {
          const uint32_t slot = last_slot_;
          heap.push({arrival_us, static_cast<uint32_t>(started), slot});
          stats_.peak_active_flows = std::max<uint64_t>(stats_.peak_active_flows, heap.size());
        }
        next_arrival = flows_mode
                           ? next_order_statistic(arrivals, next_arrival, window_us, opt_.flows - started)
                           : next_arrival + arrivals.exponential(1.0 / rate_per_us);
        continue;
      }
      if (heap.empty()) break;
      const FlowEvent e = heap.top();
      if (e.t_us >= end_us) break;
      ActiveFlow& f = slots_[e.slot];
      emit(f, pcap);
      if (f.cursor < f.script.size()) {
        heap.replace_top({f.start_us + f.script[f.cursor].t_us, e.ordinal, e.slot});
      } else {
        heap.pop();
        free_slots_.push_back(e.slot);
      }
      // The next flow to emit is a cache miss away; start fetching it now.
      if (!heap.empty()) __builtin_prefetch(&slots_[heap.top().slot]);
    }
    pcap.close();
    stats_.packets = pcap.frames();
    stats_.bytes = pcap.bytes();
    write_labels();
    return std::move(stats_);
  }

 private:
  // Next of `remaining` uniform order statistics on [prev, end): the minimum
  // of `remaining` uniforms there, so the arrivals are sorted uniforms.
  static double next_order_statistic(Rng& rng, double prev, int64_t end, uint64_t remaining) {
    if (remaining == 0) return static_cast<double>(end);
    const double u = rng.uniform();
    return prev + (static_cast<double>(end) - prev) *
                      (1.0 - std::pow(1.0 - u, 1.0 / static_cast<double>(remaining)));
  }

  // Mean packets a flow puts inside the window when it starts at a uniform
  // time in it: what turns --packets into an arrival rate.
  double pilot_packets_per_flow(int64_t window_us) {
    Rng pilot = master_.fork(5);
    std::vector<Campaign> campaigns = campaigns_;
    Script script;
    double total = 0;
    for (size_t i = 0; i < kPilotFlows; ++i) {
      const int64_t start = static_cast<int64_t>(pilot.uniform() * static_cast<double>(window_us));
      const int cls = mix_.draw(pilot);
      Rng r = pilot.fork(i);
      FlowAddressing a;
      script.clear();
      FlowBuilder b(r, sc_, a, script, window_us - start);
      traffic_classes()[static_cast<size_t>(cls)].build(b, campaigns[static_cast<size_t>(cls)]);
      finish_script(script);
      const int64_t t0 = script.empty() ? 0 : script.front().t_us;
      for (const PacketSpec& p : script) total += p.t_us - t0 <= window_us - start;
    }
    return std::max(total / kPilotFlows, 1.0);
  }

  bool start_flow(Rng& flow_seeds, int64_t start_us, int64_t horizon) {
    uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    ActiveFlow& f = slots_[slot];
    const int cls = mix_.draw(flow_seeds);
    for (int attempt = 0; attempt < kMaxRedraws; ++attempt) {
      const uint64_t flow_seed = flow_seeds.next();
      Rng r(flow_seed);
      FlowAddressing a;
      f.script.clear();
      FlowBuilder b(r, sc_, a, f.script, horizon);
      traffic_classes()[static_cast<size_t>(cls)].build(b, campaigns_[static_cast<size_t>(cls)]);
      if (f.script.empty()) break;
      const uint64_t id = flow_identity(a);
      if (!used_identities_.insert(id).second) {
        ++stats_.key_collisions;
        continue;
      }
      finish_script(f.script);
      // Re-base so the first packet is at the flow's start.
      const int64_t t0 = f.script.front().t_us;
      for (PacketSpec& p : f.script) p.t_us -= t0;
      f.composer.reset(a, flow_seed);
      f.cursor = 0;
      f.start_us = start_us;
      f.class_id = static_cast<uint16_t>(cls);
      f.row = new_row(a, cls, f.composer.wire_proto(), f.script.front());
      last_slot_ = slot;
      return true;
    }
    free_slots_.push_back(slot);
    return false;
  }

  uint32_t new_row(const FlowAddressing& a, int cls, uint8_t proto, const PacketSpec& first) {
    LabelRow row;
    row.src = a.initiator;
    row.dst = a.responder;
    row.ipv6 = a.ipv6;
    row.proto = proto;
    row.class_id = static_cast<uint16_t>(cls);
    if (a.proto == kProtoIcmp) {
      // ICMP rows carry the initiator's first type and code (echo request).
      (void)first;
      row.src_port = a.ipv6 ? 128 : 8;
      row.dst_port = 0;
    } else {
      row.src_port = a.initiator_port;
      row.dst_port = a.responder_port;
    }
    rows_.push_back(row);
    return static_cast<uint32_t>(rows_.size() - 1);
  }

  // ICMP errors form their own flow (responder -> initiator, type/code), one
  // per (responder, initiator) pair, shared by every probe it answers.
  LabelRow& icmp_error_row(const ActiveFlow& f) {
    const FlowAddressing& a = f.composer.addressing();
    FlowAddressing key_view = a;
    key_view.proto = a.ipv6 ? kProtoIcmpV6 : kProtoIcmp;
    key_view.initiator_port = key_view.responder_port = 3;
    const uint64_t key = flow_identity(key_view);
    auto [it, inserted] = icmp_error_rows_.try_emplace(key, 0);
    if (inserted) {
      LabelRow row;
      row.src = a.responder;
      row.dst = a.initiator;
      row.ipv6 = a.ipv6;
      row.proto = a.ipv6 ? kProtoIcmpV6 : kProtoIcmp;
      row.src_port = a.ipv6 ? 1 : 3;  // destination unreachable
      row.dst_port = a.ipv6 ? 4 : 3;  // port unreachable
      row.class_id = f.class_id;
      rows_.push_back(row);
      it->second = static_cast<uint32_t>(rows_.size() - 1);
    }
    return rows_[it->second];
  }

  void emit(ActiveFlow& f, PcapWriter& pcap) {
    const PacketSpec& p = f.script[f.cursor++];
    const int64_t ts = sc_.epoch_us + f.start_us + p.t_us;
    const uint32_t len = f.composer.compose(p, ts, pcap.frame_slot());
    pcap.commit(ts, len);
    LabelRow& row = p.payload == Payload::kIcmpPortUnreachable ? icmp_error_row(f) : rows_[f.row];
    if (row.packets == 0) row.start_us = ts;
    row.end_us = ts;
    ++row.packets;
    ClassStats& cs = stats_.per_class[f.class_id];
    ++cs.packets;
    cs.bytes += len;
  }

  void write_labels() {
    std::string out;
    out.reserve(1 << 20);
    out += kLabelHeader;
    FILE* file = nullptr;
    if (!opt_.labels_path.empty()) {
      file = std::fopen(opt_.labels_path.c_str(), "wb");
      if (!file) throw std::runtime_error("cannot create " + opt_.labels_path);
    }
    const auto classes = traffic_classes();
    bool first_row = true;
    for (const LabelRow& row : rows_) {
      if (row.packets == 0) continue;  // started after the last packet was written
      const TrafficClass& tc = classes[row.class_id];
      ++stats_.per_class[row.class_id].flows;
      ++stats_.flows;
      stats_.packets_per_flow.push_back(row.packets);
      if (first_row) stats_.first_ts = static_cast<double>(row.start_us) / 1e6, first_row = false;
      stats_.last_ts = std::max(stats_.last_ts, static_cast<double>(row.end_us) / 1e6);
      if (!file) continue;
      append_label_line(out, row, tc.attack ? tc.name : std::string_view("benign"), tc.name);
      if (out.size() > (1 << 20)) {
        if (std::fwrite(out.data(), 1, out.size(), file) != out.size())
          throw std::runtime_error("write to " + opt_.labels_path + " failed");
        out.clear();
      }
    }
    if (file) {
      const bool ok = std::fwrite(out.data(), 1, out.size(), file) == out.size();
      if (std::fclose(file) != 0 || !ok)
        throw std::runtime_error("write to " + opt_.labels_path + " failed");
    }
  }

  const GeneratorOptions& opt_;
  Rng master_;
  double duration_s_;
  double attack_rate_;
  ClassMix mix_;
  Scenario sc_;
  std::vector<Campaign> campaigns_;
  std::vector<ActiveFlow> slots_;
  std::vector<uint32_t> free_slots_;
  uint32_t last_slot_ = 0;
  std::unordered_set<uint64_t> used_identities_;
  std::unordered_map<uint64_t, uint32_t> icmp_error_rows_;
  std::vector<LabelRow> rows_;
  GeneratorStats stats_;
};

}  // namespace

GeneratorStats generate(const GeneratorOptions& options) {
  if ((options.packets > 0) == (options.flows > 0))
    throw std::runtime_error("give exactly one of --packets N and --flows N (N > 0)");
  if (options.attack_rate > 1.0)
    throw std::runtime_error("--attack-rate must be between 0 and 1");
  if (options.flows > UINT32_MAX - 1) throw std::runtime_error("--flows is too large");
  Run run(options);
  return run.run();
}

}  // namespace flowscore::gen
