// `flowscore predict`'s engine: scores a feature table block by block in a
// oneTBB pipeline. One serial stage reads blocks of whole lines; a parallel
// stage parses a block's rows (std::from_chars), scores them with the
// compiled model and formats the output lines; a serial in-order stage
// writes them. Memory is bounded by the blocks in flight (two per thread).
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "flowscore/model.hpp"
#include "csv_blocks.hpp"

namespace flowscore::model {

// Which table column feeds which model feature, and which columns are
// copied to the output ahead of the scores.
struct TableLayout {
  size_t columns = 0;                   // cells per row (the header's)
  std::vector<int> feature_of_column;   // model feature index, or -1
  std::vector<size_t> kept_columns;     // copied verbatim, in this order
  std::vector<std::string> feature_names;  // for error messages
};

struct TableScoringResult {
  enum class Status { kOk, kBadInput, kWriteFailed };
  Status status = Status::kOk;
  size_t rows = 0;    // rows scored and written
  std::string error;  // names the line and column for kBadInput
};

// Reads every data line after the header (line header_line()), writes one
// output line per row: the kept cells, then the model's outputs ("{:.9g}",
// which reads back to the same float32). Stops at the first bad row, having
// written every row before it.
TableScoringResult score_table(const CompiledModel& model, CsvBlockReader& reader, const TableLayout& layout,
                               bool margin, std::FILE* out);

}  // namespace flowscore::model
