// LabelRules: loading a label file and labelling flows. The file formats are
// specified in docs/LABELS.md; this file follows it section by section.
#include "flowscore/labels.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <limits>

#include "flowscore/printable.hpp"
#include "label_fields.hpp"

namespace flowscore {
namespace {

using labels::Cidr;
using labels::PortRange;

constexpr int32_t kNoMatch = -1;
constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max();
// A label file line longer than this is not a label file.
constexpr size_t kMaxLineLength = 4096;

constexpr std::string_view kGeneratorColumns[] = {
    "label", "class", "proto", "src_ip", "src_port", "dst_ip", "dst_port", "start", "end"};
constexpr std::string_view kRuleColumns[] = {"label", "file",  "src",   "dst", "src_port",
                                             "dst_port", "proto", "start", "end",
                                             "bidirectional"};

bool is_icmp(uint8_t proto) { return proto == 1 || proto == 58; }

// One orientation of a flow: who is taken as the source. For ICMP the
// "ports" are the initiator's type and code (docs/LABELS.md, "ICMP"); seen
// from the responder, the type is the counterpart the flow key stored in
// dst.port (Community ID's mapping, flow_key.hpp) and the code is unchanged.
struct OrientedFlow {
  const IpAddress* src;
  const IpAddress* dst;
  uint16_t src_port;
  uint16_t dst_port;
};

OrientedFlow initiator_view(const FlowRecord& r) {
  if (is_icmp(r.proto)) return {&r.src.addr, &r.dst.addr, r.icmp_type, r.icmp_code};
  return {&r.src.addr, &r.dst.addr, r.src.port, r.dst.port};
}

OrientedFlow responder_view(const FlowRecord& r) {
  if (is_icmp(r.proto)) return {&r.dst.addr, &r.src.addr, r.dst.port, r.icmp_code};
  return {&r.dst.addr, &r.src.addr, r.dst.port, r.src.port};
}

bool spans_overlap(uint64_t a_first, uint64_t a_last, uint64_t b_first, uint64_t b_last) {
  return a_first <= b_last && b_first <= a_last;
}

struct Rule {
  Cidr src, dst;
  PortRange src_port, dst_port;
  int16_t proto = -1;                  // -1: any
  uint64_t start_ns = 0, end_ns = kForever;
  std::vector<uint32_t> inputs;        // empty: any input
  bool bidirectional = false;

