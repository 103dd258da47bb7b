// An LD_PRELOAD library for test_cli.py: counts heap allocations per thread,
// so the test can require that a worker lcore never allocates (issue 14: no
// allocation on the packet path). glibc's own allocator does the work
// (__libc_malloc and friends); operator new reaches malloc through the PLT,
// so C++ allocations are counted too. At exit it writes one line per thread
// that allocated, "tid count", to $FLOWSCORE_ALLOC_REPORT. Threads that never
// allocate never take a slot, so they are absent from the report.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}

namespace {

constexpr int kSlots = 1024;
struct Slot {
  std::atomic<long> tid{0};
  std::atomic<unsigned long> allocations{0};
};
Slot g_slots[kSlots];
std::atomic<int> g_used{0};
// Initial-exec TLS: a preloaded library's TLS is static, so reaching it
// never allocates (general-dynamic TLS may, through __tls_get_addr).
__attribute__((tls_model("initial-exec"))) thread_local int t_slot = -1;

void count() {
  if (t_slot < 0) {
    t_slot = g_used.fetch_add(1);
    if (t_slot < kSlots) g_slots[t_slot].tid.store(syscall(SYS_gettid));
  }
  if (t_slot < kSlots) g_slots[t_slot].allocations.fetch_add(1, std::memory_order_relaxed);
}

__attribute__((destructor)) void report() {
  const char* path = std::getenv("FLOWSCORE_ALLOC_REPORT");
  if (path == nullptr) return;
  FILE* f = std::fopen(path, "w");
  if (f == nullptr) return;
  const int n = std::min(g_used.load(), kSlots);
  for (int i = 0; i < n; ++i) std::fprintf(f, "%ld %lu\n", g_slots[i].tid.load(), g_slots[i].allocations.load());
  std::fclose(f);
}

}  // namespace

extern "C" {
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(size_t align, size_t n) {
  count();
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  count();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  count();
  *out = __libc_memalign(align, n);
  return *out ? 0 : ENOMEM;
}
}
