// Ground truth for training: which class each flow belongs to.
//
// `flowscore extract --labels FILE` loads a LabelRules once and asks it for
// every flow record it writes. Three sources, one interface (docs/LABELS.md
// is the authoritative description of the file formats):
//   (a) one label per capture file (a rules file with only `file,label`, or
//       from_input_labels() for a CLI that lists one label per --pcap);
//   (b) rules on addresses, ports, protocol, time window and capture file,
//       first matching rule wins;
//   (c) flowscore-gen's label file (one row per generated flow), matched by
//       exact 5-tuple in either orientation and overlapping time span.
// Every flow gets exactly one label: unmatched flows get the default label.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowscore/flow_record.hpp"

namespace flowscore {

enum class LabelFormat : uint8_t {
  kRules,      // header names rule columns (label, file, src, dst, ...)
  kGenerator,  // header is flowscore-gen's: label,class,proto,src_ip,...
};

// How often one rule (rules format) or one row (generator format) won.
struct LabelRuleStat {
  uint32_t line = 0;     // 1-based line in the label file (0: built in code)
  std::string label;
  uint64_t matches = 0;
};

// A snapshot of the counts, for extract's end-of-run warnings.
struct LabelStats {
  std::vector<LabelRuleStat> rules;  // file order
  uint64_t flows = 0;                // label_for() calls
  uint64_t unmatched = 0;            // flows that got the default label
  // Generator format: flows whose span overlapped rows with different
  // labels (the earliest row in file order won). Non-zero means flowscore
  // merged flows the generator considered distinct.
  uint64_t ambiguous = 0;

  size_t rules_matching_nothing() const;
  double unmatched_fraction() const;  // 0 when no flows were labelled
};

class LabelRules {
 public:
  // Reads a label file; the format is detected from its header line.
  // `input_names` are the capture files in --pcap order (paths or basenames;
  // a rule's `file` column is matched against their basenames). On failure
  // returns nullopt and sets `error` to "<path>:<line>: <what is wrong>".
  static std::optional<LabelRules> load(const std::string& path,
                                        std::vector<std::string> input_names,
                                        std::string default_label, std::string& error);
  // Same, from a stream; `source` names it in error messages.
  static std::optional<LabelRules> parse(std::istream& in, std::string_view source,
                                         std::vector<std::string> input_names,
                                         std::string default_label, std::string& error);
  // Source (a) without a file: labels_per_input[i] labels every flow of input
  // i; an empty entry leaves that input's flows to the default label.
  static std::optional<LabelRules> from_input_labels(std::vector<std::string> input_names,
                                                     const std::vector<std::string>& labels_per_input,
                                                     std::string default_label,
                                                     std::string& error);

  LabelRules(LabelRules&&) noexcept;
  LabelRules& operator=(LabelRules&&) noexcept;
  ~LabelRules();

  // The label of one flow record from input `input_index`. Never fails.
  // Thread-safe: the match counters are relaxed atomics.
  std::string_view label_for(const FlowRecord& r, uint32_t input_index) const;

  LabelStats stats() const;
  LabelFormat format() const;
  size_t rule_count() const;  // rules, or generator rows
  const std::string& default_label() const;

 private:
  struct Impl;
  explicit LabelRules(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowscore
