// Capture-file probe: libpcap for the link type and snap length, plus a look
// at the file header for the timestamp resolution, which libpcap scales away.
#include "flowscore/pcap_file.hpp"

#include <pcap/pcap.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <vector>

namespace flowscore {
namespace {

constexpr std::array kSupportedLinkTypes = {
    LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kRaw,
    LinkType::kIpv4,     LinkType::kIpv6,     LinkType::kNull,      LinkType::kLoop,
};

std::string supported_link_types() {
  std::string list;
  for (LinkType t : kSupportedLinkTypes) {
    if (!list.empty()) list += ", ";
    list += link_type_name(t);
    list += " (" + std::to_string(uint32_t(t)) + ")";
  }
  return list;
}

// pcap_datalink() answers in DLT_* values, which equal the LINKTYPE_* values
// in the file except where BSDs disagreed historically; of ours only DLT_RAW
// (12 here, 14 on OpenBSD) differs from LINKTYPE_RAW (101).
uint32_t linktype_from_dlt(int dlt) {
  return dlt == DLT_RAW ? uint32_t(LinkType::kRaw) : uint32_t(dlt);
}

uint32_t read_u32(const unsigned char* p, bool big_endian) {
  return big_endian ? uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]
                    : uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}
uint16_t read_u16(const unsigned char* p, bool big_endian) {
  return big_endian ? uint16_t(p[0] << 8 | p[1]) : uint16_t(p[1] << 8 | p[0]);
}

// File magics, read little-endian (https://www.tcpdump.org/manpages/pcap-savefile.5.txt;
// pcapng's section header type is a palindrome, the same in either order).
constexpr uint32_t kPcapngMagic = 0x0a0d0d0a;
bool is_classic_pcap_magic(uint32_t magic_le) {
  return magic_le == 0xa1b2c3d4 || magic_le == 0xd4c3b2a1 || magic_le == 0xa1b23c4d || magic_le == 0x4d3cb2a1;
}

// libpcap hands out timestamps in the precision the caller asked for, never
// the file's own, so the resolution comes from the header. pcap: the magic
// number (https://www.tcpdump.org/manpages/pcap-savefile.5.txt). pcapng:
// if_tsresol on the first Interface Description Block, default 10^-6
// (draft-ietf-opsawg-pcapng §4.2). Reads at most the first 64 KiB.
bool has_sub_microsecond_timestamps(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> buf(65536);
  in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size()));
  const size_t n = size_t(in.gcount());
  if (n < 4) return false;
  const uint32_t magic_le = read_u32(buf.data(), false);
  if (magic_le == 0xa1b23c4d || magic_le == 0x4d3cb2a1) return true;
  if (magic_le != kPcapngMagic || n < 12) return false;  // classic µs pcap, or not pcapng

  const bool big_endian = read_u32(buf.data() + 8, true) == 0x1A2B3C4D;
  size_t block = 0;
  while (block + 12 <= n) {
    const uint32_t type = read_u32(buf.data() + block, big_endian);
    const uint32_t len = read_u32(buf.data() + block + 4, big_endian);
    if (len < 12 || len % 4 != 0 || len > n - block) return false;
    if (type == 1) {  // IDB: type, length, linktype, reserved, snaplen, options, length
      size_t opt = block + 16;
      const size_t opts_end = block + len - 4;
      while (opt + 4 <= opts_end) {
        const uint16_t code = read_u16(buf.data() + opt, big_endian);
        const uint16_t opt_len = read_u16(buf.data() + opt + 2, big_endian);
        if (code == 0) break;  // opt_endofopt
        if (code == 9 && opt_len == 1 && opt + 5 <= opts_end) {
          const uint8_t tsresol = buf[opt + 4];
          // MSB clear: 10^-v s; set: 2^-v s. Finer than 1 µs = 10^-6 ≈ 2^-20.
          return (tsresol & 0x80) ? (tsresol & 0x7F) > 20 : tsresol > 6;
        }
        opt += 4 + ((opt_len + 3u) & ~3u);
      }
      return false;
    }
    block += len;
  }
  return false;
}

}  // namespace

