// LabelRules against docs/LABELS.md: every rule feature, the generator
// format, errors with line numbers, and the fast 5-tuple index against a
// linear scan written from the document.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "flowscore/labels.hpp"

namespace flowscore {
namespace {

constexpr uint64_t kNsPerS = 1'000'000'000ull;
constexpr uint64_t kT0 = 1'700'000'000ull;  // seconds; all test flows live near it

IpAddress addr(const std::string& text) {
  IpAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), a.bytes.data()), 1) << text;
  return a;
}

// A flow as the flow table would report it. Times in ns since the epoch.
FlowRecord flow(uint8_t proto, const std::string& src, uint16_t sport, const std::string& dst,
                uint16_t dport, uint64_t first_ns, uint64_t last_ns) {
  FlowRecord r{};
  r.proto = proto;
  r.ip_version = src.find(':') == std::string::npos ? 4 : 6;
  r.src = {addr(src), sport};
  r.dst = {addr(dst), dport};
  r.stats.first_ts_ns = first_ns;
  r.stats.last_ts_ns = last_ns;
  return r;
}

// An ICMP flow: `type`/`code` are the initiator's first; the endpoint ports
// are Community ID's (type, counterpart type) as flow_key.hpp describes.
FlowRecord icmp_flow(const std::string& src, const std::string& dst, uint8_t type, uint8_t code,
                     uint16_t counterpart, uint64_t first_ns, uint64_t last_ns) {
  FlowRecord r = flow(1, src, type, dst, counterpart, first_ns, last_ns);
  r.icmp_type = type;
  r.icmp_code = code;
  return r;
}

FlowRecord tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
               uint64_t first_s = kT0, uint64_t last_s = kT0 + 1) {
  return flow(6, src, sport, dst, dport, first_s * kNsPerS, last_s * kNsPerS);
}

LabelRules parse_ok(const std::string& text, std::vector<std::string> inputs = {},
                    std::string default_label = "benign") {
  std::istringstream in(text);
  std::string error;
  auto rules = LabelRules::parse(in, "labels.csv", std::move(inputs), std::move(default_label),
                                 error);
  EXPECT_TRUE(rules.has_value()) << error;
  if (!rules) std::abort();
  return std::move(*rules);
}

std::string parse_error(const std::string& text, std::vector<std::string> inputs = {}) {
  std::istringstream in(text);
  std::string error;
  auto rules = LabelRules::parse(in, "labels.csv", std::move(inputs), "benign", error);
  EXPECT_FALSE(rules.has_value());
  return error;
}

constexpr const char* kGenHeader = "label,class,proto,src_ip,src_port,dst_ip,dst_port,start,end\n";

// ---------------------------------------------------------------- rules

TEST(LabelRules, SourceCidrV4AndV6) {
  const auto rules = parse_ok(
      "label,src\n"
      "lan,10.0.0.0/8\n"
      "host,192.0.2.7\n"
      "v6,2001:db8::/32\n");
  EXPECT_EQ(rules.format(), LabelFormat::kRules);
  EXPECT_EQ(rules.label_for(tcp("10.255.255.255", 1, "1.1.1.1", 2), 0), "lan");
  EXPECT_EQ(rules.label_for(tcp("11.0.0.0", 1, "1.1.1.1", 2), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("9.255.255.255", 1, "1.1.1.1", 2), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("192.0.2.7", 1, "1.1.1.1", 2), 0), "host");
  EXPECT_EQ(rules.label_for(tcp("192.0.2.8", 1, "1.1.1.1", 2), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("2001:db8:ffff::1", 1, "2001:db9::1", 2), 0), "v6");
  EXPECT_EQ(rules.label_for(tcp("2001:db9::1", 1, "2001:db8::1", 2), 0), "benign");
}

TEST(LabelRules, V4PrefixNeverMatchesV6Flow) {
  // ::a00:1 has the bytes of 10.0.0.1 nowhere but the address family differs.
  const auto rules = parse_ok("label,src\nall4,0.0.0.0/0\n");
  EXPECT_EQ(rules.label_for(tcp("1.2.3.4", 1, "5.6.7.8", 2), 0), "all4");
  EXPECT_EQ(rules.label_for(tcp("::1", 1, "::2", 2), 0), "benign");
}

TEST(LabelRules, NonOctetPrefix) {
  const auto rules = parse_ok("label,dst\nx,172.16.0.0/12\ny,2001:db8:8000::/33\n");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "172.31.255.255", 2), 0), "x");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "172.32.0.0", 2), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("::1", 1, "2001:db8:ffff::", 2), 0), "y");
  EXPECT_EQ(rules.label_for(tcp("::1", 1, "2001:db8:7fff::", 2), 0), "benign");
}

