// probe_pcap_file: link types, snap length and timestamp resolution of files
// written here with libpcap itself (or byte by byte for pcapng), and the
// messages for files it must refuse. read_capture_layout: against libpcap's
// own count and a whole-file twin, on every truncation of real captures.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "flowscore/pcap_file.hpp"
#include "frames.hpp"

namespace flowscore {
namespace {

namespace fs = std::filesystem;
using test::Bytes;

class ProbePcapFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flowscore-probe-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A one-frame capture written by libpcap with the given DLT and precision.
  std::string write_pcap(const std::string& name, int dlt, int snaplen,
                         u_int precision = PCAP_TSTAMP_PRECISION_MICRO) {
    const std::string path = (dir_ / name).string();
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, snaplen, precision);
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    EXPECT_NE(dumper, nullptr) << pcap_geterr(dead);
    const Bytes frame = test::filler(60);
    pcap_pkthdr h{};
    h.caplen = h.len = uint32_t(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &h, frame.data());
    pcap_dump_close(dumper);
    pcap_close(dead);
    return path;
  }

  std::string write_bytes(const std::string& name, const Bytes& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return path;
  }

  fs::path dir_;
};

TEST_F(ProbePcapFile, SupportedLinkTypes) {
  struct Case {
    int dlt;
    LinkType link;
    uint32_t linktype;
  };
  const Case cases[] = {
      {DLT_EN10MB, LinkType::kEthernet, 1},      {DLT_NULL, LinkType::kNull, 0},
      {DLT_LOOP, LinkType::kLoop, 108},          {DLT_LINUX_SLL, LinkType::kLinuxSll, 113},
      {DLT_LINUX_SLL2, LinkType::kLinuxSll2, 276}, {DLT_IPV4, LinkType::kIpv4, 228},
      {DLT_IPV6, LinkType::kIpv6, 229},
      // libpcap writes LINKTYPE_RAW (101) and reports DLT_RAW (12) back.
      {DLT_RAW, LinkType::kRaw, 101},
  };
  for (const Case& c : cases) {
    PcapFileInfo info;
    std::string error;
    ASSERT_TRUE(probe_pcap_file(write_pcap("l.pcap", c.dlt, 1518), info, error)) << error;
    EXPECT_EQ(info.link, c.link);
    EXPECT_EQ(info.pcap_linktype, c.linktype);
    EXPECT_EQ(info.snaplen, 1518u);
    EXPECT_FALSE(info.nanosecond);
  }
}

TEST_F(ProbePcapFile, NanosecondPcap) {
  PcapFileInfo info;
  std::string error;
  ASSERT_TRUE(probe_pcap_file(write_pcap("ns.pcap", DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO),
                              info, error))
      << error;
  EXPECT_TRUE(info.nanosecond);
}

// pcapng per draft-ietf-opsawg-pcapng: SHB, IDB (with or without if_tsresol), one EPB.
Bytes pcapng(uint16_t linktype, int tsresol) {
  auto le16 = [](Bytes& b, uint16_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); };
  auto le32 = [&](Bytes& b, uint32_t v) {
    le16(b, uint16_t(v));
    le16(b, uint16_t(v >> 16));
  };
  Bytes out;
  le32(out, 0x0A0D0D0A);
  le32(out, 28);
  le32(out, 0x1A2B3C4D);
  le16(out, 1);
  le16(out, 0);
  le32(out, 0xFFFFFFFF);  // section length unknown
  le32(out, 0xFFFFFFFF);
  le32(out, 28);
  const uint32_t idb_len = tsresol >= 0 ? 32 : 20;
  le32(out, 1);
  le32(out, idb_len);
  le16(out, linktype);
  le16(out, 0);
  le32(out, 262144);
  if (tsresol >= 0) {
    le16(out, 9);  // if_tsresol
    le16(out, 1);
    out.insert(out.end(), {uint8_t(tsresol), 0, 0, 0});
    le32(out, 0);  // opt_endofopt
  }
  le32(out, idb_len);
  const Bytes frame = test::filler(60);
  le32(out, 6);  // EPB
  le32(out, 32 + 60);
  le32(out, 0);  // interface 0
  le32(out, 0);
  le32(out, 0);
  le32(out, 60);
  le32(out, 60);
  out.insert(out.end(), frame.begin(), frame.end());
  le32(out, 32 + 60);
  return out;
}

