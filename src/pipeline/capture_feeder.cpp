#include "capture_feeder.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <type_traits>

#include <fmt/format.h>

#include "flowscore/flow_table.hpp"

namespace flowscore {

namespace {
// Ring slots per lane (a power of two; one stays empty): enough to cover the
// writer's longest pass (formatting one batch of records, a few hundred µs)
// at the worker's pace; 4096 StagedFrames are 320 KiB, within the L2 cache.
constexpr uint32_t kRingSlots = 4096;
constexpr uint32_t kRingFrames = kRingSlots - 1;
static_assert(sizeof(StagedFrame) % 4 == 0 && std::is_trivially_copyable_v<StagedFrame>,
              "rte_ring element rings copy elements of a multiple of 4 bytes");
}  // namespace

// ---- worker side -------------------------------------------------------------

unsigned CaptureLane::take(StagedFrame* frames, unsigned burst) {
  // The feeder enqueues one PMD burst at a time, so a whole burst is waiting
  // or none; only a file's last burst is shorter, and then the file has ended.
  const unsigned n = rte_ring_sc_dequeue_bulk_elem(ring_, frames, sizeof(StagedFrame), burst, nullptr);
  if (n || inputs_read_.load(std::memory_order_acquire) <= inputs_done_.load(std::memory_order_relaxed)) return n;
  return rte_ring_sc_dequeue_burst_elem(ring_, frames, sizeof(StagedFrame), burst, nullptr);
}

bool CaptureLane::input_ended() {
  // The feeder enqueues all of an input before it publishes the count
  // (release), so once the count is seen, an empty ring means the end.
  if (inputs_read_.load(std::memory_order_acquire) <= inputs_done_.load(std::memory_order_relaxed)) return false;
  return rte_ring_empty(ring_) != 0;
}

void CaptureLane::next_input() {
  inputs_done_.store(inputs_done_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// ---- main lcore side ---------------------------------------------------------

std::unique_ptr<CaptureFeeder> CaptureFeeder::create(std::vector<std::vector<Input>> inputs_per_worker,
                                                     uint16_t burst, int socket, std::string& error) {
  std::unique_ptr<CaptureFeeder> f(new CaptureFeeder);
  if (!f->stager_.has_capture_time()) {
    error = "the pcap PMD does not stamp capture times";
    return nullptr;
  }
  f->burst_ = std::min<uint16_t>(burst, FlowTable::kMaxBurst);
  f->frames_.reset(new StagedFrame[FlowTable::kMaxBurst]);
  for (size_t w = 0; w < inputs_per_worker.size(); ++w) {
    Lane l;
    l.lane = std::make_unique<CaptureLane>();
    l.inputs = std::move(inputs_per_worker[w]);
    const std::string name = fmt::format("fs_capture{}", w);
    l.lane->ring_ = rte_ring_create_elem(name.c_str(), sizeof(StagedFrame), kRingSlots, socket,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (l.lane->ring_ == nullptr) {
      error = fmt::format("cannot create ring {}: {}", name, rte_strerror(rte_errno));
      return nullptr;
    }
    f->lanes_.push_back(std::move(l));
  }
  return f;
}

CaptureFeeder::~CaptureFeeder() {
  for (Lane& l : lanes_) rte_ring_free(l.lane->ring_);
}

unsigned CaptureFeeder::fill(Lane& l) {
  CaptureLane& c = *l.lane;
  const uint32_t read = c.inputs_read_.load(std::memory_order_relaxed);  // only the feeder writes it
  if (read == l.inputs.size()) return 0;
  // The worker is still flushing the previous input: the next one's packets
  // would run on the wrong clock.
  if (c.inputs_done_.load(std::memory_order_acquire) < read) return 0;
  const Input& in = l.inputs[read];
  rte_mbuf* pkts[FlowTable::kMaxBurst];
  StagedFrame* frames = frames_.get();
  unsigned moved = 0;
  // At most one ring's worth per call, so the writer's own work keeps its turn.
  while (moved < kRingFrames && rte_ring_free_count(c.ring_) >= burst_) {
    const uint16_t n = rte_eth_rx_burst(in.port, 0, pkts, burst_);
    if (n == 0) {  // the pcap PMD's end of file
      c.inputs_read_.store(read + 1, std::memory_order_release);
      break;
    }
    for (uint16_t i = 0; i < n; ++i) stager_.stage(pkts[i], in.link, in.snaplen, true, 0, frames[i]);
    rte_pktmbuf_free_bulk(pkts, n);
    rte_ring_sp_enqueue_burst_elem(c.ring_, frames, sizeof(StagedFrame), n, nullptr);  // room checked above
    moved += n;
  }
  return moved;
}

unsigned CaptureFeeder::poll() {
  unsigned moved = 0;
  for (Lane& l : lanes_) moved += fill(l);
  return moved;
}

}  // namespace flowscore
