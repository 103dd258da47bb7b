// Community ID v1 against two independent references:
//  1. the spec's published test vectors (tests/data/output/community_id_baseline.json);
//  2. tshark's own communityid post-dissector, run at test time on real
//     captures (tests/data/output/*.pcap*), every packet, seeds 0 and 1.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "flowscore/community_id.hpp"
#include "test_paths.hpp"

namespace flowscore {
namespace {

// Text address to an Endpoint; returns the IP version (0 if unparseable).
uint8_t parse_address(const std::string& text, IpAddress& out) {
  out = {};
  if (inet_pton(AF_INET, text.c_str(), out.bytes.data()) == 1) return 4;
  if (inet_pton(AF_INET6, text.c_str(), out.bytes.data()) == 1) return 6;
  return 0;
}

TEST(CommunityId, PublishedBaselineVectors) {
  std::ifstream in(test::output_data_dir() + "/community_id_baseline.json");
  ASSERT_TRUE(in) << "missing tests/data/output/community_id_baseline.json";
  const nlohmann::json vectors = nlohmann::json::parse(in);
  ASSERT_EQ(vectors.size(), 78u);
  for (const auto& v : vectors) {
    Endpoint src, dst;
    const uint8_t version = parse_address(v["saddr"].get<std::string>(), src.addr);
    ASSERT_EQ(version, parse_address(v["daddr"].get<std::string>(), dst.addr));
    const auto proto = v["proto"].get<uint8_t>();
    bool one_way = false;
    if (!v["sport"].is_null()) {
      src.port = v["sport"].get<uint16_t>();
      dst.port = v["dport"].get<uint16_t>();
      // The vectors give ICMP as (type, counterpart-or-code), the form
      // pycommunityid maps; icmp_ports() must map it the same way.
      if (proto == 1 || proto == 58) {
        const IcmpPorts p = icmp_ports(static_cast<uint8_t>(src.port),
                                       static_cast<uint8_t>(dst.port), proto == 58);
        src.port = p.src_port;
        dst.port = p.dst_port;
        one_way = p.one_way;
      }
    }
    EXPECT_EQ(community_id_v1(src, dst, proto, version, v["seed"].get<uint16_t>(), one_way),
              v["communityid"].get<std::string>())
        << v.dump();
  }
}

TEST(CommunityId, IcmpPortsFollowTheSpecTables) {
  // Request/response pairs from pycommunityid icmp.py / icmp6.py.
  const std::vector<std::pair<int, int>> v4 = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16},
                                               {16, 15}, {10, 9}, {9, 10}, {17, 18}, {18, 17}};
  const std::vector<std::pair<int, int>> v6 = {
      {128, 129}, {129, 128}, {130, 131}, {131, 130}, {133, 134}, {134, 133},
      {135, 136}, {136, 135}, {139, 140}, {140, 139}, {144, 145}, {145, 144}};
  for (int is_v6 = 0; is_v6 < 2; ++is_v6) {
    std::map<int, int> pairs;
    for (auto [a, b] : is_v6 ? v6 : v4) pairs[a] = b;
    for (int type = 0; type < 256; ++type) {
      const IcmpPorts p = icmp_ports(static_cast<uint8_t>(type), 7, is_v6);
      EXPECT_EQ(p.src_port, type);
      if (auto it = pairs.find(type); it != pairs.end()) {
        EXPECT_EQ(p.dst_port, it->second);
        EXPECT_FALSE(p.one_way);
      } else {
        EXPECT_EQ(p.dst_port, 7) << "one-way messages use the code as destination port";
        EXPECT_TRUE(p.one_way);
      }
    }
  }
}

TEST(CommunityId, RejectsUnknownIpVersion) {
  Endpoint a, b;
  std::array<char, kCommunityIdLength> out{};
  EXPECT_FALSE(community_id_v1(a, b, 6, 5, 0, false, CommunityIdBuffer(out)));
  EXPECT_EQ(community_id_v1(a, b, 6, 0, 0, false), "");
}

