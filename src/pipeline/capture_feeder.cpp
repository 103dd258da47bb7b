#include "capture_feeder.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>

#include <fmt/format.h>

#include "flowscore/flow_table.hpp"

namespace flowscore {

namespace {
// Packets in flight per lane, at most. Enough to cover the writer's longest
// pass (formatting and scoring one batch of records, a few hundred µs) at
// the worker's pace, and small enough that the frames the main lcore copied
// are still in the last-level cache when the worker parses them.
constexpr uint32_t kMaxRingPackets = 2048;
}  // namespace

// ---- worker side -------------------------------------------------------------

unsigned CaptureLane::take(rte_mbuf** pkts, unsigned max) {
  return rte_ring_sc_dequeue_burst(ring_, reinterpret_cast<void**>(pkts), max, nullptr);
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
                                                     uint32_t mbufs, uint32_t reserved, uint16_t burst, int socket,
                                                     std::string& error) {
  const size_t lanes = std::max<size_t>(1, inputs_per_worker.size());
  const uint32_t spare = mbufs > reserved ? mbufs - reserved : 0;
  const uint32_t per_lane = std::min<uint32_t>(kMaxRingPackets, static_cast<uint32_t>(spare / lanes));
  if (per_lane < 4u * burst) {
    error = fmt::format("{} mbufs leave room for {} packets per worker ring, fewer than 4 bursts (dpdk.mbufs)",
                        mbufs, per_lane);
    return nullptr;
  }
  std::unique_ptr<CaptureFeeder> f(new CaptureFeeder);
  f->burst_ = burst;
  f->ring_capacity_ = per_lane;
  for (size_t w = 0; w < inputs_per_worker.size(); ++w) {
    Lane l;
    l.lane = std::make_unique<CaptureLane>();
    l.inputs = std::move(inputs_per_worker[w]);
    const std::string name = fmt::format("fs_capture{}", w);
    l.lane->ring_ = rte_ring_create(name.c_str(), per_lane, socket, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (l.lane->ring_ == nullptr) {
      error = fmt::format("cannot create ring {}: {}", name, rte_strerror(rte_errno));
      return nullptr;
    }
    f->lanes_.push_back(std::move(l));
  }
  return f;
}

CaptureFeeder::~CaptureFeeder() {
  // A run stopped by a signal leaves packets in the rings.
  for (Lane& l : lanes_) {
    if (l.lane->ring_ == nullptr) continue;
    void* m = nullptr;
    while (rte_ring_sc_dequeue(l.lane->ring_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(l.lane->ring_);
  }
}

unsigned CaptureFeeder::fill(Lane& l) {
  CaptureLane& c = *l.lane;
  const uint32_t read = c.inputs_read_.load(std::memory_order_relaxed);  // only the feeder writes it
  if (read == l.inputs.size()) return 0;
  // The worker is still flushing the previous input: the next one's packets
  // would run on the wrong clock.
  if (c.inputs_done_.load(std::memory_order_acquire) < read) return 0;
  const uint16_t port = l.inputs[read].port;
  rte_mbuf* pkts[FlowTable::kMaxBurst];
  unsigned moved = 0;
  // At most one ring's worth per call, so the writer's own work keeps its turn.
  while (moved < ring_capacity_ && rte_ring_free_count(c.ring_) >= burst_) {
    const uint16_t n = rte_eth_rx_burst(port, 0, pkts, burst_);
    if (n == 0) {  // the pcap PMD's end of file (the ring's sizing rules out an mbuf shortage)
      c.inputs_read_.store(read + 1, std::memory_order_release);
      break;
    }
    rte_ring_sp_enqueue_burst(c.ring_, reinterpret_cast<void**>(pkts), n, nullptr);  // room checked above
    moved += n;
  }
  return moved;
}

unsigned CaptureFeeder::poll() {
  unsigned moved = 0;
  for (Lane& l : lanes_) moved += fill(l);
  return moved;
}

bool CaptureFeeder::finished() const {
  return std::all_of(lanes_.begin(), lanes_.end(), [](const Lane& l) {
    return l.lane->inputs_read_.load(std::memory_order_relaxed) == l.inputs.size();
  });
}

}  // namespace flowscore