TEST(LabelRules, PortsSingleRangeAndWildcard) {
  const auto rules = parse_ok(
      "label,src_port,dst_port\n"
      "web,*,80\n"
      "high,1024-2048,\n");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 5, "2.2.2.2", 80), 0), "web");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 5, "2.2.2.2", 81), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1024, "2.2.2.2", 9), 0), "high");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 2048, "2.2.2.2", 9), 0), "high");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1023, "2.2.2.2", 9), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 2049, "2.2.2.2", 9), 0), "benign");
}

TEST(LabelRules, ProtocolByNameOrNumber) {
  const auto rules = parse_ok("label,proto\nu,UDP\nt,6\ns,sctp\n");
  const auto udp = flow(17, "1.1.1.1", 1, "2.2.2.2", 2, kT0 * kNsPerS, kT0 * kNsPerS);
  const auto sctp = flow(132, "1.1.1.1", 1, "2.2.2.2", 2, kT0 * kNsPerS, kT0 * kNsPerS);
  const auto gre = flow(47, "1.1.1.1", 0, "2.2.2.2", 0, kT0 * kNsPerS, kT0 * kNsPerS);
  EXPECT_EQ(rules.label_for(udp, 0), "u");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "2.2.2.2", 2), 0), "t");
  EXPECT_EQ(rules.label_for(sctp, 0), "s");
  EXPECT_EQ(rules.label_for(gre, 0), "benign");
}

TEST(LabelRules, TimeWindowOverlapInclusiveAndOpenEnds) {
  const auto rules = parse_ok(
      "label,start,end,dst_port\n"
      "closed,1700000100,1700000200.5,1\n"
      "from,1700000100,,2\n"
      "until,,1700000100,3\n");
  auto at = [](uint16_t port, uint64_t first_ns, uint64_t last_ns) {
    return flow(6, "1.1.1.1", 9, "2.2.2.2", port, first_ns, last_ns);
  };
  const uint64_t s = (kT0 + 100) * kNsPerS, e = (kT0 + 200) * kNsPerS + kNsPerS / 2;
  EXPECT_EQ(rules.label_for(at(1, s - 10, s), 0), "closed");       // ends at the window start
  EXPECT_EQ(rules.label_for(at(1, s - 10, s - 1), 0), "benign");   // ends 1 ns before
  EXPECT_EQ(rules.label_for(at(1, e, e + 10), 0), "closed");       // starts at the window end
  EXPECT_EQ(rules.label_for(at(1, e + 1, e + 10), 0), "benign");   // starts 1 ns after
  EXPECT_EQ(rules.label_for(at(1, s - 10, e + 10), 0), "closed");  // spans the window
  EXPECT_EQ(rules.label_for(at(2, ~0ull - 5, ~0ull - 1), 0), "from");
  EXPECT_EQ(rules.label_for(at(2, s - 10, s - 1), 0), "benign");
  EXPECT_EQ(rules.label_for(at(3, 0, 0), 0), "until");
  EXPECT_EQ(rules.label_for(at(3, s + 1, s + 2), 0), "benign");
}

TEST(LabelRules, NanosecondExactTimes) {
  const auto rules = parse_ok("label,end\nearly,1700000000.000000001\n");
  EXPECT_EQ(rules.label_for(flow(6, "1.1.1.1", 1, "2.2.2.2", 2, kT0 * kNsPerS + 1, kT0 * kNsPerS + 9), 0),
            "early");
  EXPECT_EQ(rules.label_for(flow(6, "1.1.1.1", 1, "2.2.2.2", 2, kT0 * kNsPerS + 2, kT0 * kNsPerS + 9), 0),
            "benign");
}

TEST(LabelRules, FileByBasenameAndIndex) {
  const std::vector<std::string> inputs = {"/data/day1/a.pcap", "b.pcap", "/other/a.pcap"};
  const auto rules = parse_ok("file,label\nb.pcap,attack\na.pcap,normal\n", inputs);
  const auto f = tcp("1.1.1.1", 1, "2.2.2.2", 2);
  EXPECT_EQ(rules.label_for(f, 0), "normal");
  EXPECT_EQ(rules.label_for(f, 1), "attack");
  EXPECT_EQ(rules.label_for(f, 2), "normal");  // same basename, other directory
  const auto by_index = parse_ok("label,file\nattack,1\n", inputs);
  EXPECT_EQ(by_index.label_for(f, 1), "attack");
  EXPECT_EQ(by_index.label_for(f, 0), "benign");
}