TEST(CommunityId, RecordUsesInitiatorTypeForOneWayRule) {
  // Echo reply seen first (capture started mid-ping): paired, so it must
  // equal the ID of the request direction. A one-way error keeps direction.
  FlowRecord reply;
  reply.ip_version = 4;
  reply.proto = 1;
  parse_address("10.0.0.9", reply.src.addr);
  parse_address("10.0.0.1", reply.dst.addr);
  reply.icmp_type = 0;
  const IcmpPorts rp = icmp_ports(0, 0, false);
  reply.src.port = rp.src_port;
  reply.dst.port = rp.dst_port;
  std::array<char, kCommunityIdLength> a{};
  ASSERT_TRUE(community_id_v1(reply, 0, CommunityIdBuffer(a)));
  Endpoint req_src{reply.dst.addr, 8}, req_dst{reply.src.addr, 0};
  EXPECT_EQ(std::string(a.data(), a.size()), community_id_v1(req_src, req_dst, 1, 4, 0, false));

  FlowRecord unreachable = reply;
  unreachable.icmp_type = 3;
  unreachable.icmp_code = 1;
  const IcmpPorts up = icmp_ports(3, 1, false);
  unreachable.src.port = up.src_port;
  unreachable.dst.port = up.dst_port;
  ASSERT_TRUE(community_id_v1(unreachable, 0, CommunityIdBuffer(a)));
  EXPECT_EQ(std::string(a.data(), a.size()),
            community_id_v1(unreachable.src, unreachable.dst, 1, 4, 0, true));
  EXPECT_NE(std::string(a.data(), a.size()),
            community_id_v1(unreachable.src, unreachable.dst, 1, 4, 0, false))
      << "10.0.0.9 sorts after 10.0.0.1, so ordering would change the ID";
}

// ---- tshark oracle ---------------------------------------------------------

bool have_tshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) parts.push_back(cur);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

const char* const kFields[] = {
    "frame.protocols", "ip.src",       "ip.dst",       "ipv6.src",     "ipv6.dst",
    "tcp.srcport",     "tcp.dstport",  "udp.srcport",  "udp.dstport",  "sctp.srcport",
    "sctp.dstport",    "icmp.type",    "icmp.code",    "icmpv6.type",  "icmpv6.code",
    "ip.proto",        "communityid"};
enum Field { kProtocols, kIpSrc, kIpDst, kIp6Src, kIp6Dst, kTcpSp, kTcpDp, kUdpSp, kUdpDp,
             kSctpSp, kSctpDp, kIcmpType, kIcmpCode, kIcmp6Type, kIcmp6Code, kIpProto, kCid,
             kFieldCount };

struct OracleCounts {
  int compared = 0, matched = 0, no_id = 0, one_way_reversed = 0;
  std::map<int, int> per_proto;
};

// One packet's tuple the way tshark's communityid dissector forms it: the
// IP header that carries the first transport layer (for tunnels the inner
// one; for ICMP errors the outer one, not the quoted packet), or the
// innermost IP header for port-less protocols.
std::string check_packet(const std::vector<std::string>& f, uint16_t seed, OracleCounts& counts,
                         std::string& expected) {
  expected = f[kCid];
  const std::vector<std::string> layers = split(f[kProtocols], ':');
  int ip_seen = 0, ip6_seen = 0;
  std::string carrier, transport;
  int carrier_index = -1;
  for (const std::string& layer : layers) {
    if (layer == "ip" || layer == "ipv6") {
      carrier = layer;
      carrier_index = layer == "ip" ? ip_seen++ : ip6_seen++;
      continue;
    }
    if (layer == "tcp" || layer == "udp" || layer == "sctp" || layer == "icmp" ||
        layer == "icmpv6") {
      transport = layer;
      break;
    }
  }
  if (carrier.empty()) return expected.empty() ? "" : "tshark gave an ID to a non-IP frame";
  const bool v6 = carrier == "ipv6";
  const auto srcs = split(f[v6 ? kIp6Src : kIpSrc], ',');
  const auto dsts = split(f[v6 ? kIp6Dst : kIpDst], ',');
  if (carrier_index >= static_cast<int>(srcs.size())) return "address index out of range";
  Endpoint src, dst;
  const uint8_t version = parse_address(srcs[carrier_index], src.addr);
  if (version != parse_address(dsts[carrier_index], dst.addr) || version == 0) return "bad address";

  uint8_t proto = 0;
  bool one_way = false;
  const auto first = [&](Field k) { return std::stoi(split(f[k], ',').at(0)); };
  if (transport == "tcp" || transport == "udp" || transport == "sctp") {
    const Field sp = transport == "tcp" ? kTcpSp : transport == "udp" ? kUdpSp : kSctpSp;
    proto = transport == "tcp" ? 6 : transport == "udp" ? 17 : 132;
    src.port = static_cast<uint16_t>(first(sp));
    dst.port = static_cast<uint16_t>(first(static_cast<Field>(sp + 1)));
  } else if (transport == "icmp" || transport == "icmpv6") {
    const bool icmp6 = transport == "icmpv6";
    proto = icmp6 ? 58 : 1;
    const IcmpPorts p = icmp_ports(static_cast<uint8_t>(first(icmp6 ? kIcmp6Type : kIcmpType)),
                                   static_cast<uint8_t>(first(icmp6 ? kIcmp6Code : kIcmpCode)),
                                   icmp6);
    src.port = p.src_port;
    dst.port = p.dst_port;
    one_way = p.one_way;
    if (one_way && std::memcmp(src.addr.bytes.data(), dst.addr.bytes.data(), 16) > 0) {
      ++counts.one_way_reversed;
    }
  } else if (!v6) {
    // Port-less IPv4 payload: tshark hashes the innermost header's protocol.
    const auto protos = split(f[kIpProto], ',');
    proto = static_cast<uint8_t>(std::stoi(protos.at(carrier_index)));
  } else {
    return "port-less IPv6 payload (not in this corpus)";
  }
  if (expected.empty()) {
    ++counts.no_id;
    return {};
  }
  ++counts.compared;
  ++counts.per_proto[proto];
  const std::string got = community_id_v1(src, dst, proto, version, seed, one_way);
  if (got == expected) {
    ++counts.matched;
    return {};
  }
  return "mismatch: got " + got + " want " + expected + " proto " + std::to_string(proto);
}

