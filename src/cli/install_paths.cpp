#include "install_paths.hpp"

#include <cstdlib>
#include <system_error>

namespace flowscore {
namespace fs = std::filesystem;

namespace {

// `to` as seen from `from`, both absolute install directories.
fs::path relative_to(const char* to, const char* from) { return fs::path(to).lexically_relative(from); }

bool is_inside(const fs::path& path, const fs::path& dir) {
  const fs::path rel = path.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

InstallPaths compute() {
  InstallPaths p;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !is_inside(exe, FLOWSCORE_BUILD_ROOT)) {
    const fs::path bin = exe.parent_path();
    p.installed = true;
    p.config = (bin / relative_to(FLOWSCORE_SYSCONFDIR, FLOWSCORE_BINDIR) / "flowscore" / "flowscore.json").lexically_normal();
    p.data_dir = (bin / relative_to(FLOWSCORE_DATADIR, FLOWSCORE_BINDIR)).lexically_normal();
    p.state_dir = (bin / relative_to(FLOWSCORE_STATEDIR, FLOWSCORE_BINDIR)).lexically_normal();
    p.log_dir = (bin / relative_to(FLOWSCORE_LOGDIR, FLOWSCORE_BINDIR)).lexically_normal();
  } else {
    const fs::path source = FLOWSCORE_SOURCE_DIR;
    p.config = source / "conf" / "flowscore.json";
    p.data_dir = source / "conf";  // conf/models/ holds the shipped models
    p.state_dir = fs::path(FLOWSCORE_BUILD_ROOT) / "var" / "lib";
    p.log_dir = fs::path(FLOWSCORE_BUILD_ROOT) / "var" / "log";
  }
  return p;
}

}  // namespace

const InstallPaths& install_paths() {
  static const InstallPaths paths = compute();
  return paths;
}

std::string default_config_path() {
  if (const char* env = std::getenv("FLOWSCORE_CONFIG"); env && *env) return env;
  std::error_code ec;
  return fs::exists(install_paths().config, ec) ? install_paths().config.string() : std::string();
}

std::string resolve_model_path(const std::string& path, const std::string& config_path) {
  if (path.empty() || path == "-" || fs::path(path).is_absolute()) return path;
  const fs::path beside = (fs::path(config_path).parent_path() / path).lexically_normal();
  std::error_code ec;
  if (config_path.empty() || fs::exists(beside, ec)) return config_path.empty() ? path : beside.string();
  const fs::path shipped = (install_paths().data_dir / path).lexically_normal();
  return fs::exists(shipped, ec) ? shipped.string() : beside.string();
}

}  // namespace flowscore