  bool matches_endpoints(const OrientedFlow& f, uint8_t ip_version) const {
    return src.contains(*f.src, ip_version) && dst.contains(*f.dst, ip_version) &&
           src_port.contains(f.src_port) && dst_port.contains(f.dst_port);
  }
  bool matches(const FlowRecord& r, uint32_t input) const {
    if (!inputs.empty() && std::find(inputs.begin(), inputs.end(), input) == inputs.end())
      return false;
    if (proto >= 0 && proto != r.proto) return false;
    if (!spans_overlap(r.stats.first_ts_ns, r.stats.last_ts_ns, start_ns, end_ns)) return false;
    return matches_endpoints(initiator_view(r), r.ip_version) ||
           (bidirectional && matches_endpoints(responder_view(r), r.ip_version));
  }
};

// Generator rows are indexed by their 5-tuple. TCP/UDP/SCTP tuples are put
// in canonical order (lower (address, port) endpoint first) so both
// orientations find one entry. ICMP tuples keep their orientation: type and
// code are not per-endpoint, so swapping them would invent a different
// message; the responder's view is looked up separately.
// 40 bytes, no padding: hashed and compared as raw memory.
struct TupleKey {
  IpAddress lo, hi;
  uint16_t port_lo = 0, port_hi = 0;
  uint8_t proto = 0, ip_version = 0;
  uint8_t pad[2] = {0, 0};
  friend bool operator==(const TupleKey& a, const TupleKey& b) {
    return std::memcmp(&a, &b, sizeof(TupleKey)) == 0;
  }
};
static_assert(sizeof(TupleKey) == 40);

TupleKey make_key(const IpAddress& s, uint16_t sp, const IpAddress& d, uint16_t dp,
                  uint8_t proto, uint8_t ip_version) {
  TupleKey k;
  const int c = std::memcmp(s.bytes.data(), d.bytes.data(), s.bytes.size());
  const bool s_is_lo = is_icmp(proto) || c < 0 || (c == 0 && sp <= dp);
  k.lo = s_is_lo ? s : d;
  k.hi = s_is_lo ? d : s;
  k.port_lo = s_is_lo ? sp : dp;
  k.port_hi = s_is_lo ? dp : sp;
  k.proto = proto;
  k.ip_version = ip_version;
  return k;
}

uint64_t hash_key(const TupleKey& k) {
  uint64_t words[5];
  std::memcpy(words, &k, sizeof(words));
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint64_t w : words) {
    h ^= w;
    h *= 0xff51afd7ed558ccdull;  // murmur3 fmix64 constants
    h ^= h >> 33;
  }
  h *= 0xc4ceb9fe1a85ec53ull;  // final avalanche: the table masks the low bits
  return h ^ (h >> 33);
}

// The time windows of one 5-tuple: sorted by start, with the running
// maximum of `end` so a lookup can stop scanning backwards as soon as no
// earlier window can reach the flow's start. 32 bytes.
struct Window {
  uint64_t start_ns, end_ns, max_end_so_far;
  uint32_t row;
  uint32_t label_id;
};

// 5-tuple -> its run of windows. Open addressing with the key and the run
// inline, so a lookup is usually one cache miss (a node-based map costs a
// bucket and a node). Load factor <= 1/2, linear probing, built once.
class TupleIndex {
 public:
  struct Run {
    uint32_t begin = 0, count = 0;  // count 0: empty slot
  };
  void reserve(size_t tuples) {
    size_t capacity = 16;
    while (capacity < 2 * tuples) capacity <<= 1;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }
  // Each key is inserted once (the builder walks sorted, distinct keys).
  void insert(const TupleKey& key, Run run) {
    size_t i = hash_key(key) & mask_;
    while (slots_[i].run.count != 0) i = (i + 1) & mask_;
    slots_[i] = {key, run};
  }
  Run find(const TupleKey& key) const {
    if (slots_.empty()) return {};
    for (size_t i = hash_key(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.run.count == 0 || s.key == key) return s.run;
    }
  }

 private:
  struct Slot {
    TupleKey key;
    Run run;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Everything a loaded label file holds. LabelRules::Impl is this struct; it
// is named here so the file parsers below can fill it.
struct LabelTable {
  LabelFormat format = LabelFormat::kRules;
  std::string default_label;
  std::vector<std::string> labels;  // distinct label strings, by label id
  std::vector<uint32_t> lines;      // per rule/row: its file line
  std::vector<uint32_t> label_ids;  // per rule/row
  std::vector<Rule> rules;          // kRules
  TupleIndex windows_by_tuple;      // kGenerator
  std::vector<Window> windows;
  std::unique_ptr<std::atomic<uint64_t>[]> matches;  // per rule/row
  mutable std::atomic<uint64_t> flows{0}, unmatched{0}, ambiguous{0};

  uint32_t intern_label(std::string_view label) {
    for (uint32_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) return i;
    labels.emplace_back(label);
    return static_cast<uint32_t>(labels.size() - 1);
  }

  void add_row(uint32_t line, std::string_view label) {
    lines.push_back(line);
    label_ids.push_back(intern_label(label));
  }

  void finish() {
    matches = std::make_unique<std::atomic<uint64_t>[]>(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) matches[i].store(0, std::memory_order_relaxed);
  }

  int32_t match_rules(const FlowRecord& r, uint32_t input) const {
    for (size_t i = 0; i < rules.size(); ++i)
      if (rules[i].matches(r, input)) return static_cast<int32_t>(i);
    return kNoMatch;
  }