TEST(LabelRules, OneLabelPerInputFromCommandLine) {
  std::string error;
  const auto rules = LabelRules::from_input_labels({"a.pcap", "b.pcap", "c.pcap"},
                                                   {"benign", "ddos", ""}, "unknown", error);
  ASSERT_TRUE(rules) << error;
  const auto f = tcp("1.1.1.1", 1, "2.2.2.2", 2);
  EXPECT_EQ(rules->label_for(f, 0), "benign");
  EXPECT_EQ(rules->label_for(f, 1), "ddos");
  EXPECT_EQ(rules->label_for(f, 2), "unknown");
  EXPECT_FALSE(LabelRules::from_input_labels({"a.pcap"}, {"x", "y"}, "benign", error));
  EXPECT_NE(error.find("2 per-file labels for 1 inputs"), std::string::npos) << error;
  EXPECT_FALSE(LabelRules::from_input_labels({"a.pcap"}, {"bad label"}, "benign", error));
  EXPECT_NE(error.find("a.pcap"), std::string::npos) << error;
}

TEST(LabelRules, FirstMatchWins) {
  const auto narrow_first = parse_ok("label,src,dst_port\nscan,10.0.0.5,*\nlan,10.0.0.0/8,*\n");
  const auto broad_first = parse_ok("label,src,dst_port\nlan,10.0.0.0/8,*\nscan,10.0.0.5,*\n");
  const auto f = tcp("10.0.0.5", 1, "2.2.2.2", 2);
  EXPECT_EQ(narrow_first.label_for(f, 0), "scan");
  EXPECT_EQ(broad_first.label_for(f, 0), "lan");
  const auto stats = broad_first.stats();
  ASSERT_EQ(stats.rules.size(), 2u);
  EXPECT_EQ(stats.rules[0].matches, 1u);
  EXPECT_EQ(stats.rules[1].matches, 0u);
  EXPECT_EQ(stats.rules_matching_nothing(), 1u);
}

TEST(LabelRules, OrientationInitiatorOnlyUnlessBidirectional) {
  const auto rules = parse_ok(
      "label,src,src_port,dst,dst_port,bidirectional\n"
      "oneway,10.0.0.1,*,10.0.0.2,80,0\n"
      "both,10.0.0.3,*,10.0.0.4,443,1\n");
  EXPECT_EQ(rules.label_for(tcp("10.0.0.1", 5000, "10.0.0.2", 80), 0), "oneway");
  EXPECT_EQ(rules.label_for(tcp("10.0.0.2", 80, "10.0.0.1", 5000), 0), "benign");
  EXPECT_EQ(rules.label_for(tcp("10.0.0.3", 5000, "10.0.0.4", 443), 0), "both");
  EXPECT_EQ(rules.label_for(tcp("10.0.0.4", 443, "10.0.0.3", 5000), 0), "both");
  // Reversed addresses but the port on the wrong side: no match.
  EXPECT_EQ(rules.label_for(tcp("10.0.0.4", 5000, "10.0.0.3", 443), 0), "benign");
}

TEST(LabelRules, IcmpPortsAreTypeAndCode) {
  const auto rules = parse_ok(
      "label,proto,src,src_port,dst_port,bidirectional\n"
      "ping,icmp,10.0.0.1,8,0,1\n"
      "unreach,icmp,*,3,3,0\n");
  const uint64_t t = kT0 * kNsPerS;
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.1", "10.0.0.9", 8, 0, 0, t, t), 0), "ping");
  // Capture began with the reply: initiator 10.0.0.9 sent type 0, counterpart 8.
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.9", "10.0.0.1", 0, 0, 8, t, t), 0), "ping");
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.7", "10.0.0.9", 3, 3, 3, t, t), 0), "unreach");
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.7", "10.0.0.9", 3, 1, 1, t, t), 0), "benign");
}

TEST(LabelRules, DefaultLabelAndStats) {
  const auto rules = parse_ok("label,dst_port\nweb,80\nnever,7\n", {}, "background");
  EXPECT_EQ(rules.default_label(), "background");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "2.2.2.2", 80), 0), "web");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "2.2.2.2", 80), 0), "web");
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "2.2.2.2", 22), 0), "background");
  const auto s = rules.stats();
  EXPECT_EQ(s.flows, 3u);
  EXPECT_EQ(s.unmatched, 1u);
  EXPECT_DOUBLE_EQ(s.unmatched_fraction(), 1.0 / 3.0);
  ASSERT_EQ(s.rules.size(), 2u);
  EXPECT_EQ(s.rules[0].line, 2u);
  EXPECT_EQ(s.rules[0].label, "web");
  EXPECT_EQ(s.rules[0].matches, 2u);
  EXPECT_EQ(s.rules[1].line, 3u);
  EXPECT_EQ(s.rules_matching_nothing(), 1u);
}

