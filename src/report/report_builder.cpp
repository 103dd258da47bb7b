#include "report_builder.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace flowscore::report {
namespace {

using simdjson::dom::element;

constexpr const char* kProtocols[4] = {"TCP", "UDP", "ICMP", "other"};
constexpr size_t kTopCapacity = 4096;  // keys counted exactly per top list before pruning

// k == name. The name's length is known when compiling, so this is a length
// test and a few loads, not a call to memcmp: a flow event has 30 keys, and
// the report compares each with up to a dozen names.
template <size_t N>
bool is(std::string_view k, const char (&name)[N]) {
  return k.size() == N - 1 && std::memcmp(k.data(), name, N - 1) == 0;
}

int proto_index(std::string_view proto) {
  if (is(proto, "TCP")) return 0;
  if (is(proto, "UDP")) return 1;
  if (is(proto, "ICMP") || is(proto, "IPv6-ICMP")) return 2;
  return 3;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

uint64_t uint_or_zero(const element& e) {
  uint64_t v = 0;
  return e.get_uint64().get(v) == simdjson::SUCCESS ? v : 0;
}

std::string_view string_or_empty(const element& e) {
  std::string_view v;
  return e.get_string().get(v) == simdjson::SUCCESS ? v : std::string_view();
}

// e[key] if e is an object that has it.
std::optional<element> field(const element& e, std::string_view key) {
  element v;
  if (e.at_key(key).get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

uint64_t uint_at(const element& e, std::string_view key) {
  const auto v = field(e, key);
  return v ? uint_or_zero(*v) : 0;
}

std::string_view string_at(const element& e, std::string_view key) {
  const auto v = field(e, key);
  return v ? string_or_empty(*v) : std::string_view();
}

constexpr size_t kTabledScales = 24;
constexpr std::array<double, kTabledScales> kFractionScales = [] {
  std::array<double, kTabledScales> scales{};
  double scale = 0.1;
  for (double& s : scales) {
    s = scale;
    scale /= 10;
  }
  return scales;
}();

double fraction_scale(size_t k) {
  if (k < kTabledScales) return kFractionScales[k];
  double scale = kFractionScales[kTabledScales - 1];
  for (size_t i = kTabledScales - 1; i < k; ++i) scale /= 10;
  return scale;
}

}  // namespace

namespace {

// "YYYY-MM-DDTHH:MM" (or ' ' for 'T'), the first kEveMinuteBytes of an EVE
// time, as seconds since 1970.
std::optional<int64_t> parse_eve_minute(std::string_view s) {
  int year, month, day, hour, minute;
  if (!digits(s, 0, 4, year) || s.size() < kEveMinuteBytes || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return std::nullopt;
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60;
}

// The rest of an EVE time after its minute (":SS", a fraction, the offset
// from UTC), added to the minute's seconds.
std::optional<double> parse_eve_seconds(std::string_view s, int64_t minute_seconds) {
  int second;
  if (s.size() < 19 || s[16] != ':' || !digits(s, 17, 2, second) || second > 60) return std::nullopt;
  size_t at = 19;
  double fraction = 0;
  if (at < s.size() && s[at] == '.') {
    // Digit k is worth kFractionScales[k]: the doubles 0.1 divided by 10
    // k times, as this loop once computed them for every digit of every
    // line (six divisions per timestamp).
    size_t k = 0;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++k)
      fraction += (s[at] - '0') * fraction_scale(k);
  }
  int offset_seconds = 0;
  if (at < s.size() && s[at] == 'Z') {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(s, at + 1, 2, oh)) return std::nullopt;
    const size_t mm = at + 3 + (at + 3 < s.size() && s[at + 3] == ':');
    if (!digits(s, mm, 2, om)) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
    at = mm + 2;
  }
  if (at != s.size()) return std::nullopt;
  return static_cast<double>(minute_seconds + second - offset_seconds) + fraction;
}

}  // namespace

std::optional<double> parse_eve_time(std::string_view s) {
  const std::optional<int64_t> minute = parse_eve_minute(s);
  return minute ? parse_eve_seconds(s, *minute) : std::nullopt;
}

std::optional<double> EveClock::parse(std::string_view s) {
  if (s.size() < kEveMinuteBytes) return std::nullopt;
  if (!have_minute_ || std::memcmp(s.data(), minute_text_, kEveMinuteBytes) != 0) {
    const std::optional<int64_t> minute = parse_eve_minute(s);
    if (!minute) return std::nullopt;
    std::memcpy(minute_text_, s.data(), kEveMinuteBytes);
    minute_seconds_ = *minute;
    have_minute_ = true;
  }
  return parse_eve_seconds(s, minute_seconds_);
}

ReportBuilder::ReportBuilder(ReportOptions options)
    : options_(options),
      sources_(kTopCapacity),
      targets_(kTopCapacity),
      alert_pairs_(kTopCapacity) {}

void ReportBuilder::begin_input(const std::string& name) { inputs_.push_back(Input{name}); }

size_t ReportBuilder::class_index(std::string_view label) {
  for (size_t i = 0; i < classes_.size(); ++i)
    if (same_key(classes_[i], label)) return i;
  classes_.emplace_back(label);
  alerts_per_class_.push_back(0);
  flows_per_class_.push_back(0);
  score_hist_.emplace_back(kScoreBins, 0);
  return classes_.size() - 1;
}

ReportBuilder::Interface& ReportBuilder::interface(std::string_view name) {
  // Events of one interface come in runs: the last one is tried first.
  if (last_interface_ < interfaces_.size() && same_key(interfaces_[last_interface_].name, name))
    return interfaces_[last_interface_];
  for (size_t i = 0; i < interfaces_.size(); ++i)
    if (same_key(interfaces_[i].name, name)) return interfaces_[last_interface_ = i];
  if (interfaces_.size() == kMaxInterfaces) return unlisted_interfaces_;
  interfaces_.push_back(Interface{std::string(name)});
  return interfaces_[last_interface_ = interfaces_.size() - 1];
}

ReportBuilder::Bin& ReportBuilder::bin_at(double t) {
  int64_t key = static_cast<int64_t>(std::floor(t / bin_seconds_));
  if (last_bin_ != nullptr && key == last_key_) return *last_bin_;
  // The report draws every interval from the first to the last, so the
  // span, not the number of busy intervals, is what must stay bounded.
  const bool outside = !bins_.empty() && (key < bins_.begin()->first || key > bins_.rbegin()->first);
  if (outside && std::max(key, bins_.rbegin()->first) - std::min(key, bins_.begin()->first) >= int64_t{kMaxBins}) {
    // Twice as long an interval: bins 2k and 2k+1 become bin k.
    std::map<int64_t, Bin> coarser;
    for (auto& [k, b] : bins_) merge_bins(coarser[k >= 0 ? k / 2 : (k - 1) / 2], b);
    bins_.swap(coarser);
    bin_seconds_ *= 2;
    last_bin_ = nullptr;  // it pointed into the old map
    return bin_at(t);
  }
  last_key_ = key;
  last_bin_ = &bins_[key];
  return *last_bin_;
}

void ReportBuilder::merge_bins(Bin& to, const Bin& from) {
  for (int p = 0; p < 4; ++p) {
    to.flows[p] += from.flows[p];
    to.packets[p] += from.packets[p];
    to.bytes[p] += from.bytes[p];
  }
  to.benign += from.benign;
  to.scored += from.scored;
  if (to.alerts.size() < from.alerts.size()) to.alerts.resize(from.alerts.size());
  for (size_t c = 0; c < from.alerts.size(); ++c) to.alerts[c] += from.alerts[c];
}

// Flattened: simdjson's DOM accessors (get_string, get_uint64, the object
// iterator's after_element) are plain `inline`, and GCC kept them as calls,
// about a tenth of the report's CPU time on the benchmark's file; inlined
// into the loops over an event's fields, they are a few loads from the tape
// (CPU time, median of 9 rotated rounds: 0.77 -> 0.70 s; flattening only
// this function or only add_flow gave half of that).
[[gnu::flatten]] void ReportBuilder::add_line(const char* line, size_t length, size_t padded) {
  ++lines_;
  element doc;
  simdjson::dom::object object;
  if (length == 0 || padded < length + simdjson::SIMDJSON_PADDING ||
      parser_.parse(reinterpret_cast<const uint8_t*>(line), length, false).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    ++unparsed_;
    return;
  }
  // One pass over the event's fields (a lookup per field would scan the
  // object each time), sorted by the key's length first.
  EventFields f;
  for (const auto member : object) {
    const std::string_view k = member.key;
    switch (k.size()) {
      case 4:
        if (is(k, "flow")) f.flow = member.value;
        else if (is(k, "host")) f.host = string_or_empty(member.value);
        break;
      case 5:
        if (is(k, "proto")) f.proto = string_or_empty(member.value);
        else if (is(k, "alert")) f.alert = member.value;
        else if (is(k, "stats")) f.stats = member.value;
        break;
      case 6:
        if (is(k, "src_ip")) f.src_ip = string_or_empty(member.value);
        break;
      case 7:
        if (is(k, "dest_ip")) f.dest_ip = string_or_empty(member.value);
        break;
      case 8:
        if (is(k, "in_iface")) f.in_iface = string_or_empty(member.value);
        break;
      case 9:
        if (is(k, "timestamp")) f.timestamp = string_or_empty(member.value);
        else if (is(k, "flowscore")) f.flowscore = member.value;
        break;
      case 10:
        if (is(k, "event_type")) f.event_type = string_or_empty(member.value);
        break;
      case 12:
        if (is(k, "community_id")) f.community_id = string_or_empty(member.value);
        break;
    }
  }
  const std::optional<double> t = clock_.parse(f.timestamp);
  if (!t || f.event_type.empty()) {
    ++unparsed_;
    return;
  }
  if (flows_ + campaigns_ + stats_events_ == 0 || *t < first_t_) first_t_ = *t;
  if (flows_ + campaigns_ + stats_events_ == 0 || *t > last_t_) last_t_ = *t;
  // Events of one sensor come in runs: a host like the last one's was noted then.
  if (!f.host.empty() && !same_key(f.host, last_host_)) {
    if (hosts_.size() < 64 && !hosts_.contains(f.host)) hosts_.emplace(f.host);
    last_host_.assign(f.host);
  }
  if (is(f.event_type, "stats")) {
    add_stats(f, *t);
  } else if (f.flowscore && field(*f.flowscore, "campaign")) {
    add_campaign(f, *t);
  } else if (is(f.event_type, "flow") && f.flow) {
    add_flow(f, *t);
  } else if (is(f.event_type, "alert") && f.flow) {
    add_alert(f, *t);
  } else {
    ++other_events_;
  }
}

// A flow event: one per flow (an alerted flow's says flow.alerted).
// Flattened as add_line is.
[[gnu::flatten]] void ReportBuilder::add_flow(const EventFields& e, double t) {
  uint64_t packets = 0, bytes = 0;
  simdjson::dom::object flow;
  if (e.flow->get_object().get(flow) == simdjson::SUCCESS)
    for (const auto member : flow) {
      const std::string_view k = member.key;
      if (is(k, "pkts_toserver") || is(k, "pkts_toclient")) packets += uint_or_zero(member.value);
      else if (is(k, "bytes_toserver") || is(k, "bytes_toclient")) bytes += uint_or_zero(member.value);
    }
  const int proto = proto_index(e.proto);
  Bin& bin = bin_at(t);
  bin.flows[proto] += 1;
  bin.packets[proto] += packets;
  bin.bytes[proto] += bytes;
  ++flows_;
  packets_ += packets;
  bytes_ += bytes;
  ++flows_by_proto_[proto];
  if (!inputs_.empty()) ++inputs_.back().flows;
  Interface& in = interface(e.in_iface);
  ++in.flows;
  in.packets += packets;
  in.bytes += bytes;
  sources_.add(e.src_ip, {1, bytes, 0});
  targets_.add(e.dest_ip, {1, bytes, 0});

  simdjson::dom::object verdict;
  if (e.flowscore && e.flowscore->get_object().get(verdict) == simdjson::SUCCESS) {
    std::string_view label;
    double score = -1;
    for (const auto member : verdict) {
      const std::string_view k = member.key;
      if (is(k, "label")) label = string_or_empty(member.value);
      else if (is(k, "score") && member.value.get_double().get(score) != simdjson::SUCCESS) score = -1;
      else if (is(k, "model")) note_model(member.value);
    }
    if (!label.empty()) {
      const size_t cls = class_index(label);
      ++flows_per_class_[cls];
      ++bin.scored;
      if (same_key(label, benign_class_)) ++bin.benign;
      if (score >= 0)
        ++score_hist_[cls][std::min<size_t>(kScoreBins - 1, static_cast<size_t>(score * kScoreBins))];
    }
  }
}

// An alert event: the time of its verdict, the class flowscore gave it (or,
// without flowscore's verdict, its signature).
void ReportBuilder::add_alert(const EventFields& e, double t) {
  std::string_view label = e.flowscore ? string_at(*e.flowscore, "label") : std::string_view();
  if (label.empty()) label = e.alert ? string_at(*e.alert, "signature") : std::string_view("unknown");
  const size_t cls = class_index(label);
  Bin& bin = bin_at(t);
  ++alerts_;
  if (!inputs_.empty()) ++inputs_.back().alerts;
  ++interface(e.in_iface).alerts;
  ++alerts_per_class_[cls];
  if (bin.alerts.size() < classes_.size()) bin.alerts.resize(classes_.size());
  ++bin.alerts[cls];
  sources_.add(e.src_ip, {0, 0, 1});
  targets_.add(e.dest_ip, {0, 0, 1});
  std::string pair;
  pair.reserve(e.src_ip.size() + e.dest_ip.size() + 3);
  pair.append(e.src_ip).append(" > ").append(e.dest_ip);
  std::string note(classes_[cls]);
  note.append(" ").append(e.community_id);
  alert_pairs_.add(pair, {1}, note);
}

// "name (hash)" into models_, building the text only when it is new.
// Flattened as add_line is: every scored flow names its model.
[[gnu::flatten]] void ReportBuilder::note_model(const element& model) {
  // The first "name" and "hash", as at_key would find them, in one pass
  // (every scored flow names its model).
  std::string_view name, hash;
  simdjson::dom::object fields;
  if (model.get_object().get(fields) == simdjson::SUCCESS) {
    bool have_name = false, have_hash = false;
    for (const auto member : fields) {
      if (!have_name && is(member.key, "name")) {
        name = string_or_empty(member.value);
        have_name = true;
      } else if (!have_hash && is(member.key, "hash")) {
        hash = string_or_empty(member.value);
        have_hash = true;
      }
      if (have_name && have_hash) break;
    }
  }
  if (model_text_.size() == name.size() + hash.size() + 3 && model_text_.starts_with(name) &&
      std::string_view(model_text_).substr(name.size() + 2, hash.size()) == hash)
    return;  // the same model as the last record's
  model_text_.assign(name).append(" (").append(hash).append(")");
  if (models_.size() < 64) models_.insert(model_text_);
}

void ReportBuilder::add_campaign(const EventFields& e, double) {
  const element campaign = *field(*e.flowscore, "campaign");
  if (string_at(campaign, "phase") != "open") return;  // a campaign is counted once, at its opening
  ++campaigns_;
  if (!inputs_.empty()) ++inputs_.back().campaigns;
  ++campaigns_by_rule_[std::string(string_at(campaign, "class")) + " / " + std::string(string_at(campaign, "rule"))];
}

void ReportBuilder::add_stats(const EventFields& e, double t) {
  ++stats_events_;
  const auto& stats = e.stats;
  if (!stats) return;
  HealthPoint p{t, std::string(e.host), 0, 0, 0, 0, 0, 0};
  if (const auto capture = field(*stats, "capture")) {
    p.packets = uint_at(*capture, "kernel_packets");
    p.kernel_drops = uint_at(*capture, "kernel_drops");
  }
  if (const auto decoder = field(*stats, "decoder")) {
    if (const auto nf = field(*decoder, "not_flowed")) {
      simdjson::dom::object reasons;
      if (nf->get_object().get(reasons) == simdjson::SUCCESS) {
        auto& last = last_not_flowed_[p.host];
        for (auto [reason, count] : reasons) {
          p.not_flowed += uint_or_zero(count);
          last[std::string(reason)] = uint_or_zero(count);
        }
      }
    }
  }
  if (const auto fs = field(*stats, "flowscore")) {
    p.records_dropped = uint_at(*fs, "records_dropped");
    p.write_failures = uint_at(*fs, "write_failures");
    if (const auto model = field(*fs, "model")) {
      p.reloads = uint_at(*model, "reloads");
      note_model(*model);
    }
  }
  if (!inputs_.empty()) {
    Input& in = inputs_.back();
    ++in.stats;
    in.kernel_drops = std::max(in.kernel_drops, p.kernel_drops);  // counters are cumulative
    in.not_flowed = std::max(in.not_flowed, p.not_flowed);
    in.records_dropped = std::max(in.records_dropped, p.records_dropped);
  }
  // Bounded: past kMaxHealthPoints, keep every other point, then every fourth, ...
  if (health_seen_++ % health_stride_ != 0) return;
  health_.push_back(std::move(p));
  if (health_.size() == kMaxHealthPoints) {
    std::vector<HealthPoint> half;
    for (size_t i = 0; i < health_.size(); i += 2) half.push_back(std::move(health_[i]));
    health_.swap(half);
    health_stride_ *= 2;
  }
}

nlohmann::json ReportBuilder::summary() {
  using nlohmann::json;
  json out;
  out["totals"] = {{"flows", flows_},     {"packets", packets_},          {"bytes", bytes_},
                   {"alerts", alerts_},   {"campaigns", campaigns_},      {"stats_events", stats_events_},
                   {"lines", lines_},     {"unparsed_lines", unparsed_},  {"other_events", other_events_},
                   {"first", first_t_},   {"last", last_t_}};
  out["hosts"] = hosts_;
  out["models"] = models_;
  out["classes"] = classes_;
  out["benign_class"] = benign_class_;
  out["protocols"] = kProtocols;
  out["flows_by_protocol"] = flows_by_proto_;

  // Time series, dense from the first bin to the last (empty intervals are 0).
  json series = {{"bin_seconds", bin_seconds_}, {"start", json::array()}};
  for (const char* k : {"flows", "packets", "bytes"}) series[k] = json::array();
  series["alerts"] = json::array();
  series["benign_share"] = json::array();
  if (!bins_.empty()) {
    const int64_t first = bins_.begin()->first, last = bins_.rbegin()->first;
    std::vector<json> flows(4, json::array()), packets(4, json::array()), bytes(4, json::array());
    std::vector<json> alerts(classes_.size(), json::array());
    for (int64_t k = first; k <= last; ++k) {
      const auto it = bins_.find(k);
      static const Bin kEmpty;
      const Bin& b = it == bins_.end() ? kEmpty : it->second;
      series["start"].push_back(static_cast<double>(k) * bin_seconds_);
      for (int p = 0; p < 4; ++p) {
        flows[p].push_back(b.flows[p]);
        packets[p].push_back(b.packets[p]);
        bytes[p].push_back(b.bytes[p]);
      }
      for (size_t c = 0; c < classes_.size(); ++c) alerts[c].push_back(c < b.alerts.size() ? b.alerts[c] : 0);
      series["benign_share"].push_back(b.scored ? json(double(b.benign) / double(b.scored)) : json(nullptr));
    }
    series["flows"] = flows;
    series["packets"] = packets;
    series["bytes"] = bytes;
    series["alerts"] = alerts;
  }
  out["series"] = series;

  json per_class = json::array();
  for (size_t c = 0; c < classes_.size(); ++c)
    per_class.push_back({{"class", classes_[c]},
                         {"flows", flows_per_class_[c]},
                         {"alerts", alerts_per_class_[c]},
                         {"score_histogram", score_hist_[c]}});
  out["per_class"] = per_class;
  out["campaigns_by_rule"] = campaigns_by_rule_;

  auto top = [&](auto& counts, size_t measure) {
    json list = json::array();
    for (const auto& row : counts.top(measure, options_.top)) {
      json r = {{"key", row.key}, {"count", row.count}};
      if (!row.note.empty()) r["note"] = row.note;
      list.push_back(r);
    }
    return json{{"exact", counts.exact(measure)}, {"error_bound", counts.error_bound(measure)}, {"rows", list}};
  };
  out["top"] = {{"sources_by_flows", top(sources_, 0)},  {"sources_by_bytes", top(sources_, 1)},
                {"sources_by_alerts", top(sources_, 2)}, {"targets_by_flows", top(targets_, 0)},
                {"targets_by_bytes", top(targets_, 1)},  {"targets_by_alerts", top(targets_, 2)},
                {"alert_pairs", top(alert_pairs_, 0)}};

  json inputs = json::array();
  for (const Input& in : inputs_)
    inputs.push_back({{"name", in.name},
                      {"truncated", in.truncated},
                      {"flows", in.flows},
                      {"alerts", in.alerts},
                      {"campaigns", in.campaigns},
                      {"stats_events", in.stats},
                      {"kernel_drops", in.kernel_drops},
                      {"not_flowed", in.not_flowed},
                      {"records_dropped", in.records_dropped}});
  out["inputs"] = inputs;

  auto interface_json = [](const Interface& in) {
    return json{{"name", in.name}, {"flows", in.flows}, {"alerts", in.alerts}, {"packets", in.packets},
                {"bytes", in.bytes}};
  };
  json interfaces = json::array();
  for (const Interface& in : interfaces_) interfaces.push_back(interface_json(in));
  out["interfaces"] = {{"listed", interfaces}, {"unlisted", interface_json(unlisted_interfaces_)}};

  json health = json::array();
  for (const HealthPoint& p : health_)
    health.push_back({{"t", p.t},
                      {"host", p.host},
                      {"packets", p.packets},
                      {"kernel_drops", p.kernel_drops},
                      {"not_flowed", p.not_flowed},
                      {"records_dropped", p.records_dropped},
                      {"write_failures", p.write_failures},
                      {"model_reloads", p.reloads}});
  out["health"] = {{"points", health}, {"stride", health_stride_}, {"not_flowed_by_reason", last_not_flowed_}};
  return out;
}

}  // namespace flowscore::report