  // Scans the windows of one 5-tuple that overlap [first, last]; keeps the
  // earliest row in file order and notes whether rows disagree on the label.
  void scan_windows(const TupleKey& key, uint64_t first, uint64_t last, int32_t& best,
                    uint32_t& best_label, bool& disagree) const {
    const TupleIndex::Run run = windows_by_tuple.find(key);
    const Window* begin = windows.data() + run.begin;
    const Window* end = begin + run.count;
    // Windows starting after the flow's last packet cannot overlap it.
    const Window* w = std::upper_bound(begin, end, last, [](uint64_t t, const Window& x) {
      return t < x.start_ns;
    });
    while (w != begin && (w - 1)->max_end_so_far >= first) {
      --w;
      if (w->end_ns < first) continue;
      const auto row = static_cast<int32_t>(w->row);
      if (best != kNoMatch && w->label_id != best_label) disagree = true;
      if (best == kNoMatch || row < best) {
        best = row;
        best_label = w->label_id;
      }
    }
  }

  int32_t match_generator(const FlowRecord& r) const {
    const uint64_t first = r.stats.first_ts_ns, last = r.stats.last_ts_ns;
    int32_t best = kNoMatch;
    uint32_t best_label = 0;
    bool disagree = false;
    const OrientedFlow fwd = initiator_view(r);
    const TupleKey k = make_key(*fwd.src, fwd.src_port, *fwd.dst, fwd.dst_port, r.proto,
                                r.ip_version);
    scan_windows(k, first, last, best, best_label, disagree);
    // TCP/UDP: the canonical key is already orientation-free. ICMP keys
    // are oriented, so the responder's view is a second lookup.
    if (is_icmp(r.proto)) {
      const OrientedFlow rev = responder_view(r);
      const TupleKey kr = make_key(*rev.src, rev.src_port, *rev.dst, rev.dst_port, r.proto,
                                   r.ip_version);
      if (!(kr == k)) scan_windows(kr, first, last, best, best_label, disagree);
    }
    if (disagree) ambiguous.fetch_add(1, std::memory_order_relaxed);
    return best;
  }
};

// Reads a label file line by line, skipping blank lines and '#' comments.
class LineReader {
 public:
  LineReader(std::istream& in, std::string_view source) : in_(in), source_(source) {}

  // False at end of input or on error (then error() is set).
  bool next(std::string_view& line) {
    while (std::getline(in_, buf_)) {
      ++line_no_;
      if (buf_.size() > kMaxLineLength) {
        fail("line longer than " + std::to_string(kMaxLineLength) +
             " characters (is this a label file?)");
        return false;
      }
      line = buf_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      return true;
    }
    if (in_.bad()) fail("read error");
    return false;
  }
  uint32_t line_no() const { return line_no_; }
  // The message quotes the file's own text: made printable (printable.hpp).
  void fail(const std::string& what) {
    if (error_.empty()) error_ = printable(std::string(source_) + ":" + std::to_string(line_no_) + ": " + what);
  }
  const std::string& error() const { return error_; }

