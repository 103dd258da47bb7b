// Where flowscore finds its default config and shipped models. An installed
// binary looks relative to its own executable, using the relations between
// the directories meson installed into (bin -> ../../etc/flowscore, ...),
// so a Debian package, a `meson install --destdir` tree and a moved prefix
// all find their own files and never the source tree. A binary run from its
// build directory uses the source tree it was built from instead.
#pragma once
#include <filesystem>
#include <string>

namespace flowscore {

struct InstallPaths {
  bool installed = false;             // false: running from the build tree
  std::filesystem::path config;       // the default config file
  std::filesystem::path data_dir;     // shipped models (models/), schemas
  std::filesystem::path state_dir;    // spool, calibrations (/var/lib/flowscore)
  std::filesystem::path log_dir;      // file outputs of the service (/var/log/flowscore)
};

// Computed once from /proc/self/exe.
const InstallPaths& install_paths();

// The config a command reads without --config: $FLOWSCORE_CONFIG when set,
// else install_paths().config when it exists, else empty (built-in defaults).
std::string default_config_path();

// A relative model.path is relative to the config file; when nothing is
// there, it is looked up in data_dir (the shipped models of the installed
// layout). Absolute paths, "-" and empty stay as they are.
std::string resolve_model_path(const std::string& path, const std::string& config_path);

}  // namespace flowscore