TEST_F(ProbePcapFile, Pcapng) {
  PcapFileInfo info;
  std::string error;
  ASSERT_TRUE(probe_pcap_file(write_bytes("us.pcapng", pcapng(113, -1)), info, error)) << error;
  EXPECT_EQ(info.link, LinkType::kLinuxSll);
  EXPECT_EQ(info.snaplen, 262144u);
  EXPECT_FALSE(info.nanosecond);
  ASSERT_TRUE(probe_pcap_file(write_bytes("ns.pcapng", pcapng(1, 9)), info, error)) << error;
  EXPECT_EQ(info.link, LinkType::kEthernet);
  EXPECT_TRUE(info.nanosecond);
  ASSERT_TRUE(probe_pcap_file(write_bytes("ms.pcapng", pcapng(1, 3)), info, error)) << error;
  EXPECT_FALSE(info.nanosecond);
  // 2^-30 s: binary resolution, finer than a microsecond.
  ASSERT_TRUE(probe_pcap_file(write_bytes("bin.pcapng", pcapng(1, 0x80 | 30)), info, error))
      << error;
  EXPECT_TRUE(info.nanosecond);
}

TEST_F(ProbePcapFile, UnsupportedLinkTypeIsNamed) {
  PcapFileInfo info;
  std::string error;
  EXPECT_FALSE(probe_pcap_file(write_pcap("wifi.pcap", DLT_IEEE802_11, 2346), info, error));
  EXPECT_NE(error.find("IEEE802_11"), std::string::npos) << error;
  EXPECT_NE(error.find("(105)"), std::string::npos) << error;
  EXPECT_NE(error.find("EN10MB (1)"), std::string::npos) << error;
  EXPECT_NE(error.find("LINUX_SLL2 (276)"), std::string::npos) << error;
}

