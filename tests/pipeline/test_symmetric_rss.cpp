// Symmetric RSS, emulated: there is no NIC here, so every packet of the real
// captures is hashed as a Toeplitz NIC hashes it (DPDK's own software
// Toeplitz, rte_softrss, which DPDK's RSS tests hold against hardware), with
// the key flowscore gives the port. Both directions of every flow must reach
// the same queue, and flows must spread over the queues. The same check with
// the usual (non-symmetric) Toeplitz key must fail for most flows, so the
// test can tell the two apart.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "../../src/pipeline/port_setup.hpp"
#include "flowscore/packet.hpp"
#include "flowscore/pcap_file.hpp"
#include "nic_rss.hpp"

using namespace flowscore;
namespace fs = std::filesystem;

namespace {

// The key most NICs and testpmd start with (not symmetric).
const uint8_t kUsualKey[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                               0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                               0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

std::vector<uint32_t> rss_input(const ParsedPacket& p, bool swapped) { return test::nic_rss_input(p, true, swapped); }
uint32_t hash(std::vector<uint32_t> in, const uint8_t* key) { return test::nic_rss_hash(std::move(in), key); }
unsigned queue_of(uint32_t h, unsigned queues) { return test::nic_rss_queue(h, queues); }

struct Corpus {
  std::vector<ParsedPacket> packets;
  size_t files = 0;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus c;
    std::vector<fs::path> roots = {fs::path(FLOWSCORE_SOURCE_DIR) / "tests" / "data"};
    const fs::path shared = fs::path(FLOWSCORE_SOURCE_DIR) / ".." / "shared" / "data" / "pcaps";
    if (fs::is_directory(shared)) roots.push_back(shared);
    for (const fs::path& root : roots)
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        const std::string ext = e.path().extension();
        if (!e.is_regular_file() || (ext != ".pcap" && ext != ".pcapng" && ext != ".cap") || e.file_size() > (8u << 20))
          continue;
        PcapFileInfo info;
        std::string err;
        if (!probe_pcap_file(e.path(), info, err)) continue;
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_t* pc = pcap_open_offline(e.path().c_str(), errbuf);
        if (!pc) continue;
        ++c.files;
        pcap_pkthdr* h;
        const u_char* data;
        while (pcap_next_ex(pc, &h, &data) == 1) {
          ParsedPacket p;
          if (parse_frame(data, h->caplen, info.link, p) == ParseStatus::kOk) c.packets.push_back(p);
        }
        pcap_close(pc);
      }
    return c;
  }();
  return c;
}

}  // namespace

TEST(SymmetricRss, TheKeyIs0x6d5aRepeated) {
  const std::vector<uint8_t> key = symmetric_rss_key(52);  // i40e's key length
  ASSERT_EQ(key.size(), 52u);
  for (size_t i = 0; i < key.size(); ++i) EXPECT_EQ(key[i], i % 2 ? 0x5a : 0x6d) << i;
}

TEST(SymmetricRss, BothDirectionsOfEveryPacketHashAlike) {
  const Corpus& c = corpus();
  ASSERT_GT(c.packets.size(), 10000u) << "too few packets to say anything";
  const std::vector<uint8_t> key = symmetric_rss_key(40);
  size_t asymmetric = 0;
  for (const ParsedPacket& p : c.packets)
    asymmetric += hash(rss_input(p, false), key.data()) != hash(rss_input(p, true), key.data());
  EXPECT_EQ(asymmetric, 0u) << "of " << c.packets.size() << " packets in " << c.files << " captures";
  std::printf("%zu IP packets of %zu captures hashed both ways\n", c.packets.size(), c.files);
}

TEST(SymmetricRss, TheUsualKeyWouldSplitMostFlowsAcrossQueues) {
  const Corpus& c = corpus();
  size_t split = 0, tested = 0;
  for (const ParsedPacket& p : c.packets) {
    if (p.src == p.dst && p.src_port == p.dst_port) continue;  // its own reply
    ++tested;
    split += queue_of(hash(rss_input(p, false), kUsualKey), 4) != queue_of(hash(rss_input(p, true), kUsualKey), 4);
  }
  // Random placement would split 3 in 4; the check above must be able to fail.
  EXPECT_GT(split, tested / 2) << split << " of " << tested;
}

TEST(SymmetricRss, FlowsSpreadOverTheQueues) {
  // Distinct flows of the corpus (both directions as one), over 2, 4 and 8
  // queues. The symmetric key has half the entropy of a random one; each
  // queue must still get a fair share (within 0.5x..1.5x of even).
  const Corpus& c = corpus();
  const std::vector<uint8_t> key = symmetric_rss_key(40);
  std::set<std::vector<uint32_t>> flows;
  for (const ParsedPacket& p : c.packets) {
    std::vector<uint32_t> a = rss_input(p, false), b = rss_input(p, true);
    flows.insert(std::min(a, b));
  }
  ASSERT_GT(flows.size(), 2000u);
  for (unsigned queues : {2u, 4u, 8u}) {
    std::vector<size_t> per_queue(queues);
    for (const auto& f : flows) ++per_queue[queue_of(hash(f, key.data()), queues)];
    const double even = double(flows.size()) / queues;
    std::printf("%zu flows over %u queues:", flows.size(), queues);
    for (size_t n : per_queue) std::printf(" %zu", n);
    std::printf("\n");
    for (unsigned q = 0; q < queues; ++q) {
      EXPECT_GT(per_queue[q], 0.5 * even) << queues << " queues, queue " << q;
      EXPECT_LT(per_queue[q], 1.5 * even) << queues << " queues, queue " << q;
    }
  }
}
