// AlertPolicy: whether a scored flow is an alert, and whether that alert is
// written as an alert event (docs/OUTPUT.md "Alert policy").
#include "flowscore/alert_policy.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "flowscore/key_tag.hpp"

namespace flowscore {

namespace {

bool in_network(const IpAddress& a, uint8_t ip_version, const Suppression& s) {
  if (ip_version != s.ip_version) return false;
  const int full = s.prefix / 8, rest = s.prefix % 8;
  if (std::memcmp(a.bytes.data(), s.network.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (s.network.bytes[full] & mask);
}

}  // namespace

bool parse_cidr(const std::string& text, Suppression& out) {
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  out.text = text;
  out.network = IpAddress{};
  if (inet_pton(AF_INET, addr.c_str(), out.network.bytes.data()) == 1) {
    out.ip_version = 4;
  } else if (inet_pton(AF_INET6, addr.c_str(), out.network.bytes.data()) == 1) {
    out.ip_version = 6;
  } else {
    return false;
  }
  const unsigned max_prefix = out.ip_version == 4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, prefix);
    if (ec != std::errc() || end != last || first == last || prefix > max_prefix) return false;
  }
  out.prefix = static_cast<uint8_t>(prefix);
  // Host bits set under the prefix would never match: refuse, as a typo.
  for (unsigned bit = prefix; bit < max_prefix; ++bit)
    if (out.network.bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  return true;
}

bool AlertPolicy::suppressed(const FlowRecord& r) const {
  for (const Suppression& s : cfg_.suppress) {
    const bool src = s.track != Suppression::Track::kByDst && in_network(r.src.addr, r.ip_version, s);
    const bool dst = s.track != Suppression::Track::kBySrc && in_network(r.dst.addr, r.ip_version, s);
    if (src || dst) return true;
  }
  return false;
}

// Suricata's threshold semantics, per tracked entity and time window that
// starts at its first alert:
// - limit: the first `count` alerts of a window are events;
// - threshold: every `count`-th alert of a window is an event;
// - both: the `count`-th alert of a window is the one event.
bool AlertPolicy::passes_limit(const FlowRecord& r, uint8_t label, const AlertLimit& limit, uint32_t scope) {
  if (limit.type == AlertLimit::Type::kNone) return true;
  struct {
    uint32_t scope;
    uint8_t label, ip_version;
    uint16_t pad;
    IpAddress tracked;
  } key{scope, label, r.ip_version, 0, {}};
  if (limit.track == AlertLimit::Track::kBySrc) key.tracked = r.src.addr;
  if (limit.track == AlertLimit::Track::kByDst) key.tracked = r.dst.addr;
  const uint64_t tag = key_tag(key);
  const uint64_t now = r.stats.last_ts_ns;
  auto it = limits_.find(tag);
  if (it == limits_.end()) {
    if (limits_.size() >= kMaxLimitEntries) {
      // Bounded: drop the windows that have ended; if none has, start over
      // (an entity forgotten may get `count` more events: counted).
      std::erase_if(limits_, [&](const auto& e) { return now >= e.second.window_start_ns + limit.seconds_ns; });
      if (limits_.size() >= kMaxLimitEntries) {
        counters_.limit_entries_forgotten += limits_.size();
        limits_.clear();
      }
    }
    it = limits_.emplace(tag, LimitState{now, 0}).first;
  }
  LimitState& s = it->second;
  if (now >= s.window_start_ns + limit.seconds_ns || now < s.window_start_ns) s = LimitState{now, 0};
  ++s.hits;
  switch (limit.type) {
    case AlertLimit::Type::kLimit: return s.hits <= limit.count;
    case AlertLimit::Type::kThreshold: return s.hits % limit.count == 0;
    case AlertLimit::Type::kBoth: return s.hits == limit.count;
    default: return true;
  }
}

// A thin flow cannot say on its own whether it is a probe, a spoofed SYN or
// a benign packet whose answer was missed, and a model that has seen both
// calls it benign with some probability left for the attack it resembles.
// So a thin flow is judged on each attack class the context supports: the
// likeliest class whose probability reaches its thin_threshold and one of
// whose evidence values reaches its minimum, whatever the label is. -1: none.
int AlertPolicy::thin_alert_class(const Verdict& v, const ContextValues& ctx) const {
  int best = -1;
  for (size_t c = 0; c < classes_.size() && c < v.num_classes; ++c) {
    const ResolvedClassPolicy& cls = classes_[c];
    if (cls.benign || v.proba[c] < cls.policy.thin_threshold) continue;
    if (best >= 0 && v.proba[c] <= v.proba[best]) continue;
    for (const EvidenceRule& e : cls.policy.evidence)
      if (ctx[e.value] >= e.minimum) {
        best = static_cast<int>(c);
        break;
      }
  }
  return best;
}

void AlertPolicy::judge(FlowRecord& r, const FlowTraits& t, const ContextValues& ctx, uint32_t scope) {
  Verdict& v = r.verdict;
  Judgement& j = r.judgement;
  j.judged = true;
  std::copy(ctx.v.begin(), ctx.v.end(), j.context);
  if (!v.scored || v.label >= classes_.size()) {
    v.alert = false;
    return;
  }
  const ResolvedClassPolicy& cls = classes_[v.label];
  j.alert_class = v.label;
  j.evidence_mask = cls.evidence_mask;
  j.thin = thin_flow(r, t, cfg_.thin_packets);
  const float prob = v.proba[v.label];
  counters_.model_alerts += !cls.benign && prob >= cls.policy.threshold;

  bool alert = false;
  if (j.thin) {
    const int by_context = thin_alert_class(v, ctx);
    alert = by_context >= 0;
    if (alert) {
      j.alert_class = static_cast<uint8_t>(by_context);
      j.evidence_mask = classes_[by_context].evidence_mask;
      counters_.thin_not_label += by_context != v.label;
    }
    counters_.thin_without_evidence += !alert && !cls.benign && prob >= cls.policy.thin_threshold;
  } else {
    alert = !cls.benign && prob >= cls.policy.threshold;
  }
  if (alert && !cfg_.suppress.empty() && suppressed(r)) {
    alert = false;
    ++counters_.suppressed;
  }
  v.alert = alert;
  if (!alert) return;
  ++counters_.alerts;
  j.limited = !passes_limit(r, j.alert_class, classes_[j.alert_class].policy.limit, scope);
  counters_.limited += j.limited;
}

}  // namespace flowscore