TEST(LabelRules, CommentsBlankLinesCrlfAndSpaces) {
  const auto rules = parse_ok(
      "# labels for the lab capture\r\n"
      "\r\n"
      "label , dst_port\r\n"
      "  # web servers\n"
      " web , 80 \r\n");
  EXPECT_EQ(rules.rule_count(), 1u);
  EXPECT_EQ(rules.stats().rules[0].line, 5u);
  EXPECT_EQ(rules.label_for(tcp("1.1.1.1", 1, "2.2.2.2", 80), 0), "web");
}

TEST(LabelRules, LoadFromFile) {
  const std::string path = ::testing::TempDir() + "flowscore_labels_test.csv";
  { std::ofstream(path) << "file,label\nb.pcap,attack\n"; }
  std::string error;
  auto rules = LabelRules::load(path, {"a.pcap", "b.pcap"}, "benign", error);
  ASSERT_TRUE(rules) << error;
  EXPECT_EQ(rules->label_for(tcp("1.1.1.1", 1, "2.2.2.2", 2), 1), "attack");
  std::remove(path.c_str());
  EXPECT_FALSE(LabelRules::load(path, {}, "benign", error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

// ---------------------------------------------------------------- errors

void expect_error(const std::string& text, const std::string& where, const std::string& what,
                  std::vector<std::string> inputs = {}) {
  const std::string error = parse_error(text, std::move(inputs));
  EXPECT_EQ(error.rfind(where, 0), 0u) << "error: " << error;
  EXPECT_NE(error.find(what), std::string::npos) << "error: " << error;
}

// Issue 14 §3: text from input files reached the terminal with raw control
// bytes. A label file's own text in an error comes back printable.
TEST(LabelRulesErrors, QuoteTheFilesTextWithoutControlBytes) {
  const std::string error = parse_error("label,\x1b]0;pwned\x07\x1b[2J\xff\n", {});
  EXPECT_EQ(error.find('\x1b'), std::string::npos) << error;
  EXPECT_EQ(error.find('\x07'), std::string::npos) << error;
  EXPECT_NE(error.find("\\x1b]0;pwned\\x07\\x1b[2J\\xff"), std::string::npos) << error;
}

TEST(LabelRulesErrors, NameTheLineAndTheProblem) {
  expect_error("", "labels.csv: empty", "no header");
  expect_error("# only a comment\n\n", "labels.csv: empty", "no header");
  expect_error("label,dst_port\n", "labels.csv", "not followed by any rule");
  expect_error(kGenHeader, "labels.csv", "not followed by any row");
  expect_error("label,colour\n", "labels.csv:1:", "unknown column 'colour'");
  expect_error("src,dst\n", "labels.csv:1:", "no 'label' column");
  expect_error("label,src,src\n", "labels.csv:1:", "appears twice");
  expect_error("label,src\nok,10.0.0.0/8\nbad,10.0.0.0/33\n", "labels.csv:3:", "bad CIDR");
  expect_error("label,src\nbad,10.1.0.0/8\n", "labels.csv:2:", "bits set beyond");
  expect_error("label,dst\nbad,2001:db8::/129\n", "labels.csv:2:", "0..128");
  expect_error("label,dst\nbad,10.0.0.256\n", "labels.csv:2:", "bad address");
  expect_error("label,src_port\n\n# c\nbad,5-3\n", "labels.csv:4:", "low end above high end");
  expect_error("label,src_port\nbad,70000\n", "labels.csv:2:", "bad port");
  expect_error("label,dst_port\nbad,80-\n", "labels.csv:2:", "bad port range");
  expect_error("label,proto\nbad,tcpp\n", "labels.csv:2:", "bad protocol");
  expect_error("label,proto\nbad,256\n", "labels.csv:2:", "0..255");
  expect_error("label,start\nbad,yesterday\n", "labels.csv:2:", "bad time");
  expect_error("label,start\nbad,1.0000000001\n", "labels.csv:2:", "bad time");
  expect_error("label,start,end\nbad,20,10\n", "labels.csv:2:", "ends before it starts");
  expect_error("label,bidirectional\nbad,yes\n", "labels.csv:2:", "bidirectional");
  expect_error("label,dst_port\nbad,80,81\n", "labels.csv:2:", "3 cells, the header has 2");
  expect_error("label,dst_port\n,80\n", "labels.csv:2:", "bad label");
  expect_error("label,dst_port\nweb server,80\n", "labels.csv:2:", "bad label");
  expect_error("label,file\nx,c.pcap\n", "labels.csv:2:", "not one of the inputs (a.pcap, b.pcap)",
               {"/x/a.pcap", "b.pcap"});
  expect_error("label,file\nx,2\n", "labels.csv:2:", "not an input index", {"a.pcap", "b.pcap"});
  expect_error("label,file\nx,a.pcap\n", "labels.csv:2:", "none given");
}

TEST(LabelRulesErrors, GeneratorRows) {
  const std::string h = kGenHeader;
  expect_error(h + "syn,attack,6,10.0.0.1,1,10.0.0.2,80,1,2,9\n", "labels.csv:2:", "10 cells");
  expect_error(h + "syn,attack,6,10.0.0.1,1,10.0.0.300,80,1,2\n", "labels.csv:2:", "bad address");
  expect_error(h + "syn,attack,6,10.0.0.1,1,::1,80,1,2\n", "labels.csv:2:", "different IP versions");
  expect_error(h + "syn,attack,6,10.0.0.1,1/8,10.0.0.2,80,1,2\n", "labels.csv:2:", "bad port");
  expect_error(h + "syn,attack,6,10.0.0.1,1,10.0.0.2,80,3,2\n", "labels.csv:2:", "end is before start");
  expect_error(h + "syn,attack,6,10.0.0.1,1,10.0.0.2,80,1,2\nx,y,999,10.0.0.1,1,10.0.0.2,80,1,2\n",
               "labels.csv:3:", "bad protocol");
  // A generator-like header that differs falls to the rules grammar, which
  // names the stray column.
  expect_error("label,class,proto,src_ip\n", "labels.csv:1:", "unknown column 'class'");
}

TEST(LabelRulesErrors, DefaultLabelIsValidated) {
  std::istringstream in("label,dst_port\nweb,80\n");
  std::string error;
  EXPECT_FALSE(LabelRules::parse(in, "x", {}, "", error));
  EXPECT_NE(error.find("default label"), std::string::npos) << error;
}

TEST(LabelRulesErrors, OverlongLineIsRefused) {
  const std::string error = parse_error("label,dst_port\n" + std::string(10000, 'a') + ",80\n");
  EXPECT_NE(error.find("labels.csv:2: line longer than"), std::string::npos) << error;
}

// Mutated label files: every outcome is a loaded table or an error that
// names the source, never a crash (run under ASan/UBSan in CI).
TEST(LabelRulesErrors, MutatedFilesLoadOrFailCleanly) {
  const std::string seeds[] = {
      std::string(kGenHeader) + "syn,attack,6,10.0.0.1,1,10.0.0.2,80,1700000000.5,1700000001\n"
                                "p6,benign,58,2001:db8::1,128,2001:db8::2,0,1,2\n",
      "label,file,src,dst,src_port,dst_port,proto,start,end,bidirectional\n"
      "a,a.pcap,10.0.0.0/8,::/0,1-2,*,tcp,1,2,1\n",
  };
  const std::string alphabet = ",.:/-*#\r\n 0123456789abcdefx\t\xff";
  std::mt19937_64 rng(99);
  int loaded = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string text = seeds[i % 2];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = alphabet[rng() % alphabet.size()]; break;
      }
    }
    std::istringstream in(text);
    std::string error;
    auto rules = LabelRules::parse(in, "fuzz.csv", {"a.pcap"}, "benign", error);
    if (rules) {
      ++loaded;
      (void)rules->label_for(tcp("10.0.0.1", 1, "10.0.0.2", 80), 0);
    } else {
      EXPECT_EQ(error.rfind("fuzz.csv", 0), 0u) << error;
    }
  }
  EXPECT_GT(loaded, 100);  // the mutations do not only produce garbage
}

