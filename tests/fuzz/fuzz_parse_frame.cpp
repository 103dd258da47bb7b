// libFuzzer target: parse_frame on arbitrary bytes under every link type.
//
// The first input byte picks the link type, the rest is the frame. Beyond
// "no crash, no out-of-bounds read" (ASan sees every read, since the frame
// is copied into a buffer of exactly `captured` bytes), a kOk result must
// keep the promises packet.hpp makes, and the flow key and Community ID
// built from it must be computable and symmetric.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <vector>

#include "flowscore/community_id.hpp"
#include "flowscore/flow_key.hpp"
#include "flowscore/packet.hpp"

namespace {

using flowscore::LinkType;

constexpr LinkType kLinks[] = {LinkType::kNull,  LinkType::kEthernet, LinkType::kRaw,  LinkType::kLoop,
                               LinkType::kLinuxSll, LinkType::kIpv4,  LinkType::kIpv6, LinkType::kLinuxSll2};

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "parse_frame broke its contract: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const LinkType link = kLinks[data[0] % std::size(kLinks)];
  // An exact-size heap copy: one byte past the frame is a heap overflow ASan reports.
  const std::vector<uint8_t> frame(data + 1, data + size);
  const auto captured = static_cast<uint32_t>(frame.size());

  flowscore::ParsedPacket p;
  const flowscore::ParseStatus status = parse_frame(frame.data(), captured, link, p);
  require(status < flowscore::ParseStatus::kCount, "status out of range");
  if (status != flowscore::ParseStatus::kOk) return 0;

  require(p.ip_version == 4 || p.ip_version == 6, "ip_version is 4 or 6");
  require(p.l3_offset < captured, "the IP header starts inside the frame");
  require(p.ip_len >= (p.ip_version == 4 ? 20u : 40u), "ip_len covers at least the fixed IP header");
  require(p.payload_len <= p.ip_len, "payload_len <= ip_len");
  if (p.fragment == flowscore::Fragment::kLater) require(!p.has_l4, "a later fragment has no L4 header");
  if (p.has_l4 && p.proto == 6) {
    require(p.tcp_header_len >= 20 && p.tcp_header_len <= 60, "TCP header length in 20..60");
    require(p.payload_len + p.tcp_header_len <= p.ip_len, "TCP header and payload fit in the IP length");
  }
  const uint32_t wire = flowscore::wire_length(p, captured, captured);
  require(wire >= captured, "wire length is at least the captured length");

  // Both orientations of a packet must find one canonical key.
  bool src_is_lo = false;
  const flowscore::FlowKey key = flowscore::make_flow_key(p, src_is_lo);
  flowscore::Endpoint src, dst;
  const bool one_way = flowscore::packet_endpoints(p, src, dst);
  if (!one_way) {
    flowscore::ParsedPacket back = p;
    std::swap(back.src, back.dst);
    std::swap(back.src_port, back.dst_port);
    bool back_src_is_lo = false;
    // ICMP request/response types are mapped, not swapped: only check ported protocols.
    if (p.proto == 6 || p.proto == 17 || p.proto == 132) {
      require(flowscore::make_flow_key(back, back_src_is_lo) == key, "both directions share one key");
      require(back_src_is_lo != src_is_lo || (src.addr == dst.addr && src.port == dst.port),
              "the reverse packet has the other orientation");
      require(flowscore::community_id_v1(src, dst, p.proto, p.ip_version, 0, false) ==
                  flowscore::community_id_v1(dst, src, p.proto, p.ip_version, 0, false),
              "Community ID is symmetric");
    }
  }
  return 0;
}
