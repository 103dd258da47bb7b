// Prefaulter: faults pages in a bounded distance ahead of the positions in
// use, without changing their contents, and stops when asked.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "flowscore/prefault.hpp"

using namespace flowscore;

namespace {

constexpr size_t kPage = 4096;

struct Mapping {
  explicit Mapping(size_t n) : bytes(n) {
    p = static_cast<char*>(mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  ~Mapping() { munmap(p, bytes); }
  size_t resident_pages() const {
    std::vector<unsigned char> v((bytes + kPage - 1) / kPage);
    mincore(p, bytes, v.data());
    size_t n = 0;
    for (unsigned char c : v) n += c & 1;
    return n;
  }
  char* p;
  size_t bytes;
};

bool populate_write_supported() {
  Mapping m(kPage);
  return madvise(m.p, m.bytes, 23 /* MADV_POPULATE_WRITE */) == 0;
}

void wait_for(const Prefaulter& pf, size_t elements) {
  for (int i = 0; i < 5000 && pf.faulted() < elements; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace

TEST(Prefaulter, StaysALeadAheadOfUseAndKeepsContents) {
  if (!populate_write_supported()) GTEST_SKIP() << "kernel without MADV_POPULATE_WRITE";
  constexpr size_t kElements = 100'000;
  Mapping entries(kElements * 256), slots(kElements * 48);  // two arrays indexed alike
  std::memcpy(entries.p + 5000, "kept", 5);                 // written before, as a worker may
  std::atomic<uint32_t> in_use{0};
  Prefaulter pf({{entries.p, entries.bytes}, {slots.p, slots.bytes}}, kElements, in_use, 10'000);
  wait_for(pf, 10'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(pf.faulted(), 10'000u);  // no further than the lead
  EXPECT_GE(entries.resident_pages(), 10'000 * 256 / kPage);
  EXPECT_LE(entries.resident_pages(), 10'000 * 256 / kPage + 1);
  EXPECT_GE(slots.resident_pages(), 10'000 * 48 / kPage);

  in_use.store(kElements - 5);  // use catches up: everything gets faulted
  wait_for(pf, kElements);
  EXPECT_EQ(pf.faulted(), kElements);
  EXPECT_EQ(entries.resident_pages(), entries.bytes / kPage);
  EXPECT_EQ(slots.resident_pages(), (slots.bytes + kPage - 1) / kPage);
  EXPECT_STREQ(entries.p + 5000, "kept");
  EXPECT_EQ(slots.p[slots.bytes - 1], 0);
}

TEST(Prefaulter, StopReturnsBeforeTheRestIsFaulted) {
  constexpr size_t kElements = size_t{1} << 22;
  Mapping a(kElements * 256);  // 1 GiB, never touched by the test itself
  std::atomic<uint32_t> in_use{kElements};
  Prefaulter pf({{a.p, a.bytes}}, kElements, in_use, 0);
  pf.stop();
  EXPECT_LT(pf.faulted(), kElements);
  EXPECT_LE(a.resident_pages() * kPage, pf.faulted() * 256 + (size_t{2} << 20));
}
