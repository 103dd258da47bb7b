// Turns flow records into output text on the main lcore: EVE JSON lines for
// `run`, CSV feature rows for `extract`. Formatting happens here, off the
// workers, so the packet path never pays for it.
#pragma once
#include <fmt/format.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flowscore/calibration.hpp"
#include "flowscore/eve.hpp"
#include "flowscore/features.hpp"
#include "flowscore/flow_record.hpp"
#include "flowscore/labels.hpp"
#include "flowscore/record_judge.hpp"

namespace flowscore {

class RecordWriter {
 public:
  virtual ~RecordWriter() = default;
  virtual void header(fmt::memory_buffer& out) = 0;
  // Writes one record; may decide what is left to decide of it (EVE: the
  // alert policy), so the record is the writer's until it gives it back.
  virtual void write(FlowRecord& r, fmt::memory_buffer& out) = 0;
  // `batch` is written next, in this order: a chance to do for all of it at
  // once what its writes need (EVE: count it in the context).
  virtual void prepare(std::span<FlowRecord* const> /*batch*/) {}
  // The model was reloaded: verdicts of `generation` come from `model`.
  virtual void model_changed(uint64_t /*generation*/, const ModelInfo& /*model*/) {}
  // After the last record: what is still open (campaigns) is written.
  virtual void finish(fmt::memory_buffer& /*out*/) {}
};

// EVE lines, each record judged first by the alert policy and campaigns
// (when `judge` is given: alerting.policy "evidence").
class EveRecordWriter final : public RecordWriter {
 public:
  EveRecordWriter(const EveOptions& options, const FeatureSpec& spec, std::unique_ptr<RecordJudge> judge);
  void header(fmt::memory_buffer&) override {}
  void prepare(std::span<FlowRecord* const> batch) override {
    if (judge_) judge_->prepare(batch);
  }
  void write(FlowRecord& r, fmt::memory_buffer& out) override;
  void model_changed(uint64_t generation, const ModelInfo& model) override;
  void finish(fmt::memory_buffer& out) override;
  const RecordJudge* judge() const { return judge_.get(); }

 private:
  EveFormatter formatter_;
  RecordFormat format_;
  std::unique_ptr<RecordJudge> judge_;
  const FeatureSpec& spec_;
  bool with_features_;
  std::vector<float> features_;
};

// CSV contract (scripts/train reads it): metadata columns
// flow_id,input,src_ip,src_port,dest_ip,dest_port,proto,start,end,label
// then one column per feature, named as FeatureSpec::names(). NaN is empty.
class CsvRecordWriter final : public RecordWriter {
 public:
  CsvRecordWriter(const FeatureSpec& spec, std::vector<std::string> input_names, const LabelRules* labels,
                  std::string default_label);
  void header(fmt::memory_buffer& out) override;
  void write(FlowRecord& r, fmt::memory_buffer& out) override;

 private:
  const FeatureSpec& spec_;
  std::vector<std::string> input_names_;
  const LabelRules* labels_;
  std::string default_label_;
  std::vector<float> features_;
};

// `calibrate`: counts every record in the context and writes, at the end,
// the configuration with the thresholds the inputs suggest.
class CalibrationWriter final : public RecordWriter {
 public:
  CalibrationWriter(const Config& cfg, bool per_input, double quantile, std::string config_text,
                    std::vector<std::string> inputs)
      : calibrator_(cfg, per_input, quantile), config_text_(std::move(config_text)), inputs_(std::move(inputs)) {}
  void header(fmt::memory_buffer&) override {}
  void write(FlowRecord& r, fmt::memory_buffer&) override { calibrator_.observe(r); }
  void finish(fmt::memory_buffer& out) override {
    const std::string text = calibrator_.proposal(config_text_, inputs_);
    out.append(text.data(), text.data() + text.size());
  }
  const Calibrator& calibrator() const { return calibrator_; }

 private:
  Calibrator calibrator_;
  std::string config_text_;
  std::vector<std::string> inputs_;
};

}  // namespace flowscore
