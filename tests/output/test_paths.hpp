// Where the output tests find their data: meson passes the source root in
// FLOWSCORE_SOURCE_ROOT (see tests/output/meson.build).
#pragma once
#include <cstdlib>
#include <string>

namespace flowscore::test {

inline std::string source_root() {
  const char* root = std::getenv("FLOWSCORE_SOURCE_ROOT");
  return root ? root : ".";
}

inline std::string output_data_dir() { return source_root() + "/tests/data/output"; }

}  // namespace flowscore::test
