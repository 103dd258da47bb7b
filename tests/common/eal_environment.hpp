// Starts DPDK's EAL once for a test binary: no PCI, no hugepages, no shared
// files, so tests run anywhere and side by side.
#pragma once
#include <gtest/gtest.h>
#include <rte_eal.h>

namespace flowscore::testing {

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* argv[] = {"test", "--no-pci", "--no-huge", "-m512", "--no-shconf", "--no-telemetry",
                          "--log-level=error", "-l0"};
    ASSERT_GE(rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)), 0);
  }
  void TearDown() override { rte_eal_cleanup(); }
};

}  // namespace flowscore::testing