// ---------------------------------------------------------------- generator

TEST(GeneratorLabels, ExactTupleEitherOrientationOverlappingTime) {
  const auto rules = parse_ok(std::string(kGenHeader) +
                              "web,benign,6,10.0.0.1,40000,10.0.0.2,443,1700000000.5,1700000003\n"
                              "dns,benign,17,10.0.0.1,5353,10.0.0.53,53,1700000001,1700000001\n");
  EXPECT_EQ(rules.format(), LabelFormat::kGenerator);
  EXPECT_EQ(rules.rule_count(), 2u);
  const uint64_t t = kT0 * kNsPerS;
  auto f = [&](uint8_t p, const char* s, uint16_t sp, const char* d, uint16_t dp, uint64_t a,
               uint64_t b) { return flow(p, s, sp, d, dp, t + a, t + b); };
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.1", 40000, "10.0.0.2", 443, kNsPerS, 2 * kNsPerS), 0), "web");
  // The capture started mid-flow: the server looks like the initiator.
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.2", 443, "10.0.0.1", 40000, kNsPerS, 2 * kNsPerS), 0), "web");
  // Same tuple, outside the window (ends 1 ns before it starts).
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.1", 40000, "10.0.0.2", 443, 0, kNsPerS / 2 - 1), 0), "benign");
  // One field off: port, protocol, address.
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.1", 40001, "10.0.0.2", 443, kNsPerS, kNsPerS), 0), "benign");
  EXPECT_EQ(rules.label_for(f(17, "10.0.0.1", 40000, "10.0.0.2", 443, kNsPerS, kNsPerS), 0), "benign");
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.3", 40000, "10.0.0.2", 443, kNsPerS, kNsPerS), 0), "benign");
  // Ports must stay with their addresses when the orientation flips.
  EXPECT_EQ(rules.label_for(f(6, "10.0.0.2", 40000, "10.0.0.1", 443, kNsPerS, kNsPerS), 0), "benign");
  // A single-packet flow exactly at a zero-length window.
  EXPECT_EQ(rules.label_for(f(17, "10.0.0.53", 53, "10.0.0.1", 5353, kNsPerS, kNsPerS), 0), "dns");
  const auto s = rules.stats();
  EXPECT_EQ(s.rules[0].matches, 2u);
  EXPECT_EQ(s.rules[1].matches, 1u);
  EXPECT_EQ(s.unmatched, 5u);
}

