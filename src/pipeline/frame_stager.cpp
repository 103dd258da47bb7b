#include "frame_stager.hpp"

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <cstring>

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
    out.ts_ns = capture_time_ns(*RTE_MBUF_DYNFIELD(m, timestamp_offset_, const rte_mbuf_timestamp_t*));
  // A frame larger than one mbuf comes in segments: parse a contiguous copy
  // (rare: jumbo frames, offload super-packets), so lengths that fall back
  // on the captured size see the whole frame.
  const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t present = rte_pktmbuf_data_len(m);
  if (m->nb_segs > 1) {
    present = linearise(m);
    data = scratch_.get();
  }
  out.status = parse_frame(data, std::min(present, rte_pktmbuf_pkt_len(m)), link, out.packet);
  out.wire_len = out.status == ParseStatus::kOk ? wire_length(out.packet, rte_pktmbuf_pkt_len(m), snaplen) : 0;
}

// The pcap PMD's µs since the epoch, as ns. libpcap reads a classic pcap's
// seconds field, unsigned in the format, as a signed 32-bit number, so a
// time from 2038 to 2106 reaches the PMD negative and leaves it as a huge
// unsigned value: that is undone here. Anything still out of range (a
// damaged file, pcapng times past 2262) stops at 2^63 ns rather than wrap,
// since a wrapped time wraps every deadline after it and ends each packet's
// flow at once.
uint64_t FrameStager::capture_time_ns(uint64_t pmd_us) {
  constexpr int64_t kUsPerSec = 1'000'000;
  constexpr uint64_t kMaxUs = (uint64_t{1} << 63) / 1000;
  int64_t us = static_cast<int64_t>(pmd_us);
  if (us < 0 && us >= -(int64_t{1} << 31) * kUsPerSec) us += (int64_t{1} << 32) * kUsPerSec;
  if (us < 0) return kMaxUs * 1000;
  return std::min<uint64_t>(static_cast<uint64_t>(us), kMaxUs) * 1000;
}

// Copies the segments' bytes, trusting each segment's data_len and the chain,
// not pkt_len: DPDK 22.11's pcap PMD sets pkt_len to a frame's captured
// length but chains only that length modulo 2^16 of data (a uint16_t inside
// its jumbo path), so for frames over 65,535 bytes rte_pktmbuf_read() walks
// off the end of the chain. Found by feeding it a 100,000-byte frame; the
// frame's length still counts in full (wire_len), the parser sees what came.
uint32_t FrameStager::linearise(const rte_mbuf* m) {
  uint32_t copied = 0;
  const uint16_t segments = m->nb_segs;
  for (uint16_t k = 0; k < segments && m != nullptr && copied < kScratchBytes; ++k, m = m->next) {
    const uint32_t n = std::min<uint32_t>(rte_pktmbuf_data_len(m), kScratchBytes - copied);
    std::memcpy(scratch_.get() + copied, rte_pktmbuf_mtod(m, const uint8_t*), n);
    copied += n;
  }
  return copied;
}

}  // namespace flowscore
