// Several outputs at once (output.also): every line to each output that
// takes all events, and to an "alerts" output only the lines whose
// event_type is "alert" (per-flow alerts and campaign events), plus, when
// it asks for a benign sample, the flow events of that share of the flows
// that did not alert, each marked with flowscore.sample_rate. Each output
// keeps its own queue (TcpSink, KafkaSink) or its own file, so a collector
// that is down or slow never holds back another output; a file output
// writes on the writer's thread, as a lone file output does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flowscore/output_sink.hpp"

namespace flowscore {

class FanoutSink final : public OutputSink {
 public:
  struct Output {
    std::unique_ptr<OutputSink> sink;
    bool alerts_only = false;
    float benign_sample = 0;  // alerts outputs: the share of benign flows also sent
  };
  explicit FanoutSink(std::vector<Output> outputs) : outputs_(std::move(outputs)) {}

  // False when any output failed; last_error() names it.
  bool write(std::string_view data) override;
  bool flush() override;
  bool reopen() override;
  std::string describe() const override;

  const std::vector<Output>& outputs() const { return outputs_; }

 private:
  bool note(bool ok, const OutputSink& sink);  // takes a failing output's error and the outputs' lost bytes
  std::vector<Output> outputs_;
  std::string selected_;  // the lines of one write an alerts output takes
};

// Whether an EVE line is an alert event.
bool is_alert_line(std::string_view line);

// Whether the flow event `line` of a flow that did not alert is in a sample
// of `rate` of all flows: FNV-1a 64 of its Community ID below rate * 2^64,
// so every record of a flow, on every sensor, is chosen alike.
bool in_benign_sample(std::string_view line, float rate);
// Appends `line` marked "sample_rate": rate in its flowscore object.
void append_sampled(std::string_view line, float rate, std::string& out);

}  // namespace flowscore
