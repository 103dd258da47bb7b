// gtest main for test binaries that need DPDK (rte_hash, rte_ring, mempools).
#include "eal_environment.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new flowscore::testing::EalEnvironment);
  return RUN_ALL_TESTS();
}