TEST(GeneratorLabels, PortReuseSelectsTheWindow) {
  const auto rules = parse_ok(std::string(kGenHeader) +
                              "ntp,benign,17,10.0.0.1,123,10.0.0.9,123,1700000000,1700000000.01\n"
                              "amp,ntp_amplification,17,10.0.0.1,123,10.0.0.9,123,1700000064,1700000065\n"
                              "ntp,benign,17,10.0.0.1,123,10.0.0.9,123,1700000128,1700000128.01\n");
  auto at = [](uint64_t s) { return flow(17, "10.0.0.9", 123, "10.0.0.1", 123, s * kNsPerS, s * kNsPerS); };
  EXPECT_EQ(rules.label_for(at(kT0), 0), "ntp");
  EXPECT_EQ(rules.label_for(at(kT0 + 64), 0), "amp");
  EXPECT_EQ(rules.label_for(at(kT0 + 128), 0), "ntp");
  EXPECT_EQ(rules.label_for(at(kT0 + 100), 0), "benign");
  EXPECT_EQ(rules.stats().ambiguous, 0u);
}

TEST(GeneratorLabels, OverlappingRowsEarliestInFileWinsAndIsCounted) {
  const auto rules = parse_ok(std::string(kGenHeader) +
                              "late,benign,6,10.0.0.1,1,10.0.0.2,2,1700000005,1700000009\n"
                              "early,attack,6,10.0.0.1,1,10.0.0.2,2,1700000000,1700000006\n");
  // Overlaps both rows: the first row in the file wins, whatever its start.
  EXPECT_EQ(rules.label_for(tcp("10.0.0.1", 1, "10.0.0.2", 2, kT0 + 4, kT0 + 8), 0), "late");
  EXPECT_EQ(rules.label_for(tcp("10.0.0.1", 1, "10.0.0.2", 2, kT0, kT0 + 1), 0), "early");
  EXPECT_EQ(rules.stats().ambiguous, 1u);
}

TEST(GeneratorLabels, IcmpEitherOrientation) {
  const auto rules = parse_ok(std::string(kGenHeader) +
                              "icmp_flood,attack,1,10.0.0.66,8,10.0.0.2,0,1700000000,1700000010\n"
                              "ping6,benign,58,2001:db8::1,128,2001:db8::2,0,1700000000,1700000010\n");
  const uint64_t t = (kT0 + 1) * kNsPerS;
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.66", "10.0.0.2", 8, 0, 0, t, t), 0), "icmp_flood");
  // Only the replies were captured: initiator is the victim, type 0, counterpart 8.
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.2", "10.0.0.66", 0, 0, 8, t, t), 0), "icmp_flood");
  // Another type between the same hosts is another flow.
  EXPECT_EQ(rules.label_for(icmp_flow("10.0.0.66", "10.0.0.2", 13, 0, 14, t, t), 0), "benign");
  FlowRecord v6 = icmp_flow("2001:db8::2", "2001:db8::1", 129, 0, 128, t, t);
  v6.proto = 58;
  EXPECT_EQ(rules.label_for(v6, 0), "ping6");
}

