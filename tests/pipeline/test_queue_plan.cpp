// The live queue plan (src/pipeline/queue_plan.hpp): which worker reads
// which RX queue, when a port is dealt in software, and what is refused.
#include <gtest/gtest.h>

#include "../../src/pipeline/queue_plan.hpp"

using namespace flowscore;

namespace {

constexpr uint64_t kIp = 1, kTcp = 2, kUdp = 4;  // stand-ins for RTE_ETH_RSS_* bits

PortCapabilities nic(uint16_t port, uint16_t queues = 64) { return {port, "nic" + std::to_string(port), queues, kIp | kTcp | kUdp, 512}; }
PortCapabilities vdev(uint16_t port) { return {port, "net_pcap" + std::to_string(port), 1, 0, 0}; }

QueueOptions opts(const std::string& distribute = "auto", const std::string& map = "") {
  QueueOptions o;
  o.distribute = distribute;
  o.queue_map = map;
  o.rss_hf = kIp | kTcp | kUdp;
  return o;
}

// Every (port, queue) the plan configures is read exactly once: by one
// worker, or dealt by the main lcore.
void expect_every_queue_read_once(const QueuePlan& plan) {
  for (const QueuePlan::Port& p : plan.ports)
    for (uint16_t q = 0; q < p.rx_queues; ++q) {
      int readers = 0;
      for (const auto& w : plan.worker_queues) readers += static_cast<int>(std::count(w.begin(), w.end(), QueueRef{p.port, q}));
      readers += static_cast<int>(std::count(plan.dealt.begin(), plan.dealt.end(), QueueRef{p.port, q}));
      EXPECT_EQ(readers, 1) << "port " << p.port << " queue " << q;
    }
}

}  // namespace

TEST(QueueMap, ParsesPortsAndRanges) {
  std::vector<QueueRef> refs;
  std::string err;
  ASSERT_TRUE(parse_queue_map("0:0-3,1:0-1,2:0", refs, err)) << err;
  const std::vector<QueueRef> want = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {2, 0}};
  EXPECT_EQ(refs, want);
}

TEST(QueueMap, RefusesWhatIsNotAMap) {
  for (const char* bad : {"", "0", "0:", ":1", "0:3-1", "0:0,", "0:0,,1:0", "x:0", "0:0-x", "0:-1", "70000:0",
                          "0:1024", "0:0,0:0", "0:0-2,0:1", "0:0 ", " 0:0"}) {
    std::vector<QueueRef> refs;
    std::string err;
    EXPECT_FALSE(parse_queue_map(bad, refs, err)) << "'" << bad << "'";
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(QueuePlan, OneWorkerReadsQueueZeroOfEveryPortItself) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0), vdev(1)}, 1, opts(), plan, err)) << err;
  ASSERT_EQ(plan.worker_queues.size(), 1u);
  EXPECT_EQ(plan.worker_queues[0], (std::vector<QueueRef>{{0, 0}, {1, 0}}));
  EXPECT_TRUE(plan.dealt.empty());
  for (const auto& p : plan.ports) EXPECT_EQ(p.rss_hf, 0u);
}

TEST(QueuePlan, AnRssPortGetsOneQueuePerWorker) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0), nic(1)}, 4, opts(), plan, err)) << err;
  for (unsigned w = 0; w < 4; ++w)
    EXPECT_EQ(plan.worker_queues[w], (std::vector<QueueRef>{{0, uint16_t(w)}, {1, uint16_t(w)}})) << w;
  for (const auto& p : plan.ports) {
    EXPECT_EQ(p.rx_queues, 4);
    EXPECT_EQ(p.rss_hf, kIp | kTcp | kUdp);
    EXPECT_FALSE(p.dealt);
  }
  expect_every_queue_read_once(plan);
}

TEST(QueuePlan, RssOnlyForTheHashTypesThePortOffers) {
  PortCapabilities ip_only = nic(0);
  ip_only.rss_offloads = kIp;
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({ip_only}, 2, opts(), plan, err)) << err;
  EXPECT_EQ(plan.ports[0].rss_hf, kIp);
}