TEST_F(ProbePcapFile, RefusesMissingEmptyAndForeignFiles) {
  PcapFileInfo info;
  std::string error;
  EXPECT_FALSE(probe_pcap_file((dir_ / "nope.pcap").string(), info, error));
  EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
  EXPECT_FALSE(probe_pcap_file(dir_.string(), info, error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  EXPECT_FALSE(probe_pcap_file(write_bytes("empty.pcap", {}), info, error));
  EXPECT_NE(error.find("is empty"), std::string::npos) << error;
  const std::string text = write_bytes("notes.txt", {'h', 'e', 'l', 'l', 'o', '\n', 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(probe_pcap_file(text, info, error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  EXPECT_NE(error.find("notes.txt"), std::string::npos) << error;
  // A pcap header cut short.
  const Bytes header = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
  EXPECT_FALSE(probe_pcap_file(write_bytes("cut.pcap", header), info, error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

// The slow twin of read_capture_layout: the whole file in memory, walked
// record by record as pcap-savefile(5) and the pcapng draft frame it.
CaptureLayout whole_file_layout(const Bytes& b) {
  CaptureLayout out;
  auto u32 = [&](size_t at, bool big) {
    return big ? uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3]
               : uint32_t(b[at + 3]) << 24 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 1]) << 8 | b[at];
  };
  auto broken = [&](size_t at) {
    out.intact = false;
    out.broken_at = at;
    return out;
  };
  if (b.size() >= 4 && (u32(0, false) == 0xa1b2c3d4 || u32(0, true) == 0xa1b2c3d4)) {
    out.classic = true;
    const bool big = u32(0, true) == 0xa1b2c3d4;
    size_t at = 24;
    while (at < b.size()) {
      if (b.size() - at < 16 || b.size() - at - 16 < u32(at + 8, big)) return broken(at);
      ++out.packet_records;
      at += 16 + u32(at + 8, big);
    }
    return out;
  }
  bool big = false;
  size_t at = 0;
  while (at < b.size()) {
    if (b.size() - at < 12) return broken(at);
    if (u32(at, false) == 0x0a0d0d0a) big = u32(at + 8, false) == 0x4d3c2b1a;  // the byte-order magic 0x1a2b3c4d, as written
    const uint32_t length = u32(at + 4, big);
    if (length < 12 || length % 4 || length > b.size() - at) return broken(at);
    const uint32_t type = u32(at, big);
    out.packet_records += type == 6 || type == 3 || type == 2;
    at += length;
  }
  return out;
}

// Packets libpcap itself reads from the file before it ends or errs.
int64_t libpcap_count(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) return -1;
  pcap_pkthdr* h;
  const u_char* data;
  int64_t n = 0;
  while (pcap_next_ex(p, &h, &data) == 1) ++n;
  pcap_close(p);
  return n;
}

TEST_F(ProbePcapFile, CaptureLayoutOfEveryTruncationAgreesWithLibpcapAndTheTwin) {
  const char* root = std::getenv("FLOWSCORE_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "FLOWSCORE_SOURCE_ROOT is set by meson test";
  const fs::path data = fs::path(root) / "tests" / "data";
  // Both pcapng files of the suite (a section header with options, IDBs,
  // EPBs, and an NRB), a classic pcap, and a big-endian one written here.
  std::vector<Bytes> files;
  for (const fs::path& p : {data / "packet" / "zeek-ldap-issue-32-sll.pcapng", data / "output" / "ah.pcapng",
                            data / "packet" / "zeek-ipv4-fragmented-1.pcap"}) {
    std::ifstream in(p, std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    ASSERT_GT(files.back().size(), 100u) << p;
  }
  Bytes big_endian = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1};
  for (uint8_t caplen : {60, 61, 62, 63}) {
    const Bytes record = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, caplen, 0, 0, 0, caplen};
    big_endian.insert(big_endian.end(), record.begin(), record.end());
    const Bytes frame = test::filler(caplen);
    big_endian.insert(big_endian.end(), frame.begin(), frame.end());
  }
  files.push_back(big_endian);

  for (size_t f = 0; f < files.size(); ++f) {
    const Bytes& whole = files[f];
    const CaptureLayout full = whole_file_layout(whole);
    ASSERT_TRUE(full.intact) << "file " << f;
    ASSERT_GT(full.packet_records, 2u) << "file " << f;
    for (size_t cut = 4; cut <= whole.size(); ++cut) {
      const Bytes prefix(whole.begin(), whole.begin() + cut);
      const std::string path = write_bytes("cut", prefix);
      const CaptureLayout want = whole_file_layout(prefix);
      // libpcap reads every whole record before the cut; it refuses a file
      // cut inside its header (or, for pcapng, its first blocks).
      const int64_t read = libpcap_count(path);
      if (read >= 0) {
        ASSERT_EQ(uint64_t(read), want.packet_records) << "file " << f << " cut at " << cut;
      }
      // Windows that put record headers across their edge, and the default.
      for (size_t window : {16, 23, 100, 1000, 64 * 1024}) {
        CaptureLayout got;
        ASSERT_TRUE(read_capture_layout(path, got, window)) << "file " << f << " cut at " << cut;
        const auto where = "file " + std::to_string(f) + " cut at " + std::to_string(cut) + " window " +
                           std::to_string(window);
        EXPECT_EQ(got.classic, want.classic) << where;
        EXPECT_EQ(got.packet_records, want.packet_records) << where;
        EXPECT_EQ(got.intact, want.intact) << where;
        EXPECT_EQ(got.broken_at, want.broken_at) << where;
        if (cut == whole.size()) {
          EXPECT_TRUE(got.intact) << where;
        }
      }
    }
  }
}

TEST_F(ProbePcapFile, CaptureLayoutRefusesWhatIsNotACapture) {
  CaptureLayout layout;
  EXPECT_FALSE(read_capture_layout((dir_ / "nope.pcap").string(), layout));
  EXPECT_FALSE(read_capture_layout(dir_.string(), layout));
  EXPECT_FALSE(read_capture_layout(write_bytes("short", {0xd4, 0xc3, 0xb2}), layout));
  EXPECT_FALSE(read_capture_layout(write_bytes("text", {'h', 'e', 'l', 'l', 'o', '\n'}), layout));
}

}  // namespace
}  // namespace flowscore
