#include "tshark_reference.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "flowscore/pcap_file.hpp"

namespace flowscore::test {
namespace {

// Field order of the tshark command line below.
enum Field {
  kProtocols, kIpSrc, kIpDst, kIpProto, kIpFragOffset, kIpMoreFragments,
  kIpv6Src, kIpv6Dst, kIpv6Next, kHopNext, kRoutingNext, kFragNext, kFragOffset, kFragMore,
  kDstOptsNext, kAhNext,
  kTcpSrc, kTcpDst, kTcpFlags, kTcpWindow, kUdpSrc, kUdpDst, kSctpSrc, kSctpDst,
  kIcmpType, kIcmpCode, kIcmpv6Type, kIcmpv6Code, kExpertSeverity, kVlanId, kSTagId, kFieldCount
};
constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "frame.protocols", "ip.src", "ip.dst", "ip.proto", "ip.frag_offset", "ip.flags.mf",
    "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hopopts.nxt", "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.dstopts.nxt",
    "ah.next_header",
    "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.window_size_value", "udp.srcport", "udp.dstport", "sctp.srcport",
    "sctp.dstport", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "_ws.expert.severity", "vlan.id",
    "ieee8021ad.id"};
// epan/proto.h PI_ERROR: malformed packets and bogus header lengths.
constexpr uint32_t kExpertError = 0x00800000;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// One field's values, one per occurrence in dissection order.
using Occurrences = std::vector<std::string>;

std::optional<uint32_t> number_at(const Occurrences& v, size_t i) {
  if (i >= v.size() || v[i].empty()) return std::nullopt;
  return uint32_t(std::strtoul(v[i].c_str(), nullptr, 0));
}

std::optional<IpAddress> address(const std::string& text, int family) {
  IpAddress a;
  if (inet_pton(family, text.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}

// Walks the outermost IPv6 extension-header chain using tshark's own decoded
// next-header fields: the k-th occurrence of a header type's field belongs
// to the k-th such header in dissection order, and the outer chain comes first.
void walk_ipv6_chain(const std::vector<Occurrences>& f, TsharkFrame& out) {
  std::map<int, size_t> used;  // field -> occurrences consumed
  auto next_of = [&](int field) { return number_at(f[size_t(field)], used[field]++); };
  std::optional<uint32_t> next = number_at(f[kIpv6Next], 0);
  out.fragment = Fragment::kNone;
  for (int hops = 0; next && hops < 16; ++hops) {
    switch (*next) {
      case 0: next = next_of(kHopNext); break;
      case 43: next = next_of(kRoutingNext); break;
      case 60: next = next_of(kDstOptsNext); break;
      case 51: next = next_of(kAhNext); break;
      case 44: {
        const size_t k = used[kFragNext];
        const auto offset = number_at(f[kFragOffset], k);
        const auto more = number_at(f[kFragMore], k);
        next = next_of(kFragNext);
        if (!offset || !more) return;
        if (*offset > 0) {
          out.fragment = Fragment::kLater;
          out.proto = next ? std::optional<uint8_t>(uint8_t(*next)) : std::nullopt;
          return;
        }
        if (*more) out.fragment = Fragment::kFirst;
        break;
      }
      default:
        out.proto = uint8_t(*next);
        return;
    }
  }
}

TsharkFrame frame_from_fields(const std::vector<Occurrences>& f) {
  TsharkFrame out;
  out.protocols = f[kProtocols].empty() ? "" : f[kProtocols][0];
  for (size_t i = 0; i < f[kExpertSeverity].size(); ++i) {
    if (number_at(f[kExpertSeverity], i).value_or(0) >= kExpertError) out.error = true;
  }
  // The VLAN tags before the outer IP header, in order: Wireshark names a
  // C-tag (and a 0x9100 tag) "vlan", an 802.1ad S-tag "ieee8021ad"; a
  // tunnelled frame may carry more after the outer IP, which are not ours.
  size_t c_tags = 0, s_tags = 0;
  for (const std::string& layer : split(out.protocols, ':')) {
    if (layer == "ip") out.ip_version = 4;
    if (layer == "ipv6") out.ip_version = 6;
    if (out.ip_version != 0) break;
    if (layer == "vlan") {
      if (auto id = number_at(f[kVlanId], c_tags++)) out.vlan.push(static_cast<uint16_t>(*id));
    } else if (layer == "ieee8021ad") {
      if (auto id = number_at(f[kSTagId], s_tags++)) out.vlan.push(static_cast<uint16_t>(*id));
    }
  }
  if (out.ip_version == 4) {
    const auto src = f[kIpSrc].empty() ? std::nullopt : address(f[kIpSrc][0], AF_INET);
    const auto dst = f[kIpDst].empty() ? std::nullopt : address(f[kIpDst][0], AF_INET);
    if (!src || !dst) return TsharkFrame{out.protocols};  // IP layer without addresses
    out.src = *src;
    out.dst = *dst;
    if (auto p = number_at(f[kIpProto], 0)) out.proto = uint8_t(*p);
    const auto offset = number_at(f[kIpFragOffset], 0);
    const auto more = number_at(f[kIpMoreFragments], 0);
    if (offset && more) {
      out.fragment = *offset > 0 ? Fragment::kLater : *more ? Fragment::kFirst : Fragment::kNone;
    }
  } else if (out.ip_version == 6) {
    const auto src = f[kIpv6Src].empty() ? std::nullopt : address(f[kIpv6Src][0], AF_INET6);
    const auto dst = f[kIpv6Dst].empty() ? std::nullopt : address(f[kIpv6Dst][0], AF_INET6);
    if (!src || !dst) return TsharkFrame{out.protocols};
    out.src = *src;
    out.dst = *dst;
    walk_ipv6_chain(f, out);
  }
  if (!out.proto || out.fragment == Fragment::kLater) return out;
  auto ports = [&](Field s, Field d) {
    if (auto v = number_at(f[s], 0)) out.src_port = uint16_t(*v);
    if (auto v = number_at(f[d], 0)) out.dst_port = uint16_t(*v);
  };
  switch (*out.proto) {
    case 6:
      ports(kTcpSrc, kTcpDst);
      if (auto v = number_at(f[kTcpFlags], 0)) out.tcp_flags = uint8_t(*v);  // low 8 of 12 bits
      if (auto v = number_at(f[kTcpWindow], 0)) out.tcp_window = uint16_t(*v);
      break;
    case 17: ports(kUdpSrc, kUdpDst); break;
    case 132: ports(kSctpSrc, kSctpDst); break;
    case 1:
    case 58: {
      const bool v6 = *out.proto == 58;
      if (auto v = number_at(f[v6 ? kIcmpv6Type : kIcmpType], 0)) out.icmp_type = uint8_t(*v);
      if (auto v = number_at(f[v6 ? kIcmpv6Code : kIcmpCode], 0)) out.icmp_code = uint8_t(*v);
      break;
    }
    default: break;
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// tshark decoded every field parse_frame reads for this frame's protocol.
bool has_every_needed_field(const TsharkFrame& t) {
  if (t.ip_version == 0 || !t.proto) return false;
  if (t.fragment == Fragment::kLater) return true;
  switch (*t.proto) {
    case 6: return t.src_port && t.dst_port && t.tcp_flags && t.tcp_window;
    case 17:
    case 132: return t.src_port && t.dst_port;
    case 1:
    case 58: return t.icmp_type && t.icmp_code;
    default: return true;
  }
}

std::string short_protocols(const std::string& protocols) {
  // "eth:ethertype:" says nothing; the class should name what differs.
  std::string p = protocols.rfind("eth:ethertype:", 0) == 0 ? protocols.substr(14) : protocols;
  return p.size() > 48 ? p.substr(0, 48) + "..." : p;
}

}  // namespace

bool tshark_available() { return std::system("tshark -v > /dev/null 2>&1") == 0; }

std::vector<TsharkFrame> tshark_frames(const std::string& path, std::string& error) {
  // Reassembly off: a fragment or a segment is dissected on its own, as
  // parse_frame sees it.
  std::string cmd = "tshark -n -r " + shell_quote(path) +
                    " -o ip.defragment:FALSE -o ipv6.defragment:FALSE"
                    " -o tcp.desegment_tcp_streams:FALSE -o tcp.analyze_sequence_numbers:FALSE"
                    " -T fields -E separator=/t -E occurrence=a -E aggregator=,";
  for (const char* name : kFieldNames) cmd += std::string(" -e ") + name;
  cmd += " 2>/dev/null";
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(cmd.c_str(), "r"), &pclose);
  std::vector<TsharkFrame> frames;
  if (!pipe) {
    error = "cannot run tshark";
    return frames;
  }
  std::string line;
  std::array<char, 65536> buf;
  while (fgets(buf.data(), int(buf.size()), pipe.get())) {
    line += buf.data();
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    const auto columns = split(line, '\t');
    line.clear();
    std::vector<Occurrences> fields(kFieldCount);
    for (size_t i = 0; i < kFieldCount && i < columns.size(); ++i) {
      if (!columns[i].empty()) fields[i] = split(columns[i], i == kProtocols ? '\n' : ',');
    }
    frames.push_back(frame_from_fields(fields));
  }
  return frames;
}

std::string compare_with_tshark(ParseStatus status, const ParsedPacket& ours,
                                const TsharkFrame& ref) {
  const std::string where = " [" + short_protocols(ref.protocols) + "]";
  const bool truncated = status == ParseStatus::kTruncatedL2 ||
                         status == ParseStatus::kTruncatedL3 ||
                         status == ParseStatus::kTruncatedL4;
  // Cut short inside the headers: tshark decodes what is there, which still
  // leaves out something parse_frame needs.
  if (truncated && !has_every_needed_field(ref)) return "agree: truncated";
  if (ref.ip_version == 0) {
    return status == ParseStatus::kOk ? "ours ip, tshark none" + where : "match";
  }
  if (status == ParseStatus::kBadL4Header && ref.ip_version != 0 &&
      (ref.error || (!ref.src_port && !ref.icmp_type))) {
    // tshark flags it malformed (often after printing the ports it could
    // read), or decodes no L4 layer at all; neither yields a usable header.
    return "agree: malformed L4";
  }
  if (status != ParseStatus::kOk) {
    return "tshark ip, ours " + std::string(parse_status_name(status)) + where;
  }
  if (ours.ip_version != ref.ip_version) return "ip version" + where;
  if (ours.src != ref.src || ours.dst != ref.dst) return "address" + where;
  if (ref.proto && ours.proto != *ref.proto) return "proto" + where;
  if (ref.fragment && ours.fragment != *ref.fragment) return "fragment" + where;
  if (ours.vlan != ref.vlan) return "vlan" + where;
  if (ours.has_l4 != (ref.src_port.has_value() || ref.icmp_type.has_value()))
    return "l4 presence" + where;
  if (ref.src_port && (ours.src_port != *ref.src_port || ours.dst_port != *ref.dst_port))
    return "ports" + where;
  if (ref.tcp_flags && ours.tcp_flags != *ref.tcp_flags) return "tcp flags" + where;
  if (ref.tcp_window && ours.tcp_window != *ref.tcp_window) return "tcp window" + where;
  if (ref.icmp_type && (ours.icmp_type != *ref.icmp_type || ours.icmp_code != ref.icmp_code))
    return "icmp type/code" + where;
  return "match";
}

bool compare_capture(const std::string& path, Tally& tally, std::string& error) {
  PcapFileInfo info;
  if (!probe_pcap_file(path, info, error)) return false;
  const std::vector<TsharkFrame> ref = tshark_frames(path, error);
  if (!error.empty()) return false;

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(pcap_open_offline(path.c_str(), errbuf),
                                                      &pcap_close);
  if (!pcap) {
    error = errbuf;
    return false;
  }
  pcap_pkthdr* header;
  const u_char* data;
  size_t index = 0;
  while (pcap_next_ex(pcap.get(), &header, &data) == 1) {
    if (index >= ref.size()) {
      error = "tshark listed fewer frames than libpcap read";
      return false;
    }
    ParsedPacket parsed;
    const ParseStatus status = parse_frame(data, header->caplen, info.link, parsed);
    const std::string verdict = compare_with_tshark(status, parsed, ref[index]);
    ++tally.frames;
    ++index;
    if (verdict == "match") {
      ++tally.matched;
      if (status == ParseStatus::kOk) ++tally.matched_ip;
    } else if (verdict.rfind("agree:", 0) == 0) {
      ++tally.agreed_unusable;
    } else {
      auto& [count, first_frame] = tally.mismatches[verdict];
      if (count++ == 0) first_frame = index;
    }
  }
  if (index != ref.size()) {
    error = "libpcap read " + std::to_string(index) + " frames, tshark " +
            std::to_string(ref.size());
    return false;
  }
  return true;
}

}  // namespace flowscore::test