TEST(QueuePlan, APortWithoutRssIsDealtBesideOneWithIt) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0), vdev(1)}, 2, opts(), plan, err)) << err;
  EXPECT_FALSE(plan.ports[0].dealt);
  EXPECT_TRUE(plan.ports[1].dealt);
  EXPECT_EQ(plan.ports[1].rx_queues, 1);
  EXPECT_EQ(plan.dealt, (std::vector<QueueRef>{{1, 0}}));
  expect_every_queue_read_once(plan);
}

TEST(QueuePlan, SoftwareDealsEveryPortAndNicRefusesOneThatCannot) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0), vdev(1)}, 3, opts("software"), plan, err)) << err;
  EXPECT_EQ(plan.dealt, (std::vector<QueueRef>{{0, 0}, {1, 0}}));
  for (const auto& w : plan.worker_queues) EXPECT_TRUE(w.empty());
  expect_every_queue_read_once(plan);

  EXPECT_FALSE(plan_queues({nic(0), vdev(1)}, 3, opts("nic"), plan, err));
  EXPECT_NE(err.find("net_pcap1"), std::string::npos) << err;
  EXPECT_NE(err.find("dpdk.distribute"), std::string::npos) << err;
}

TEST(QueuePlan, FewerQueuesThanWorkersIsSaid) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0, 2)}, 4, opts(), plan, err)) << err;
  EXPECT_EQ(plan.ports[0].rx_queues, 2);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("2 RX queues for 4 workers"), std::string::npos) << plan.notes[0];
  expect_every_queue_read_once(plan);
}

TEST(QueuePlan, AnExplicitMapDealsQueuesRoundRobin) {
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({nic(0), nic(1)}, 2, opts("auto", "0:0-3,1:0-1"), plan, err)) << err;
  EXPECT_EQ(plan.ports[0].rx_queues, 4);
  EXPECT_EQ(plan.ports[1].rx_queues, 2);
  EXPECT_EQ(plan.worker_queues[0], (std::vector<QueueRef>{{0, 0}, {0, 2}, {1, 0}}));
  EXPECT_EQ(plan.worker_queues[1], (std::vector<QueueRef>{{0, 1}, {0, 3}, {1, 1}}));
  expect_every_queue_read_once(plan);
}

TEST(QueuePlan, AnExplicitMapOnAPortWithoutRssTakesItsQueuesAsFilled) {
  // memif or net_pcap: queues, but no hash; whoever fills them decides.
  QueuePlan plan;
  std::string err;
  ASSERT_TRUE(plan_queues({{0, "net_memif", 8, 0, 0}}, 2, opts("auto", "0:0-1"), plan, err)) << err;
  EXPECT_EQ(plan.ports[0].rx_queues, 2);
  EXPECT_EQ(plan.ports[0].rss_hf, 0u);
  EXPECT_EQ(plan.worker_queues[1], (std::vector<QueueRef>{{0, 1}}));
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("both directions of a flow on one queue"), std::string::npos) << plan.notes[0];
}

TEST(QueuePlan, AnExplicitMapThatCannotWorkIsRefusedByName) {
  QueuePlan plan;
  std::string err;
  // a gap: RSS would spread packets to queue 0, which nobody reads
  EXPECT_FALSE(plan_queues({nic(0)}, 2, opts("auto", "0:1-3"), plan, err));
  EXPECT_NE(err.find("without gaps"), std::string::npos) << err;
  // a port left out
  EXPECT_FALSE(plan_queues({nic(0), nic(1)}, 2, opts("auto", "0:0-1"), plan, err));
  EXPECT_NE(err.find("port 1 (nic1) is not listed"), std::string::npos) << err;
  // a port that is not there
  EXPECT_FALSE(plan_queues({nic(0)}, 2, opts("auto", "0:0-1,5:0"), plan, err));
  EXPECT_NE(err.find("no port 5"), std::string::npos) << err;
  // more queues than the port has
  EXPECT_FALSE(plan_queues({nic(0, 4)}, 2, opts("auto", "0:0-7"), plan, err));
  EXPECT_NE(err.find("4 RX queues at most"), std::string::npos) << err;
  // a map with software dealing
  EXPECT_FALSE(plan_queues({nic(0)}, 2, opts("software", "0:0-1"), plan, err));
  EXPECT_NE(err.find("dpdk.queues"), std::string::npos) << err;
}
