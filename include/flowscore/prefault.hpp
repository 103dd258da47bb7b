#pragma once
// Background pre-faulting of lazily mapped memory, a bounded distance ahead
// of its use.
//
// The flow table's big arrays are anonymous mappings whose pages the kernel
// zeroes on first touch. Offline, that zeroing lands on the worker's packet
// path (a quarter of its time on a 750k-flow capture, docs/BENCHMARKS.md).
// A Prefaulter moves it to the main lcore's CPU: a
// thread faults the arrays in ahead of the worker, which fills the table
// from the front (rte_hash hands positions out in order). It stays at most
// `lead` elements ahead of the highest position in use, so capacity that no
// flow reaches still costs no memory.
//
// Faulting uses MADV_POPULATE_WRITE, which maps pages without writing to
// them, so it never races with the worker's own writes. Kernels without it
// (before Linux 5.14) make the Prefaulter a no-op.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace flowscore {

// An array of `elements` equal-sized elements, indexed by table position.
struct MemoryRange {
  void* begin = nullptr;
  size_t bytes = 0;
};

class Prefaulter {
 public:
  // `ranges` are arrays of `elements` elements each, indexed alike;
  // `in_use` is how many positions from the front have been used, written
  // by their user. Starts the thread on the caller's CPU set.
  Prefaulter(std::vector<MemoryRange> ranges, size_t elements, const std::atomic<uint32_t>& in_use, size_t lead);
  ~Prefaulter();  // stop() and join
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  // Asks the thread to stop after the current step (a few ms at most) and
  // waits for it.
  void stop();
  // Elements faulted in so far, in every range.
  size_t faulted() const { return faulted_.load(std::memory_order_relaxed); }

 private:
  void run();
  bool fault_up_to(size_t element);  // false when the kernel refuses

  std::vector<MemoryRange> ranges_;
  size_t elements_;
  const std::atomic<uint32_t>& in_use_;
  size_t lead_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> faulted_{0};
  std::thread thread_;
};

}  // namespace flowscore