 private:
  std::istream& in_;
  std::string_view source_;
  std::string buf_;
  uint32_t line_no_ = 0;
  std::string error_;
};

std::string basename_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none given" : out;
}

// A `file` cell: an input index (all digits) or a basename of an input.
bool resolve_inputs(std::string_view cell, const std::vector<std::string>& input_names,
                    std::vector<uint32_t>& out, std::string& why) {
  std::vector<std::string> bases;
  for (const auto& n : input_names) bases.push_back(basename_of(n));
  out.clear();
  if (std::all_of(cell.begin(), cell.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    uint16_t index = 0;
    if (!labels::parse_port(cell, index, why) || index >= input_names.size()) {
      why = "file index " + std::string(cell) + " is not an input index (" +
            std::to_string(input_names.size()) + " inputs: " + join(bases) + ")";
      return false;
    }
    out.push_back(index);
    return true;
  }
  for (uint32_t i = 0; i < bases.size(); ++i)
    if (bases[i] == cell) out.push_back(i);
  if (out.empty()) {
    why = "file '" + std::string(cell) + "' is not one of the inputs (" + join(bases) + ")";
    return false;
  }
  return true;
}

bool parse_rule(const std::vector<std::string_view>& cells, const int (&col)[std::size(kRuleColumns)],
                const std::vector<std::string>& input_names, Rule& rule, std::string& why) {
  auto cell = [&](size_t c) { return col[c] < 0 ? std::string_view{} : cells[col[c]]; };
  // Column order is kRuleColumns': label file src dst src_port dst_port proto start end bidirectional.
  if (!labels::valid_label(cell(0), why)) return false;
  if (!labels::is_wildcard(cell(1)) && !resolve_inputs(cell(1), input_names, rule.inputs, why))
    return false;
  if (!labels::parse_cidr(cell(2), rule.src, why) || !labels::parse_cidr(cell(3), rule.dst, why))
    return false;
  if (!labels::parse_port_range(cell(4), rule.src_port, why) ||
      !labels::parse_port_range(cell(5), rule.dst_port, why))
    return false;
  if (!labels::is_wildcard(cell(6))) {
    uint8_t p = 0;
    if (!labels::parse_proto(cell(6), p, why)) return false;
    rule.proto = p;
  }
  if (!labels::is_wildcard(cell(7)) && !labels::parse_epoch_ns(cell(7), rule.start_ns, why))
    return false;
  if (!labels::is_wildcard(cell(8)) && !labels::parse_epoch_ns(cell(8), rule.end_ns, why))
    return false;
  if (rule.start_ns > rule.end_ns) {
    why = "time window ends before it starts";
    return false;
  }
  const std::string_view bidir = cell(9);
  if (bidir != "" && bidir != "0" && bidir != "1") {
    why = "bidirectional must be 0 or 1, not '" + std::string(bidir) + "'";
    return false;
  }
  rule.bidirectional = bidir == "1";
  return true;
}

bool parse_rules_body(LineReader& reader, const std::vector<std::string_view>& header,
                      const std::vector<std::string>& input_names, LabelTable& impl) {
  int col[std::size(kRuleColumns)];
  std::fill(std::begin(col), std::end(col), -1);
  for (size_t i = 0; i < header.size(); ++i) {
    const auto* known = std::find(std::begin(kRuleColumns), std::end(kRuleColumns), header[i]);
    if (known == std::end(kRuleColumns)) {
      reader.fail("unknown column '" + std::string(header[i]) +
                  "' (rule columns: label file src dst src_port dst_port proto start end "
                  "bidirectional; a generator label file starts with label,class,proto,...)");
      return false;
    }
    int& slot = col[known - std::begin(kRuleColumns)];
    if (slot >= 0) {
      reader.fail("column '" + std::string(header[i]) + "' appears twice");
      return false;
    }
    slot = static_cast<int>(i);
  }
  if (col[0] < 0) {
    reader.fail("the header has no 'label' column");
    return false;
  }
  std::string_view line;
  std::vector<std::string_view> cells;
  std::string why;
  while (reader.next(line)) {
    labels::split_cells(line, cells);
    if (cells.size() != header.size()) {
      reader.fail(std::to_string(cells.size()) + " cells, the header has " +
                  std::to_string(header.size()));
      return false;
    }
    Rule rule;
    if (!parse_rule(cells, col, input_names, rule, why)) {
      reader.fail(why);
      return false;
    }
    impl.add_row(reader.line_no(), cells[col[0]]);
    impl.rules.push_back(std::move(rule));
  }
  return reader.error().empty();
}

bool parse_generator_body(LineReader& reader, LabelTable& impl) {
  struct Entry {
    TupleKey key;
    Window window;
  };
  std::vector<Entry> entries;
  std::string_view line;
  std::vector<std::string_view> cells;
  std::string why;
  while (reader.next(line)) {
    labels::split_cells(line, cells);
    if (cells.size() != std::size(kGeneratorColumns)) {
      reader.fail(std::to_string(cells.size()) + " cells, the header has " +
                  std::to_string(std::size(kGeneratorColumns)));
      return false;
    }
    // label,class,proto,src_ip,src_port,dst_ip,dst_port,start,end
    IpAddress src, dst;
    uint8_t src_version = 0, dst_version = 0, proto = 0;
    uint16_t src_port = 0, dst_port = 0;
    Window w{};
    const bool ok = labels::valid_label(cells[0], why) && labels::parse_proto(cells[2], proto, why) &&
                    labels::parse_address(cells[3], src, src_version, why) &&
                    labels::parse_port(cells[4], src_port, why) &&
                    labels::parse_address(cells[5], dst, dst_version, why) &&
                    labels::parse_port(cells[6], dst_port, why) &&
                    labels::parse_epoch_ns(cells[7], w.start_ns, why) &&
                    labels::parse_epoch_ns(cells[8], w.end_ns, why);
    if (!ok) {
      reader.fail(why);
      return false;
    }
    if (src_version != dst_version) {
      reader.fail("src_ip and dst_ip are of different IP versions");
      return false;
    }
    if (w.start_ns > w.end_ns) {
      reader.fail("end is before start");
      return false;
    }
    w.row = static_cast<uint32_t>(impl.lines.size());
    impl.add_row(reader.line_no(), cells[0]);
    w.label_id = impl.label_ids.back();
    entries.push_back({make_key(src, src_port, dst, dst_port, proto, src_version), w});
  }
  if (!reader.error().empty()) return false;

  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const int c = std::memcmp(&a.key, &b.key, sizeof(TupleKey));
    if (c != 0) return c < 0;
    if (a.window.start_ns != b.window.start_ns) return a.window.start_ns < b.window.start_ns;
    return a.window.row < b.window.row;
  });
  size_t tuples = 0;
  for (size_t i = 0; i < entries.size(); ++i)
    tuples += i == 0 || !(entries[i].key == entries[i - 1].key);
  impl.windows.reserve(entries.size());
  impl.windows_by_tuple.reserve(tuples);
  for (size_t begin = 0; begin < entries.size();) {
    size_t end = begin;
    uint64_t max_end = 0;
    for (; end < entries.size() && entries[end].key == entries[begin].key; ++end) {
      Window w = entries[end].window;
      max_end = std::max(max_end, w.end_ns);
      w.max_end_so_far = max_end;
      impl.windows.push_back(w);
    }
    impl.windows_by_tuple.insert(entries[begin].key, {static_cast<uint32_t>(begin),
                                                      static_cast<uint32_t>(end - begin)});
    begin = end;
  }
  return true;
}

}  // namespace

