#include "frame_stager.hpp"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <algorithm>

namespace flowscore {

FrameStager::FrameStager() {
  // The pcap PMD stamps each mbuf with the capture time (µs since the epoch)
  // in the standard Rx timestamp dynfield.
  timestamp_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
}

void FrameStager::stage(const rte_mbuf* m, LinkType link, uint32_t snaplen, bool offline, uint64_t default_ts_ns,
                        StagedFrame& out) {
  out.ts_ns = default_ts_ns;
  if (offline && timestamp_offset_ >= 0)
    out.ts_ns = *RTE_MBUF_DYNFIELD(m, timestamp_offset_, const rte_mbuf_timestamp_t*) * 1000;
  // A frame larger than one mbuf comes in segments: parse a contiguous copy
  // (rare: jumbo frames, offload super-packets), so lengths that fall back
  // on the captured size see the whole frame.
  const uint32_t captured = std::min<uint32_t>(rte_pktmbuf_pkt_len(m), kScratchBytes);
  const uint8_t* data = m->nb_segs == 1 ? rte_pktmbuf_mtod(m, const uint8_t*)
                                        : static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, captured, scratch_.get()));
  out.status = parse_frame(data, captured, link, out.packet);
  out.wire_len = out.status == ParseStatus::kOk ? wire_length(out.packet, rte_pktmbuf_pkt_len(m), snaplen) : 0;
}

}  // namespace flowscore
