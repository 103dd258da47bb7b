#include "capture_feeder.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <time.h>

#include <algorithm>
#include <type_traits>

#include <cstdio>

#include <fmt/format.h>

#include "capture_ports.hpp"
#include "flowscore/flow_table.hpp"

namespace flowscore {

namespace {
// Ring slots per lane (a power of two; one stays empty): enough to cover the
// writer's longest pass (formatting one batch of records, a few hundred µs)
// at the worker's pace; 4096 StagedFrames are 320 KiB, so one lane stays
// within the L2 cache.
constexpr uint32_t kRingSlots = 4096;
constexpr uint32_t kRingFrames = kRingSlots - 1;
static_assert(sizeof(StagedFrame) % 4 == 0 && std::is_trivially_copyable_v<StagedFrame>,
              "rte_ring element rings copy elements of a multiple of 4 bytes");
}  // namespace

// ---- worker side -------------------------------------------------------------

bool CaptureLane::read_to_end() const {
  // The feeder enqueues all of an input before it publishes the count
  // (release): once the count is seen, every frame of the input is in the ring.
  return inputs_read_.load(std::memory_order_acquire) > inputs_done_.load(std::memory_order_relaxed);
}

unsigned CaptureLane::take(StagedFrame* frames, unsigned burst) {
  if (live_) return rte_ring_sc_dequeue_burst_elem(ring_, frames, sizeof(StagedFrame), burst, nullptr);
  // Offline, whole bursts only, so their boundaries never depend on timing; the
  // shorter rest of a file once the file has ended.
  const unsigned n = rte_ring_sc_dequeue_bulk_elem(ring_, frames, sizeof(StagedFrame), burst, nullptr);
  if (n || !read_to_end()) return n;
  return rte_ring_sc_dequeue_burst_elem(ring_, frames, sizeof(StagedFrame), burst, nullptr);
}

bool CaptureLane::input_ended() const { return read_to_end() && rte_ring_empty(ring_) != 0; }

void CaptureLane::next_input() {
  inputs_done_.store(inputs_done_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// ---- main lcore side ---------------------------------------------------------

bool CaptureFeeder::make_lanes(size_t workers, int socket, std::string& error) {
  frames_.reset(new StagedFrame[FlowTable::kMaxBurst]);
  sorted_.reset(new StagedFrame[workers * FlowTable::kMaxBurst]);
  dealt_.resize(workers);
  ring_drops_.assign(workers, 0);
  for (size_t w = 0; w < workers; ++w) {
    auto lane = std::make_unique<CaptureLane>();
    const std::string name = fmt::format("fs_capture{}", w);
    lane->ring_ = rte_ring_create_elem(name.c_str(), sizeof(StagedFrame), kRingSlots, socket,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (lane->ring_ == nullptr) {
      error = fmt::format("cannot create ring {}: {}", name, rte_strerror(rte_errno));
      return false;
    }
    lane->live_ = live_;
    lane->feeder_stopped_ = &stopped_;
    lanes_.push_back(std::move(lane));
  }
  return true;
}

std::unique_ptr<CaptureFeeder> CaptureFeeder::create(std::vector<Input> inputs, size_t workers, uint16_t burst,
                                                     int socket, CapturePorts* ports, std::string& error) {
  std::unique_ptr<CaptureFeeder> f(new CaptureFeeder);
  f->ports_ = ports;
  if (!f->stager_.has_capture_time()) {
    error = "the pcap PMD does not stamp capture times";
    return nullptr;
  }
  f->inputs_ = std::move(inputs);
  f->burst_ = std::min<uint16_t>(burst, FlowTable::kMaxBurst);
  if (!f->make_lanes(workers, socket, error)) return nullptr;
  return f;
}

std::unique_ptr<CaptureFeeder> CaptureFeeder::create_live(std::vector<Input> inputs, size_t workers, uint16_t burst,
                                                          int socket, const std::atomic<bool>& stop, std::string& error) {
  std::unique_ptr<CaptureFeeder> f(new CaptureFeeder);
  f->inputs_ = std::move(inputs);
  f->burst_ = std::min<uint16_t>(burst, FlowTable::kMaxBurst);
  f->live_ = true;
  f->stop_ = &stop;
  if (!f->make_lanes(workers, socket, error)) return nullptr;
  return f;
}

CaptureFeeder::~CaptureFeeder() {
  for (auto& l : lanes_) rte_ring_free(l->ring_);
}

size_t CaptureFeeder::lane_of(const StagedFrame& f) const {
  if (f.status != ParseStatus::kOk) return 0;
  // The lower address first, so both directions hash alike.
  const bool src_low = f.packet.src.bytes < f.packet.dst.bytes;
  const IpAddress& low = src_low ? f.packet.src : f.packet.dst;
  const IpAddress& high = src_low ? f.packet.dst : f.packet.src;
  const uint32_t h = rte_hash_crc(high.bytes.data(), high.bytes.size(), rte_hash_crc(low.bytes.data(), low.bytes.size(), 0));
  return static_cast<size_t>((uint64_t{h} * lanes_.size()) >> 32);
}

bool CaptureFeeder::lanes_have_room() const {
  // A burst might all go to one lane.
  return std::all_of(lanes_.begin(), lanes_.end(),
                     [this](const auto& l) { return rte_ring_free_count(l->ring_) >= burst_; });
}

unsigned CaptureFeeder::poll() {
  if (live_) return poll_live();
  if (input_ == inputs_.size()) return 0;
  // A worker still flushing the previous file would run this one's frames
  // on the wrong clock.
  for (const auto& l : lanes_)
    if (l->inputs_done_.load(std::memory_order_acquire) < input_) return 0;
  if (ports_ && !input_open_) {
    std::string error;
    if (ports_->open(inputs_[input_].input_index, inputs_[input_].port, error)) {
      input_open_ = true;
    } else {  // probed before the run began, so rare (the file went away): said, and read as empty
      fmt::print(stderr, "flowscore: {}\n", error);
      end_input();
      return 0;
    }
  }
  const Input& in = inputs_[input_];
  rte_mbuf* pkts[FlowTable::kMaxBurst];
  StagedFrame* frames = frames_.get();
  unsigned moved = 0;
  // At most one ring's worth per call, so the writer's own work keeps its turn.
  while (moved < kRingFrames && lanes_have_room()) {
    const uint16_t n = rte_eth_rx_burst(in.port, 0, pkts, burst_);
    if (n == 0) {  // the pcap PMD's end of file
      end_input();
      break;
    }
    for (uint16_t i = 0; i < n; ++i) {
      stager_.stage(pkts[i], in.link, in.snaplen, true, 0, frames[i]);
      frames[i].input_index = in.input_index;
    }
    rte_pktmbuf_free_bulk(pkts, n);
    hand_over(frames, n);
    moved += n;
  }
  return moved;
}

void CaptureFeeder::end_input() {
  if (ports_ && input_open_) ports_->close(inputs_[input_].input_index);  // every mbuf of it is freed
  input_open_ = false;
  ++input_;
  for (const auto& l : lanes_) l->inputs_read_.store(input_, std::memory_order_release);
}

unsigned CaptureFeeder::poll_live() {
  if (stopped_.load(std::memory_order_relaxed)) return 0;
  if (stop_->load(std::memory_order_relaxed)) {
    stopped_.store(true, std::memory_order_release);  // after every enqueue of ours
    return 0;
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);  // the workers' live clock is the same wall clock
  const uint64_t now_ns = uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
  rte_mbuf* pkts[FlowTable::kMaxBurst];
  StagedFrame* frames = frames_.get();
  unsigned moved = 0;
  for (const Input& in : inputs_) {
    const uint16_t n = rte_eth_rx_burst(in.port, in.queue, pkts, burst_);
    for (uint16_t i = 0; i < n; ++i) {
      stager_.stage(pkts[i], in.link, in.snaplen, false, now_ns, frames[i]);
      frames[i].input_index = in.input_index;
    }
    rte_pktmbuf_free_bulk(pkts, n);
    hand_over(frames, n);
    moved += n;
  }
  return moved;
}

// Offline, room was checked before the burst was read: the enqueues take
// every frame. Live, what a full ring does not take is counted.
void CaptureFeeder::hand_over(const StagedFrame* frames, unsigned n) {
  if (lanes_.size() == 1) {  // one worker takes the burst as it is, without a copy
    ring_drops_[0] += n - rte_ring_sp_enqueue_burst_elem(lanes_[0]->ring_, frames, sizeof(StagedFrame), n, nullptr);
    return;
  }
  std::fill(dealt_.begin(), dealt_.end(), 0u);
  for (unsigned i = 0; i < n; ++i) {
    const size_t l = lane_of(frames[i]);
    sorted_[l * FlowTable::kMaxBurst + dealt_[l]++] = frames[i];
  }
  for (size_t l = 0; l < lanes_.size(); ++l)
    if (dealt_[l])
      ring_drops_[l] += dealt_[l] - rte_ring_sp_enqueue_burst_elem(lanes_[l]->ring_, &sorted_[l * FlowTable::kMaxBurst],
                                                                   sizeof(StagedFrame), dealt_[l], nullptr);
}

}  // namespace flowscore