// ------------------------------------------------ fast paths vs linear scans

struct GenRow {
  std::string label;
  uint8_t proto;
  std::string src, dst;
  uint16_t sport, dport;
  uint64_t start_ns, end_ns;
};

std::string ns_text(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%09llu", static_cast<unsigned long long>(ns / kNsPerS),
                static_cast<unsigned long long>(ns % kNsPerS));
  return buf;
}

// docs/LABELS.md, "Generator label file", read literally: the first row in
// file order whose 5-tuple equals the flow's in either orientation and whose
// [start, end] overlaps the flow's [first, last].
std::string reference_generator_label(const std::vector<GenRow>& rows, const FlowRecord& r) {
  const bool icmp = r.proto == 1 || r.proto == 58;
  for (const auto& row : rows) {
    if (row.proto != r.proto) continue;
    if (!(r.stats.first_ts_ns <= row.end_ns && row.start_ns <= r.stats.last_ts_ns)) continue;
    const IpAddress s = addr(row.src), d = addr(row.dst);
    const bool forward = s == r.src.addr && d == r.dst.addr &&
                         row.sport == (icmp ? r.icmp_type : r.src.port) &&
                         row.dport == (icmp ? r.icmp_code : r.dst.port);
    const bool reversed = s == r.dst.addr && d == r.src.addr && row.sport == r.dst.port &&
                          row.dport == (icmp ? r.icmp_code : r.src.port);
    if (forward || reversed) return row.label;
  }
  return "benign";
}

TEST(GeneratorLabels, IndexAgreesWithLinearScanOnRandomFlows) {
  std::mt19937_64 rng(20261127);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  // Small pools so tuples repeat (port reuse) and windows collide.
  const std::vector<std::string> hosts = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "192.0.2.1"};
  const std::vector<std::string> hosts6 = {"2001:db8::1", "2001:db8::2", "fe80::1"};
  const std::vector<std::string> labels = {"web", "dns", "syn_flood", "scan", "c2"};
  const uint8_t protos[] = {6, 17, 1, 58};
  std::vector<GenRow> rows;
  std::string text = kGenHeader;
  for (int i = 0; i < 3000; ++i) {
    GenRow row;
    row.proto = protos[pick(4)];
    const auto& pool = row.proto == 58 || pick(5) == 0 ? hosts6 : hosts;
    if (row.proto == 1 && &pool == &hosts6) row.proto = 58;
    if (row.proto == 58 && &pool == &hosts) row.proto = 1;
    row.src = pool[pick(pool.size())];
    row.dst = pool[pick(pool.size())];
    row.sport = static_cast<uint16_t>(row.proto == 1 || row.proto == 58 ? pick(3) * 8 : 1000 + pick(4));
    row.dport = static_cast<uint16_t>(row.proto == 1 || row.proto == 58 ? pick(2) : 80 + pick(3));
    row.start_ns = kT0 * kNsPerS + pick(100 * kNsPerS);
    row.end_ns = row.start_ns + pick(5) * pick(3 * kNsPerS);
    row.label = labels[pick(labels.size())];
    text += row.label + ",cls," + std::to_string(row.proto) + "," + row.src + "," +
            std::to_string(row.sport) + "," + row.dst + "," + std::to_string(row.dport) + "," +
            ns_text(row.start_ns) + "," + ns_text(row.end_ns) + "\n";
    rows.push_back(row);
  }
  const auto rules = parse_ok(text);
  int matched = 0, reversed_matched = 0;
  for (int i = 0; i < 20000; ++i) {
    const GenRow& base = rows[pick(rows.size())];
    const bool reverse = pick(2) == 0;
    const bool icmp = base.proto == 1 || base.proto == 58;
    // Near the row's window, sometimes just outside it.
    const uint64_t first = base.start_ns - kNsPerS + pick(3 * kNsPerS);
    const uint64_t last = first + pick(2) * pick(kNsPerS);
    FlowRecord r;
    if (icmp) {
      // Seen from the responder: type 0 (echo reply), counterpart = row's type.
      r = reverse ? icmp_flow(base.dst, base.src, 0, static_cast<uint8_t>(base.dport), base.sport, first, last)
                  : icmp_flow(base.src, base.dst, static_cast<uint8_t>(base.sport),
                              static_cast<uint8_t>(base.dport), 99, first, last);
      r.proto = base.proto;
    } else {
      r = reverse ? flow(base.proto, base.dst, base.dport, base.src, base.sport, first, last)
                  : flow(base.proto, base.src, base.sport, base.dst, base.dport, first, last);
    }
    if (pick(10) == 0) r.src.port ^= 1;  // a near miss
    const std::string expected = reference_generator_label(rows, r);
    ASSERT_EQ(rules.label_for(r, 0), expected) << "flow " << i;
    matched += expected != "benign";
    reversed_matched += reverse && expected != "benign";
  }
  // The random flows exercise both outcomes and both orientations.
  EXPECT_GT(matched, 5000);
  EXPECT_GT(reversed_matched, 2000);
  EXPECT_LT(matched, 19000);
}

