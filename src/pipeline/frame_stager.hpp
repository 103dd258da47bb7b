// Stage 1 of packet processing: one mbuf in, a StagedFrame out (its parse
// result, packet time and wire length). Stage 2, accounting a burst of
// StagedFrames to the flow table, is the worker's.
//
// The two stages usually run back to back on a worker. Offline with one
// worker, the main lcore runs stage 1 right after the pcap PMD has copied
// each frame (dpdk.read_on): it parses frames that are still hot in its own
// cache, frees the mbufs itself, and hands the worker only StagedFrames. No
// mbuf and no frame byte then crosses between cores.
#pragma once
#include <cstdint>
#include <memory>

#include "flowscore/packet.hpp"

struct rte_mbuf;

namespace flowscore {

struct StagedFrame {
  ParsedPacket packet;  // meaningful when status is kOk
  uint64_t ts_ns = 0;   // packet time
  uint32_t wire_len = 0;
  ParseStatus status = ParseStatus::kOk;
  uint16_t input_index = 0;  // set by the CaptureFeeder: live, one lane carries frames of several ports
};

class FrameStager {
 public:
  FrameStager();
  // Parses `m` (a frame of link type `link`, from a capture of snap length
  // `snaplen`, 0 live). Offline the time is the capture's (the pcap PMD's Rx
  // timestamp); live, and offline should a PMD not stamp it, `default_ts_ns`.
  void stage(const rte_mbuf* m, LinkType link, uint32_t snaplen, bool offline, uint64_t default_ts_ns,
             StagedFrame& out);
  bool has_capture_time() const { return timestamp_offset_ >= 0; }

 private:
  static uint64_t capture_time_ns(uint64_t pmd_us);
  // Copies a multi-segment frame into scratch_; returns the bytes present.
  uint32_t linearise(const rte_mbuf* m);

  int timestamp_offset_ = -1;  // mbuf dynfield with the pcap PMD's timestamp
  static constexpr uint32_t kScratchBytes = 256 * 1024;  // libpcap's largest snap length
  std::unique_ptr<uint8_t[]> scratch_{new uint8_t[kScratchBytes]};  // multi-segment frames, linearised
};

}  // namespace flowscore
