#include "table_scoring.hpp"

#include <fmt/format.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "flowscore/float_text.hpp"

namespace flowscore::model {
namespace {

// One block of lines on its way through the pipeline.
struct Block {
  std::string text;                      // whole lines, each ending in '\n'
  std::vector<float> rows;               // parsed features, row-major
  std::vector<std::string_view> kept;    // kept cells, row-major, into text
  std::vector<float> scores;
  fmt::memory_buffer output;
  size_t row_count = 0;
  size_t line_count = 0;                 // lines read, blank ones included
  size_t error_line = 0;                 // 1-based within the block; 0 = none
  std::string error_detail;              // follows "line N" in the message
};

// Parses the block's rows into block.rows/kept; stops at the first bad row.
void parse_rows(const TableLayout& layout, size_t num_features, Block& block) {
  const size_t nkept = layout.kept_columns.size();
  std::vector<int> kept_slot(layout.columns, -1);
  for (size_t k = 0; k < nkept; ++k) kept_slot[layout.kept_columns[k]] = static_cast<int>(k);

  const char* line = block.text.data();
  const char* const text_end = line + block.text.size();
  while (line < text_end) {
    const char* newline = static_cast<const char*>(std::memchr(line, '\n', text_end - line));
    const char* end = newline > line && newline[-1] == '\r' ? newline - 1 : newline;
    ++block.line_count;
    if (end == line) {  // blank line
      line = newline + 1;
      continue;
    }
    block.rows.resize((block.row_count + 1) * num_features);
    block.kept.resize((block.row_count + 1) * nkept);
    float* row = block.rows.data() + block.row_count * num_features;
    std::string_view* kept = block.kept.data() + block.row_count * nkept;
    size_t column = 0;
    for (const char* cell = line;; ++column) {
      const char* comma = static_cast<const char*>(std::memchr(cell, ',', end - cell));
      const std::string_view text(cell, (comma ? comma : end) - cell);
      if (column < layout.columns) {
        const int feature = layout.feature_of_column[column];
        if (feature >= 0 && !parse_feature_cell(text, row[feature])) {
          block.error_line = block.line_count;
          block.error_detail = fmt::format(", column '{}': '{}' is not a number", layout.feature_names[feature],
                                           text.substr(0, 64));
          return;
        }
        if (kept_slot[column] >= 0) kept[kept_slot[column]] = text;
      }
      if (!comma) break;
      cell = comma + 1;
    }
    if (column + 1 != layout.columns) {
      block.error_line = block.line_count;
      block.error_detail = fmt::format(" has {} cells, the header has {}", column + 1, layout.columns);
      return;
    }
    ++block.row_count;
    line = newline + 1;
  }
}

void format_rows(size_t nkept, size_t num_outputs, Block& block) {
  for (size_t r = 0; r < block.row_count; ++r) {
    for (size_t k = 0; k < nkept; ++k) {
      const std::string_view cell = block.kept[r * nkept + k];
      block.output.append(cell.data(), cell.data() + cell.size());
      block.output.push_back(',');
    }
    char text[kFloatTextMax + 1];
    for (size_t g = 0; g < num_outputs; ++g) {
      text[0] = ',';
      const char* end = write_float9(text + 1, block.scores[r * num_outputs + g]);
      block.output.append(g ? text : text + 1, end);
    }
    block.output.push_back('\n');
  }
}

}  // namespace

TableScoringResult score_table(const CompiledModel& model, CsvBlockReader& reader, const TableLayout& layout,
                               bool margin, std::FILE* out) {
  TableScoringResult result;
  const size_t nf = model.num_features(), k = model.num_outputs();
  size_t lines_before = reader.header_line();  // lines written or passed so far
  std::atomic<bool> stop{false};
  std::string read_error;

  // Blocks in flight: enough to keep every thread parsing while one writes.
  const size_t threads = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  const size_t tokens = 2 * threads + 1;
  tbb::parallel_pipeline(
      tokens,
      tbb::make_filter<void, Block*>(tbb::filter_mode::serial_in_order,
                                     [&](tbb::flow_control& control) -> Block* {
                                       auto block = std::make_unique<Block>();
                                       if (stop.load(std::memory_order_relaxed) ||
                                           !reader.next_block(block->text, read_error)) {
                                         control.stop();
                                         return nullptr;
                                       }
                                       return block.release();
                                     }) &
          tbb::make_filter<Block*, Block*>(tbb::filter_mode::parallel,
                                           [&](Block* block) {
                                             parse_rows(layout, nf, *block);
                                             block->scores.resize(block->row_count * k);
                                             margin ? model.predict_margin(block->rows.data(), block->row_count,
                                                                           block->scores.data())
                                                    : model.predict(block->rows.data(), block->row_count,
                                                                    block->scores.data());
                                             format_rows(layout.kept_columns.size(), k, *block);
                                             return block;
                                           }) &
          tbb::make_filter<Block*, void>(tbb::filter_mode::serial_in_order, [&](Block* owned) {
            std::unique_ptr<Block> block(owned);
            if (result.status != TableScoringResult::Status::kOk) return;
            // Rows before a bad one are written, as a serial reader would have.
            if (std::fwrite(block->output.data(), 1, block->output.size(), out) != block->output.size()) {
              result.status = TableScoringResult::Status::kWriteFailed;
            } else if (block->error_line) {
              result.status = TableScoringResult::Status::kBadInput;
              result.error = fmt::format("line {}{}", lines_before + block->error_line, block->error_detail);
            }
            result.rows += block->row_count;
            lines_before += block->line_count;
            if (result.status != TableScoringResult::Status::kOk) stop.store(true, std::memory_order_relaxed);
          }));
  if (result.status == TableScoringResult::Status::kOk && !read_error.empty()) {
    result.status = TableScoringResult::Status::kBadInput;
    result.error = reader.line_too_long() ? fmt::format("line {} {}", lines_before + 1, read_error) : read_error;
  }
  return result;
}

}  // namespace flowscore::model
