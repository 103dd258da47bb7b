// The compiled model file `flowscore compile` writes and workers load.
//
// Layout (version 2, little-endian, no padding):
//   "FSMODEL\0"  magic                          8 bytes
//   u32 format version, u32 objective code, u32 num_features, u32 num_groups,
//   f32 base margin, u32 num_trees, u32 num_nodes
//   u8[32] SHA-256 of the source XGBoost JSON
//   string model name; u32 count + strings feature names; same for class
//   names (string = u32 length + bytes); string feature spec version (empty
//   when not recorded)
//   u32 tree_begin[num_trees + 1], u32 tree_group[num_trees]
//   per node: u32 feature, f32 value, i32 left, i32 right, u8 default_left
//   u8[32] SHA-256 of every byte before it
// The trailing digest catches damage that would still be structurally valid
// (a flipped leaf value); read_compiled_file() then runs validate_forest(),
// so a file that passes has every index in bounds.
#pragma once
#include <string>
#include <string_view>

#include "forest.hpp"

namespace flowscore::model {

// Version 2 added the feature spec version. A file of another version is
// refused (recompile it): the format carries no migration.
inline constexpr uint32_t kCompiledFormatVersion = 2;

std::string serialize_forest(const Forest& forest);
bool parse_compiled_file(std::string_view bytes, Forest& forest, std::string& error);

// Whole-file read with a size cap, so a wrong path (e.g. /dev/zero) or a
// huge file fails cleanly.
bool read_file(const std::string& path, size_t max_bytes, std::string& bytes, std::string& error);

}  // namespace flowscore::model
