#include "record_writer.hpp"

#include <cmath>
#include <filesystem>

#include "flowscore/ecs_view.hpp"
#include "flowscore/float_text.hpp"

namespace flowscore {

EveRecordWriter::EveRecordWriter(const EveOptions& options, const FeatureSpec& spec,
                                 std::unique_ptr<RecordJudge> judge)
    : formatter_(options),
      format_(options.format),
      judge_(std::move(judge)),
      spec_(spec),
      with_features_(options.include_features),
      features_(spec.count()) {
  if (judge_) judge_->model_changed(options.model_generation, options.model);
}

void EveRecordWriter::model_changed(uint64_t generation, const ModelInfo& model) {
  formatter_.add_model(generation, model);
  if (judge_) judge_->model_changed(generation, model);
}

void EveRecordWriter::write(FlowRecord& r, fmt::memory_buffer& out) {
  if (judge_) {
    const size_t campaign_lines = out.size();  // the judge may write campaign alerts
    judge_->judge(r, out);
    reformat_lines(format_, out, campaign_lines);
  }
  if (with_features_) spec_.compute(r.stats, {r.first, r.first_count}, features_);
  formatter_.format(r, features_, out);
}

void EveRecordWriter::finish(fmt::memory_buffer& out) {
  if (!judge_) return;
  const size_t campaign_lines = out.size();
  judge_->finish(out);
  reformat_lines(format_, out, campaign_lines);
}

CsvRecordWriter::CsvRecordWriter(const FeatureSpec& spec, std::vector<std::string> input_names,
                                 const LabelRules* labels, std::string default_label)
    : spec_(spec),
      input_names_(std::move(input_names)),
      labels_(labels),
      default_label_(std::move(default_label)),
      features_(spec.count()) {
  for (auto& n : input_names_) n = std::filesystem::path(n).filename().string();
}

void CsvRecordWriter::header(fmt::memory_buffer& out) {
  fmt::format_to(std::back_inserter(out), "flow_id,input,src_ip,src_port,dest_ip,dest_port,proto,start,end,label");
  for (const auto& n : spec_.names()) fmt::format_to(std::back_inserter(out), ",{}", n);
  out.push_back('\n');
}

void CsvRecordWriter::write(FlowRecord& r, fmt::memory_buffer& out) {
  char src[kIpTextMax], dst[kIpTextMax];
  const size_t ns = format_ip(r.src.addr, r.ip_version, src);
  const size_t nd = format_ip(r.dst.addr, r.ip_version, dst);
  const std::string_view input =
      r.input_index < input_names_.size() ? std::string_view(input_names_[r.input_index]) : std::string_view();
  const std::string_view label = labels_ ? labels_->label_for(r, r.input_index) : std::string_view(default_label_);
  // Times as seconds with microseconds, the pcap resolution.
  fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{},{}.{:06},{}.{:06},{}", r.flow_id, input,
                 std::string_view(src, ns), r.src.port, std::string_view(dst, nd), r.dst.port, r.proto,
                 r.stats.first_ts_ns / 1'000'000'000, r.stats.first_ts_ns % 1'000'000'000 / 1000,
                 r.stats.last_ts_ns / 1'000'000'000, r.stats.last_ts_ns % 1'000'000'000 / 1000, label);
  spec_.compute(r.stats, {r.first, r.first_count}, features_);
  // "%.9g" round-trips a float32 exactly, so training sees the values run scores.
  char text[kFloatTextMax + 1];
  for (float v : features_) {
    text[0] = ',';
    const char* end = std::isnan(v) ? text + 1 : write_float9(text + 1, v);
    out.append(text, end);
  }
  out.push_back('\n');
}

}  // namespace flowscore