struct LabelRules::Impl : LabelTable {};

size_t LabelStats::rules_matching_nothing() const {
  return static_cast<size_t>(
      std::count_if(rules.begin(), rules.end(), [](const LabelRuleStat& s) { return s.matches == 0; }));
}

double LabelStats::unmatched_fraction() const {
  return flows == 0 ? 0.0 : static_cast<double>(unmatched) / static_cast<double>(flows);
}

LabelRules::LabelRules(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LabelRules::LabelRules(LabelRules&&) noexcept = default;
LabelRules& LabelRules::operator=(LabelRules&&) noexcept = default;
LabelRules::~LabelRules() = default;

std::optional<LabelRules> LabelRules::load(const std::string& path,
                                           std::vector<std::string> input_names,
                                           std::string default_label, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot open label file: " + std::strerror(errno);
    return std::nullopt;
  }
  return parse(in, path, std::move(input_names), std::move(default_label), error);
}

std::optional<LabelRules> LabelRules::parse(std::istream& in, std::string_view source,
                                            std::vector<std::string> input_names,
                                            std::string default_label, std::string& error) {
  std::string why;
  if (!labels::valid_label(default_label, why)) {
    error = "default label: " + why;
    return std::nullopt;
  }
  auto impl = std::make_unique<Impl>();
  impl->default_label = std::move(default_label);
  LineReader reader(in, source);
  std::string_view line;
  if (!reader.next(line)) {
    error = reader.error().empty() ? std::string(source) + ": empty label file (no header line)"
                                   : reader.error();
    return std::nullopt;
  }
  const std::string header_line(line);  // the reader reuses its buffer
  std::vector<std::string_view> header;
  labels::split_cells(header_line, header);

  const bool generator = std::equal(header.begin(), header.end(), std::begin(kGeneratorColumns),
                                    std::end(kGeneratorColumns));
  const bool ok = generator ? parse_generator_body(reader, *impl)
                            : parse_rules_body(reader, header, input_names, *impl);
  if (!ok) {
    error = reader.error();
    return std::nullopt;
  }
  if (impl->lines.empty()) {
    error = std::string(source) + ": the header is not followed by any " +
            (generator ? "row" : "rule") + " (every flow would get the default label)";
    return std::nullopt;
  }
  impl->format = generator ? LabelFormat::kGenerator : LabelFormat::kRules;
  impl->finish();
  return LabelRules(std::move(impl));
}