bool probe_pcap_file(const std::string& path, PcapFileInfo& out, std::string& error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    error = "capture file '" + path + "' does not exist";
    return false;
  }
  if (!std::filesystem::is_regular_file(status)) {
    error = "capture file '" + path + "' is not a regular file";
    return false;
  }
  if (std::filesystem::file_size(path, ec) == 0) {
    error = "capture file '" + path + "' is empty";
    return false;
  }

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(pcap_open_offline(path.c_str(), errbuf),
                                                      &pcap_close);
  if (!pcap) {
    error = "cannot read '" + path + "' as pcap or pcapng: " + errbuf;
    return false;
  }
  const int dlt = pcap_datalink(pcap.get());
  const uint32_t linktype = linktype_from_dlt(dlt);
  LinkType link;
  if (!link_type_from_pcap(linktype, link)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    error = "capture file '" + path + "' has link type " + (name ? name : "unnamed") + " (" +
            std::to_string(linktype) + "), which flowscore cannot parse; supported: " +
            supported_link_types();
    return false;
  }
  out.link = link;
  out.pcap_linktype = linktype;
  out.snaplen = uint32_t(pcap_snapshot(pcap.get()));
  out.nanosecond = has_sub_microsecond_timestamps(path);
  return true;
}

namespace {

// The file's bytes, read forward through a window of `window_bytes` with
// pread. The framing walk needs only a few header bytes per record, but
// records sit on every page, so the whole file passes anyway: copying it
// through a window that stays in cache is cheaper than faulting in a
// read-only mapping of it (docs/BENCHMARKS.md, "pcapng inputs"), and a file
// that shrinks under us is a short read, not a SIGBUS.
class ForwardReader {
 public:
  ForwardReader(const std::string& path, size_t window_bytes)
      : fd_(::open(path.c_str(), O_RDONLY)), window_(std::max(window_bytes, kMaxRead)) {
    struct stat st {};
    if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) size_ = uint64_t(st.st_size);
  }
  ~ForwardReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  ForwardReader(const ForwardReader&) = delete;
  ForwardReader& operator=(const ForwardReader&) = delete;

  // 0 when the path is not a regular file that could be opened.
  uint64_t size() const { return size_; }
  // The n (<= kMaxRead) bytes at offset `at`, or nullptr when the file ends first.
  const unsigned char* bytes(uint64_t at, size_t n) {
    if (at < start_ || at + n > start_ + held_) {
      start_ = at;
      const ssize_t got = ::pread(fd_, window_.data(), window_.size(), off_t(at));
      held_ = got > 0 ? size_t(got) : 0;
    }
    return at + n <= start_ + held_ ? window_.data() + (at - start_) : nullptr;
  }
  static constexpr size_t kMaxRead = 16;

 private:
  int fd_;
  uint64_t size_ = 0;
  std::vector<unsigned char> window_;
  uint64_t start_ = 0;
  size_t held_ = 0;
};

}  // namespace

// Hops from header to header, reading only where headers are. A length that
// runs past the end of the file, or a pcapng block length that is not a
// multiple of 4 or shorter than a block, is where the framing breaks:
// libpcap stops there too.
bool read_capture_layout(const std::string& path, CaptureLayout& out, size_t window_bytes) {
  out = {};
  ForwardReader file(path, window_bytes);
  const uint64_t size = file.size();
  if (size < 4) return false;

  auto broken = [&](uint64_t at) {
    out.intact = false;
    out.broken_at = at;
    return true;
  };
  const unsigned char* head = file.bytes(0, 4);
  if (!head) return false;
  const uint32_t magic = read_u32(head, false);
  if (is_classic_pcap_magic(magic)) {
    out.classic = true;
    const bool big = head[0] == 0xa1;
    for (uint64_t at = 24; at < size;) {
      const unsigned char* record = file.bytes(at, 16);
      if (!record) return broken(at);
      const uint64_t next = at + 16 + read_u32(record + 8, big);
      if (next > size) return broken(at);
      ++out.packet_records;
      at = next;
    }
    return true;
  }
  if (magic != kPcapngMagic) return false;
  bool big = false;
  for (uint64_t at = 0; at < size;) {
    const unsigned char* block = file.bytes(at, 12);
    if (!block) return broken(at);
    uint32_t type = read_u32(block, big);
    if (read_u32(block, false) == kPcapngMagic) {  // a section header sets the byte order of its section
      type = kPcapngMagic;
      const uint32_t bom = read_u32(block + 8, false);
      if (bom != 0x1a2b3c4d && bom != 0x4d3c2b1a) return broken(at);
      big = bom == 0x4d3c2b1a;
    }
    const uint32_t length = read_u32(block + 4, big);
    if (length < 12 || length % 4 != 0 || at + length > size) return broken(at);
    out.packet_records += type == 6 || type == 3 || type == 2;  // EPB, SPB, obsolete PB
    at += length;
  }
  return true;
}

bool is_pcapng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4] = {};
  return in.read(reinterpret_cast<char*>(magic), 4) && read_u32(magic, false) == kPcapngMagic;
}

}  // namespace flowscore
