// CampaignTracker: model-free detectors of many-flow attacks, and their EVE
// alert events (docs/OUTPUT.md "Campaigns"). Runs on the main lcore, once per
// record.
#include "flowscore/campaigns.hpp"

#include <algorithm>
#include <array>

#include "flowscore/eve.hpp"
#include "flowscore/key_tag.hpp"

namespace flowscore {

namespace {

constexpr std::array<std::string_view, 5> kRuleNames = {"one_sided_fan_in", "unanswered_syn", "fan_out", "repeat",
                                                        "packet_rate"};
// Alert signature ids of campaign events: 1000 + rule + 1, beside the model
// classes' own ids (docs/OUTPUT.md).
constexpr uint32_t kSignatureBase = 1001;

bool keyed_by_target(CampaignRule r) { return r != CampaignRule::kFanOut; }
bool keyed_by_source(CampaignRule r) { return r != CampaignRule::kOneSidedFanIn && r != CampaignRule::kPacketRate; }

// A group address: a flood toward it is answered by every member, to
// whoever the packets claim to come from (smurf, fraggle).
bool group_address(const IpAddress& a, uint8_t ip_version) {
  if (ip_version == 6) return a.bytes[0] == 0xff;
  return (a.bytes[0] & 0xf0) == 0xe0 || (a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255);
}

bool keyed_by_service(CampaignRule r) { return r == CampaignRule::kUnansweredSyn || r == CampaignRule::kRepeat; }

struct CampaignKey {
  uint32_t scope;
  uint8_t rule, ip_version, proto, reflection;
  uint16_t port, pad2[3];
  IpAddress source, target;
};

void append_ip(const IpAddress& a, uint8_t ip_version, fmt::memory_buffer& out) {
  char text[kIpTextMax];
  out.push_back('"');
  out.append(text, text + format_ip(a, ip_version, text));
  out.push_back('"');
}

void append_time(uint64_t ts_ns, fmt::memory_buffer& out) {
  char text[kEveTimestampLength];
  format_eve_timestamp(ts_ns, text);
  out.push_back('"');
  out.append(text, text + kEveTimestampLength);
  out.push_back('"');
}

}  // namespace

std::string_view campaign_rule_name(CampaignRule r) { return kRuleNames[static_cast<size_t>(r)]; }

CampaignTracker::CampaignTracker(const CampaignConfig& cfg, std::string sensor_name,
                                 std::unordered_map<std::string, CampaignClassInfo> classes)
    : cfg_(cfg), classes_(std::move(classes)) {
  if (!sensor_name.empty()) {
    fmt::memory_buffer b;
    fmt::format_to(std::back_inserter(b), "\"host\":");
    append_json_string(sensor_name, b);
    b.push_back(',');
    host_member_ = fmt::to_string(b);
  }
  open_.reserve(cfg.max_open);
}

// The per-flow condition: which flows a rule counts (and may join to a campaign).
bool CampaignTracker::fits(CampaignRule rule, const FlowRecord& r, const FlowTraits& t) const {
  switch (rule) {
    case CampaignRule::kOneSidedFanIn: return t.one_sided;
    case CampaignRule::kUnansweredSyn: return t.syn_unanswered;
    case CampaignRule::kFanOut: return t.one_sided;
    case CampaignRule::kRepeat: return !t.one_sided && r.stats.packets() <= cfg_.repeat_max_packets;
    case CampaignRule::kPacketRate: return t.one_sided && sender_packets(r, t) >= std::max(1u, cfg_.rate_min_packets);
    default: return false;
  }
}

// When a rule opens a campaign: its context thresholds (0 turns a rule off).
bool CampaignTracker::fires(CampaignRule rule, const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx) const {
  const auto at_least = [](uint32_t v, uint32_t min) { return min > 0 && v >= min; };
  switch (rule) {
    case CampaignRule::kOneSidedFanIn:
      return at_least(ctx[ContextValue::kDstSources], cfg_.fan_in_sources) &&
             at_least(ctx[ContextValue::kDstOneSided], cfg_.fan_in_one_sided);
    case CampaignRule::kUnansweredSyn: return at_least(ctx[ContextValue::kSynUnanswered], cfg_.syn_unanswered);
    case CampaignRule::kFanOut:
      return at_least(ctx[ContextValue::kSrcTargets], cfg_.fan_out_targets) &&
             at_least(ctx[ContextValue::kSrcOneSided], cfg_.fan_out_one_sided);
    case CampaignRule::kRepeat: return at_least(ctx[ContextValue::kRepeat], cfg_.repeat_flows);
    case CampaignRule::kPacketRate: {
      // packets / span >= pps, without dividing by a span of 0 (all in one µs).
      const uint64_t span_ns = r.stats.last_ts_ns - r.stats.first_ts_ns;
      return cfg_.rate_pps > 0 && double(sender_packets(r, t)) * 1e9 >= double(cfg_.rate_pps) * double(span_ns);
    }
    default: return false;
  }
}

// A target's floods and its reflections are separate campaigns: each flow
// joins the one of its kind, so the class an event names fits its flows.
uint64_t CampaignTracker::key_of(CampaignRule rule, const FlowRecord& r, const FlowTraits& t, uint32_t scope) {
  CampaignKey k{};
  k.scope = scope;
  k.rule = static_cast<uint8_t>(rule);
  k.ip_version = r.ip_version;
  k.reflection = (rule == CampaignRule::kOneSidedFanIn && t.reflection_like) ||
                 (rule == CampaignRule::kPacketRate && group_address(t.receiver->addr, r.ip_version));
  if (keyed_by_target(rule)) k.target = t.receiver->addr;
  if (keyed_by_source(rule)) k.source = t.sender->addr;
  if (keyed_by_service(rule)) {
    k.proto = r.proto;
    k.port = t.receiver->port;
  }
  return key_tag(k);
}

std::string_view CampaignTracker::class_of(const Campaign& c) const {
  switch (c.rule) {
    case CampaignRule::kOneSidedFanIn: return c.amplification ? "amplification" : "flood";
    case CampaignRule::kUnansweredSyn: return "flood";
    case CampaignRule::kFanOut: return "scan";
    case CampaignRule::kPacketRate: return c.amplification ? "amplification" : "flood";
    default: return "bruteforce";
  }
}

void CampaignTracker::join(Campaign& c, const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx) {
  c.first_ns = std::min(c.first_ns, r.stats.first_ts_ns);
  c.last_ns = std::max(c.last_ns, r.stats.last_ts_ns);
  c.flows += 1;
  c.packets += r.stats.packets();
  c.bytes += r.stats.wire_bytes_fwd + r.stats.wire_bytes_bwd;
  c.context = ctx;
  ++counters_.flows;
  // Space-saving top-k (Metwally et al. 2005) of the side the key leaves
  // open: a target's sources, a source's targets. A new address takes the
  // smallest counter's place and inherits its count as its error, so a heavy
  // hitter is never missed; the event reports flows - error, a lower bound.
  const IpAddress& other = keyed_by_target(c.rule) && !keyed_by_source(c.rule) ? t.sender->addr : t.receiver->addr;
  TopEntry* smallest = &c.top[0];
  for (TopEntry& e : c.top) {
    if (e.flows > 0 && e.addr == other) {
      ++e.flows;
      return;
    }
    if (e.flows < smallest->flows) smallest = &e;
  }
  smallest->addr = other;
  smallest->error = smallest->flows;
  ++smallest->flows;
}

uint32_t CampaignTracker::observe(const FlowRecord& r, const FlowTraits& t, const ContextValues& ctx, uint32_t scope,
                                  fmt::memory_buffer& out) {
  if (!cfg_.enabled) return 0;
  Scope& clock = scopes_[scope];
  clock.clock_ns = std::max(clock.clock_ns, r.stats.last_ts_ns);
  if (clock.clock_ns >= clock.next_sweep_ns) {
    sweep(scope, clock.clock_ns, out);
    clock.next_sweep_ns = clock.clock_ns + 1'000'000'000;
  }
  for (int i = 0; i < static_cast<int>(CampaignRule::kCount); ++i) {
    const auto rule = static_cast<CampaignRule>(i);
    if (!fits(rule, r, t)) continue;
    // Most records meet no rule and no open campaign: skip the lookup then.
    const bool fired = fires(rule, r, t, ctx);
    if (!fired && open_per_rule_[i] == 0) continue;
    const uint64_t key = key_of(rule, r, t, scope);
    auto it = open_.find(key);
    if (it == open_.end()) {
      if (!fired) continue;
      if (open_.size() >= cfg_.max_open) {
        ++counters_.not_tracked;
        continue;
      }
      Campaign c;
      c.id = next_id_++;
      c.scope = scope;
      c.rule = rule;
      c.ip_version = r.ip_version;
      c.proto = r.proto;
      c.port = keyed_by_service(rule) ? t.receiver->port : 0;
      c.amplification = (rule == CampaignRule::kOneSidedFanIn && t.reflection_like) ||
                        (rule == CampaignRule::kPacketRate && group_address(t.receiver->addr, r.ip_version));
      c.source = t.sender->addr;
      c.target = t.receiver->addr;
      c.first_ns = r.stats.first_ts_ns;
      it = open_.emplace(key, c).first;
      ++open_per_rule_[i];
      join(it->second, r, t, ctx);
      ++counters_.opened;
      it->second.reported_ns = r.stats.last_ts_ns;
      write_event(it->second, "open", r.stats.last_ts_ns, out);
      return it->second.id;
    }
    Campaign& c = it->second;
    join(c, r, t, ctx);
    if (r.stats.last_ts_ns >= c.reported_ns + cfg_.report_interval_ns) {
      c.reported_ns = r.stats.last_ts_ns;
      write_event(c, "update", r.stats.last_ts_ns, out);
    }
    return c.id;
  }
  return 0;
}

// Ends the campaigns of `scope` that have had no flow for idle_timeout.
void CampaignTracker::sweep(uint32_t scope, uint64_t now_ns, fmt::memory_buffer& out) {
  for (auto it = open_.begin(); it != open_.end();) {
    const Campaign& c = it->second;
    if (c.scope == scope && c.last_ns + cfg_.idle_timeout_ns < now_ns) {
      write_event(c, "end", c.last_ns, out);
      --open_per_rule_[static_cast<size_t>(c.rule)];
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
}

void CampaignTracker::finish(fmt::memory_buffer& out) {
  // In the order they opened, so a run's output does not depend on hashing.
  std::vector<const Campaign*> left;
  for (const auto& [key, c] : open_) left.push_back(&c);
  std::sort(left.begin(), left.end(), [](const Campaign* a, const Campaign* b) { return a->id < b->id; });
  for (const Campaign* c : left) write_event(*c, "end", c->last_ns, out);
  open_.clear();
  std::fill(std::begin(open_per_rule_), std::end(open_per_rule_), 0);
}

void CampaignTracker::write_event(const Campaign& c, std::string_view phase, uint64_t ts_ns, fmt::memory_buffer& out) {
  ++counters_.events;
  const auto it = classes_.find(std::string(class_of(c)));
  const CampaignClassInfo info = it != classes_.end() ? it->second : CampaignClassInfo{};
  auto o = std::back_inserter(out);
  out.append(std::string_view("{\"timestamp\":"));
  append_time(ts_ns, out);
  out.push_back(',');
  out.append(host_member_);
  out.append(std::string_view("\"event_type\":\"alert\""));
  if (keyed_by_source(c.rule)) {
    out.append(std::string_view(",\"src_ip\":"));
    append_ip(c.source, c.ip_version, out);
  }
  if (keyed_by_target(c.rule)) {
    out.append(std::string_view(",\"dest_ip\":"));
    append_ip(c.target, c.ip_version, out);
  }
  if (keyed_by_service(c.rule)) {
    fmt::format_to(o, ",\"dest_port\":{}", c.port);
    if (const std::string_view p = eve_proto_name(c.proto); !p.empty()) {
      fmt::format_to(o, ",\"proto\":\"{}\"", p);
    } else {
      fmt::format_to(o, ",\"proto\":\"{}\"", c.proto);
    }
  }
  fmt::format_to(o, ",\"alert\":{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":1,\"signature\":",
                 kSignatureBase + static_cast<uint32_t>(c.rule));
  append_json_string(fmt::format("flowscore campaign: {} ({})", class_of(c), campaign_rule_name(c.rule)), out);
  out.append(std::string_view(",\"category\":"));
  append_json_string(info.category, out);
  fmt::format_to(o, ",\"severity\":{}}},\"flowscore\":{{\"campaign\":{{\"id\":{},\"class\":\"{}\",\"rule\":\"{}\","
                    "\"phase\":\"{}\",\"first_seen\":",
                 info.severity, c.id, class_of(c), campaign_rule_name(c.rule), phase);
  append_time(c.first_ns, out);
  out.append(std::string_view(",\"last_seen\":"));
  append_time(c.last_ns, out);
  fmt::format_to(o, ",\"flows\":{},\"packets\":{},\"bytes\":{}", c.flows, c.packets, c.bytes);
  if (keyed_by_target(c.rule)) {
    out.append(std::string_view(",\"target\":"));
    append_ip(c.target, c.ip_version, out);
  }
  if (keyed_by_source(c.rule)) {
    out.append(std::string_view(",\"source\":"));
    append_ip(c.source, c.ip_version, out);
  }
  std::array<const TopEntry*, kTop> top;
  size_t n = 0;
  for (const TopEntry& e : c.top)
    if (e.flows > 0) top[n++] = &e;
  // The five with the highest guaranteed counts. (partial_sort: GCC 12's
  // std::sort of a small array trips -Warray-bounds on its own threshold.)
  const auto at_least = [](const TopEntry* e) { return e->flows - e->error; };
  const size_t shown = std::min<size_t>(n, 5);
  std::partial_sort(top.begin(), top.begin() + shown, top.begin() + n,
                    [&](const TopEntry* a, const TopEntry* b) { return at_least(a) > at_least(b); });
  n = shown;
  out.append(keyed_by_source(c.rule) ? std::string_view(",\"top_targets\":[") : std::string_view(",\"top_sources\":["));
  for (size_t i = 0; i < n; ++i) {
    out.append(std::string_view(i ? ",{\"ip\":" : "{\"ip\":"));
    append_ip(top[i]->addr, c.ip_version, out);
    fmt::format_to(o, ",\"flows\":{}}}", at_least(top[i]));
  }
  out.append(std::string_view("],\"context\":{"));
  for (size_t i = 0; i < kContextValues; ++i)
    fmt::format_to(o, "{}\"{}\":{}", i ? "," : "", context_value_name(static_cast<ContextValue>(i)), c.context.v[i]);
  out.append(std::string_view("}}}}\n"));
}

}  // namespace flowscore