// An IPv4 CIDR rule read with plain integer arithmetic: the twin of the
// byte-wise prefix compare inside LabelRules.
struct V4Rule {
  std::string label;
  uint32_t net = 0;
  int len = -1;  // -1: any source
  int lo = 0, hi = 65535;
  int proto = -1;
  bool bidir = false;
  uint32_t file = ~0u;
  bool in_net(uint32_t a) const {
    if (len < 0) return true;
    const uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
    return (a & mask) == net;
  }
};

std::string v4_text(uint32_t a) {
  in_addr x{htonl(a)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &x, buf, sizeof buf);
  return buf;
}

TEST(LabelRules, RuleScanAgreesWithIntegerTwinOnRandomFlows) {
  std::mt19937_64 rng(7);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  const std::vector<std::string> inputs = {"a.pcap", "b.pcap", "c.pcap"};
  std::vector<V4Rule> rules;
  std::string text = "label,src,src_port,proto,bidirectional,file\n";
  for (int i = 0; i < 40; ++i) {
    V4Rule r;
    r.label = "r";
    r.label += std::to_string(i);  // not "r" + ...: GCC 12 bug 105651 (-Wrestrict)
    r.len = static_cast<int>(pick(34)) - 1;
    if (r.len >= 0) r.net = (0x0a000000u | static_cast<uint32_t>(pick(1u << 16))) &
                            (r.len == 0 ? 0 : ~0u << (32 - r.len));
    r.lo = static_cast<int>(pick(70));
    r.hi = r.lo + static_cast<int>(pick(30));
    r.proto = pick(3) == 0 ? -1 : (pick(2) ? 6 : 17);
    r.bidir = pick(2);
    if (pick(4) == 0) r.file = static_cast<uint32_t>(pick(inputs.size()));
    rules.push_back(r);
    text += r.label + "," + (r.len < 0 ? "*" : v4_text(r.net) + "/" + std::to_string(r.len)) + "," +
            std::to_string(r.lo) + "-" + std::to_string(r.hi) + "," +
            (r.proto < 0 ? "" : std::to_string(r.proto)) + "," + (r.bidir ? "1" : "0") + "," +
            (r.file == ~0u ? "*" : inputs[r.file]) + "\n";
  }
  const auto compiled = parse_ok(text, inputs, "none");
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint32_t a = 0x0a000000u | static_cast<uint32_t>(pick(1u << 16));
    const uint32_t b = 0x0a000000u | static_cast<uint32_t>(pick(1u << 16));
    const uint16_t pa = static_cast<uint16_t>(pick(100)), pb = static_cast<uint16_t>(pick(100));
    const uint8_t proto = pick(2) ? 6 : 17;
    const uint32_t input = static_cast<uint32_t>(pick(inputs.size()));
    const FlowRecord r = flow(proto, v4_text(a), pa, v4_text(b), pb, kT0 * kNsPerS, kT0 * kNsPerS);
    std::string expected = "none";
    for (const auto& rule : rules) {
      if (rule.file != ~0u && rule.file != input) continue;
      if (rule.proto >= 0 && rule.proto != proto) continue;
      const bool fwd = rule.in_net(a) && rule.lo <= pa && pa <= rule.hi;
      const bool rev = rule.bidir && rule.in_net(b) && rule.lo <= pb && pb <= rule.hi;
      if (fwd || rev) {
        expected = rule.label;
        break;
      }
    }
    ASSERT_EQ(compiled.label_for(r, input), expected) << "flow " << i;
    matched += expected != "none";
  }
  EXPECT_GT(matched, 2000);
  EXPECT_LT(matched, 19000);
}

}  // namespace
}  // namespace flowscore
