#include "flowscore/prefault.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>

namespace flowscore {

namespace {
#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older headers lack it
#endif
constexpr uintptr_t kPageBytes = 4096;
// One step faults about this much of the largest range: a transparent huge
// page, so a step is one fault and stop() never waits long.
constexpr size_t kStepBytes = size_t{2} << 20;

uintptr_t page_floor(uintptr_t a) { return a / kPageBytes * kPageBytes; }
}  // namespace

Prefaulter::Prefaulter(std::vector<MemoryRange> ranges, size_t elements, const std::atomic<uint32_t>& in_use,
                       size_t lead)
    : ranges_(std::move(ranges)), elements_(elements), in_use_(in_use), lead_(lead) {
  thread_ = std::thread([this] { run(); });
}

Prefaulter::~Prefaulter() { stop(); }

void Prefaulter::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

// Faults [faulted(), element) of every range in.
bool Prefaulter::fault_up_to(size_t element) {
  const size_t from = faulted_.load(std::memory_order_relaxed);
  for (const MemoryRange& r : ranges_) {
    const size_t per_element = r.bytes / elements_;
    // Whole pages only: a page that straddles the end is faulted by the next step.
    const uintptr_t begin = page_floor(reinterpret_cast<uintptr_t>(r.begin) + from * per_element);
    const uintptr_t end = element == elements_ ? reinterpret_cast<uintptr_t>(r.begin) + r.bytes
                                               : page_floor(reinterpret_cast<uintptr_t>(r.begin) + element * per_element);
    if (end > begin && madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0) return false;
  }
  faulted_.store(element, std::memory_order_relaxed);
  return true;
}

void Prefaulter::run() {
  size_t largest_element = 1;
  for (const MemoryRange& r : ranges_) largest_element = std::max(largest_element, r.bytes / elements_);
  const size_t step = std::max<size_t>(1, kStepBytes / largest_element);
  while (!stop_.load(std::memory_order_relaxed) && faulted() < elements_) {
    const size_t wanted = std::min(elements_, size_t{in_use_.load(std::memory_order_relaxed)} + lead_);
    if (faulted() >= wanted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // far enough ahead
      continue;
    }
    if (!fault_up_to(std::min(wanted, faulted() + step))) return;
  }
}

}  // namespace flowscore
