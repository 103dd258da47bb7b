// Several outputs at once (output.also): every line to each output that
// takes all events, and to an "alerts" output only the lines whose
// event_type is "alert" (per-flow alerts and campaign events). Each output
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
  std::string alerts_;  // the alert lines of one write
};

// Whether an EVE line is an alert event.
bool is_alert_line(std::string_view line);

}  // namespace flowscore