std::optional<LabelRules> LabelRules::from_input_labels(
    std::vector<std::string> input_names, const std::vector<std::string>& labels_per_input,
    std::string default_label, std::string& error) {
  std::string why;
  if (!labels::valid_label(default_label, why)) {
    error = "default label: " + why;
    return std::nullopt;
  }
  if (labels_per_input.size() != input_names.size()) {
    error = std::to_string(labels_per_input.size()) + " per-file labels for " +
            std::to_string(input_names.size()) + " inputs: give one label per --pcap";
    return std::nullopt;
  }
  auto impl = std::make_unique<Impl>();
  impl->default_label = std::move(default_label);
  for (uint32_t i = 0; i < labels_per_input.size(); ++i) {
    if (labels_per_input[i].empty()) continue;
    if (!labels::valid_label(labels_per_input[i], why)) {
      error = "label for " + input_names[i] + ": " + why;
      return std::nullopt;
    }
    impl->add_row(0, labels_per_input[i]);
    Rule rule;
    rule.inputs = {i};
    impl->rules.push_back(std::move(rule));
  }
  impl->finish();
  return LabelRules(std::move(impl));
}

std::string_view LabelRules::label_for(const FlowRecord& r, uint32_t input_index) const {
  const Impl& m = *impl_;
  m.flows.fetch_add(1, std::memory_order_relaxed);
  const int32_t row = m.format == LabelFormat::kGenerator ? m.match_generator(r)
                                                          : m.match_rules(r, input_index);
  if (row == kNoMatch) {
    m.unmatched.fetch_add(1, std::memory_order_relaxed);
    return m.default_label;
  }
  m.matches[row].fetch_add(1, std::memory_order_relaxed);
  return m.labels[m.label_ids[row]];
}

LabelStats LabelRules::stats() const {
  LabelStats s;
  s.rules.reserve(impl_->lines.size());
  for (size_t i = 0; i < impl_->lines.size(); ++i)
    s.rules.push_back({impl_->lines[i], impl_->labels[impl_->label_ids[i]],
                       impl_->matches[i].load(std::memory_order_relaxed)});
  s.flows = impl_->flows.load(std::memory_order_relaxed);
  s.unmatched = impl_->unmatched.load(std::memory_order_relaxed);
  s.ambiguous = impl_->ambiguous.load(std::memory_order_relaxed);
  return s;
}

LabelFormat LabelRules::format() const { return impl_->format; }
size_t LabelRules::rule_count() const { return impl_->lines.size(); }
const std::string& LabelRules::default_label() const { return impl_->default_label; }

}  // namespace flowscore
