// parse_frame against tshark on real and crafted captures: per frame, the
// outermost IP addresses, protocol, fragment kind, ports, TCP flags and ICMP
// type/code must equal Wireshark's dissection.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "frames.hpp"
#include "tshark_reference.hpp"

namespace flowscore::test {
namespace {

namespace fs = std::filesystem;

fs::path source_root() {
  const char* root = std::getenv("FLOWSCORE_SOURCE_ROOT");
  return root ? fs::path(root) : fs::current_path();
}

// Compares every file, prints one line per file, and returns the totals.
Tally compare_all(const std::vector<fs::path>& files) {
  Tally total;
  for (const fs::path& file : files) {
    Tally t;
    std::string error;
    EXPECT_TRUE(compare_capture(file.string(), t, error)) << file << ": " << error;
    std::cout << "  " << t.matched << "/" << t.frames << "  " << file.filename().string() << " ("
              << file.parent_path().filename().string() << ")";
    if (t.agreed_unusable) std::cout << ", " << t.agreed_unusable << " agreed unusable";
    std::cout << "\n";
    for (const auto& [what, n] : t.mismatches) {
      std::cout << "      " << n.first << " x " << what << " (first: frame " << n.second << ")\n";
      auto& [count, first] = total.mismatches[what + " in " + file.filename().string()];
      count += n.first;
      first = n.second;
    }
    total.frames += t.frames;
    total.matched += t.matched;
    total.matched_ip += t.matched_ip;
    total.agreed_unusable += t.agreed_unusable;
  }
  std::cout << "  total: " << total.matched << "/" << total.frames << " frames match tshark ("
            << total.matched_ip << " of them IP with every field compared), "
            << total.agreed_unusable << " agreed unusable (malformed or truncated)\n";
  return total;
}

void expect_all_match(const Tally& t) {
  EXPECT_GT(t.frames, 0u);
  EXPECT_EQ(t.matched + t.agreed_unusable, t.frames);
  for (const auto& [what, n] : t.mismatches) ADD_FAILURE() << n.first << " x " << what;
}

class TsharkReference : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tshark_available()) GTEST_SKIP() << "tshark not on PATH";
  }
};

// The captures shipped in tests/data/packet (see LICENSES.md there).
TEST_F(TsharkReference, ShippedCaptures) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(source_root() / "tests/data/packet")) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 30u);
  expect_all_match(compare_all(files));
}

