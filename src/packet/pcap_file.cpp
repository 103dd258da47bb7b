// Capture-file probe: libpcap for the link type and snap length, plus a look
// at the file header for the timestamp resolution, which libpcap scales away.
#include "flowscore/pcap_file.hpp"

#include <pcap/pcap.h>

#include <array>
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
  if (magic_le != 0x0A0D0D0A || n < 12) return false;  // classic µs pcap, or not pcapng

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

}  // namespace flowscore