TEST(CommunityId, MatchesTsharkOnEveryPacket) {
  if (!have_tshark()) GTEST_SKIP() << "tshark not installed (scripts/setup.sh installs it)";
  std::vector<std::filesystem::path> captures;
  for (const auto& e : std::filesystem::directory_iterator(test::output_data_dir())) {
    const std::string ext = e.path().extension().string();
    if (ext == ".pcap" || ext == ".pcapng") captures.push_back(e.path());
  }
  std::sort(captures.begin(), captures.end());
  ASSERT_GE(captures.size(), 10u);

  OracleCounts total;
  for (const uint16_t seed : {uint16_t{0}, uint16_t{1}}) {
    for (const auto& capture : captures) {
      std::string cmd = "tshark -n -r '" + capture.string() + "' -o communityid.seed:" +
                        std::to_string(seed) +
                        " --enable-protocol communityid -T fields -E separator='|' "
                        "-E occurrence=a -E aggregator=,";
      for (const char* field : kFields) cmd += std::string(" -e ") + field;
      cmd += " 2>/dev/null";
      std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
      ASSERT_TRUE(pipe) << cmd;
      char line[8192];
      int packets = 0, compared_before = total.compared;
      while (fgets(line, sizeof line, pipe.get())) {
        std::string text(line);
        if (!text.empty() && text.back() == '\n') text.pop_back();
        const auto fields = split(text, '|');
        ASSERT_EQ(fields.size(), static_cast<size_t>(kFieldCount)) << text;
        ++packets;
        std::string expected;
        const std::string problem = check_packet(fields, seed, total, expected);
        EXPECT_TRUE(problem.empty()) << capture.filename() << " packet " << packets << " seed "
                                     << seed << ": " << problem << "\n  " << text;
      }
      EXPECT_GT(packets, 0) << capture;
      EXPECT_GT(total.compared, compared_before) << capture << ": no packet with a Community ID";
    }
  }
  EXPECT_EQ(total.matched, total.compared);
  // The corpus must exercise every protocol family and the one-way rule.
  for (const int proto : {1, 6, 17, 58, 103, 132}) EXPECT_GT(total.per_proto[proto], 0) << proto;
  EXPECT_GT(total.one_way_reversed, 0);
  std::printf("tshark oracle: %d/%d packet IDs match over seeds 0 and 1 (%d packets tshark gave no ID)\n",
              total.matched, total.compared, total.no_id);
  for (auto [proto, n] : total.per_proto) std::printf("  proto %d: %d\n", proto, n);
}

}  // namespace
}  // namespace flowscore