// Crafted frames for the paths no public capture we have exercises (MPLS,
// big-endian NULL, LOOP, IPv6 chains with AH), written with libpcap so tshark
// reads the very bytes parse_frame does.
TEST_F(TsharkReference, CraftedFrames) {
  const Bytes tcp4 = tcp(1234, 80, 0x18, 1000);
  const Bytes ip4 = cat({ipv4(6, tcp4.size()), tcp4});
  const Bytes udp6 = cat({udp(5353, 5353, 4), filler(4)});
  const Bytes chain6 = cat({ipv6_ext(43, 0), ipv6_ext(51, 0), ipv6_ah(60, 4), ipv6_ext(17, 1)});
  const Bytes ip6 = cat({ipv6(0, uint16_t(chain6.size() + udp6.size())), chain6, udp6});
  const Bytes frag6 = cat({ipv6(44, 8 + 24), ipv6_fragment(6, 0, true, 42), tcp4, filler(4)});

  struct Capture {
    int dlt;
    std::vector<Bytes> frames;
  };
  const std::vector<Capture> captures = {
      {DLT_EN10MB,
       {cat({ethernet(0x8847), mpls_label(100, true), ip4}),
        cat({ethernet(0x8847), mpls_label(100, false), mpls_label(200, true), ip6}),
        cat({ethernet(0x8100), vlan_tag(5, 0x8848), mpls_label(16, true), frag6}),
        cat({ethernet(0x88A8), vlan_tag(5, 0x8100), vlan_tag(6, 0x86DD), ip6}),
        cat({ethernet(0x8864), pppoe_session(0x0021, uint16_t(ip4.size() + 2)), ip4}),
        cat({ethernet(0x86DD), ip6})}},
      {DLT_NULL, {cat({u32_be(2), ip4}), cat({u32_le(2), ip4}), cat({u32_be(30), ip6}),
                  cat({u32_le(28), ip6}), cat({u32_le(24), frag6})}},
      {DLT_LOOP, {cat({u32_be(2), ip4}), cat({u32_be(24), ip6})}},
      {DLT_LINUX_SLL, {cat({sll(0x0800), ip4}), cat({sll(0x86DD), ip6})}},
      {DLT_LINUX_SLL2, {cat({sll2(0x0800), ip4}), cat({sll2(0x86DD), frag6})}},
      {DLT_RAW, {ip4, ip6}},
      {DLT_IPV4, {ip4}},
      {DLT_IPV6, {ip6, frag6}},
  };
  const fs::path dir = fs::temp_directory_path() / ("flowscore-crafted-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<fs::path> files;
  for (const Capture& c : captures) {
    const fs::path file = dir / (std::string(pcap_datalink_val_to_name(c.dlt)) + ".pcap");
    pcap_t* dead = pcap_open_dead(c.dlt, 65535);
    pcap_dumper_t* dumper = pcap_dump_open(dead, file.c_str());
    ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
    for (const Bytes& f : c.frames) {
      pcap_pkthdr h{};
      h.caplen = h.len = uint32_t(f.size());
      pcap_dump(reinterpret_cast<u_char*>(dumper), &h, f.data());
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
    files.push_back(file);
  }
  const Tally t = compare_all(files);
  expect_all_match(t);
  EXPECT_EQ(t.matched_ip, t.frames);  // every crafted frame is IP: nothing vacuous
  fs::remove_all(dir);
}

// A wider selection from the shared corpus; skipped where it is absent.
TEST_F(TsharkReference, SharedCorpusSelection) {
  const fs::path corpus = source_root() / "../shared/data/pcaps";
  if (!fs::exists(corpus)) GTEST_SKIP() << corpus << " absent";
  // Larger captures, or ones whose licence keeps them out of tests/data.
  const char* selection[] = {
      "A/nDPI/ultrasurf.pcap",                 // 802.1Q
      "A/nDPI/zoom.pcap",                      // QinQ
      "A/nDPI/discord_mid_flow.pcap",          // QinQ + PPPoE sessions
      "B/markofu/EvilFingers/Praveen/2Capsule_Sticker_Remote_SQL_Injection_Vulnerability.pcap",  // PPPoE
      "A/nDPI/ajp.pcap",                       // FabricPath + 802.1Q
      "A/nDPI/dns_fragmented.pcap",            // IPv4 and IPv6 fragments
      "B/StopDDoS/amp.dns.RRSIG.fragmented.pcap",  // 1200 IPv4 fragments
      "B/suricata-verify/tests/ipv6-evasion/ipv6-malformed-fragments-15/frag-15.pcap",
      "B/suricata-verify/tests/ipv6-evasion/ipv6-dos-with-ext-headers-5/denial6-5.pcap",  // AH chains
      "A/nDPI/gnutella.pcap",                  // IPv6 hop-by-hop
      "A/nDPI/ipsec_isakmp_esp.pcap",          // ESP: no ports
      "A/suricata-verify/tests/defrag/bug-6942-6887-defrag-eth-ip-gre-ppp-ip-udp-data/"
      "eth-ip-gre-ppp-max-ip-packet.pcap",     // GRE
      "A/suricata-verify/tests/vxlan-decoder-03/vxlan.pcap",
      "A/nDPI/KakaoTalk_chat.pcap",            // Linux cooked v1
      "A/nDPI/reasm_crash_anon.pcapng",        // SLL pcapng, a bogus TCP data offset
      "A/zeek/tls/openjdk-25.0.2-zeek.org.pcap",  // Linux cooked v2
      "A/nDPI/psiphon3.pcap",                  // LINKTYPE_RAW
      "B/suricata-verify/tests/dnp3/dnp3-flood/input.pcap",  // LINKTYPE_IPV4
      "A/nDPI/opc-ua.pcap",                    // NULL
      "B/suricata-verify/tests/smb-length-5770/input.pcap",  // NULL, 3500 frames
      "A/nDPI/fuzz-2006-09-29-28586.pcap",     // fuzzed: malformed TCP headers
      "B/markofu/EvilFingers/NMAP_PCAPS/NMAP_SCAN_ANALYSIS/IP_PROTOCOL_SCAN/IP_PROTOCOL_SCAN.pcap",
  };
  std::vector<fs::path> files;
  for (const char* rel : selection) files.push_back(corpus / rel);
  expect_all_match(compare_all(files));
}

}  // namespace
}  // namespace flowscore::test
