// libFuzzer target: the JSON config loader and the --set overrides.
//
// load_config reads a path, so the input goes into a memfd and is read back
// through /proc/self/fd. A config either loads and passes validate_config,
// or is refused with a message; it never crashes or throws. The bytes are
// also split at the first '=' and applied as one --set override.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "flowscore/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz-config", 0);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  flowscore::Config cfg;
  std::string error;
  const bool loaded = flowscore::load_config("/proc/self/fd/" + std::to_string(fd), cfg, error);
  close(fd);
  if (loaded == !error.empty()) std::abort();  // a refusal says why; success says nothing
  if (loaded && !flowscore::validate_config(cfg, error)) std::abort();

  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t eq = text.find('=');
  if (eq != std::string::npos) {
    flowscore::Config over;
    error.clear();
    if (!flowscore::apply_override(text.substr(0, eq), text.substr(eq + 1), over, error) && error.empty())
      std::abort();
  }
  return 0;
}
