#include "worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <ctime>

namespace flowscore {

namespace {
constexpr uint16_t kMaxBurst = FlowTable::kMaxBurst;
constexpr unsigned kPrefetchAhead = 3;

uint64_t wall_clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}
}  // namespace

Worker::Worker(uint16_t id, const Config& cfg, bool offline, std::vector<WorkerInput> inputs,
               std::unique_ptr<FlowTable> table, std::unique_ptr<RecordQueue> queue,
               std::unique_ptr<ScoreBatch> scorer, bool writer_scores, CaptureLane* lane)
    : id_(id),
      cfg_(cfg),
      offline_(offline),
      inputs_(std::move(inputs)),
      table_(std::move(table)),
      queue_(std::move(queue)),
      scorer_(std::move(scorer)),
      writer_scores_(writer_scores),
      lane_(lane),
      fragments_(cfg.fragment_table_size, cfg.fragment_timeout_ns) {
  sink_.w = this;
  batch_.reserve(cfg.model.batch_size);
  batch_deadline_tsc_ = cfg.model.batch_deadline_ns * rte_get_tsc_hz() / 1'000'000'000;
  // The pcap PMD stamps each mbuf with the capture time (µs since the epoch)
  // in the standard Rx timestamp dynfield.
  timestamp_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
}

// ---- records: worker -> score batch -> writer ------------------------------

FlowRecord* Worker::BatchSink::reserve() {
  if (stash_n == 0) stash_n = w->queue_->take_free(stash, std::size(stash));
  while (stash_n == 0) {
    if (!w->offline_) return nullptr;  // live: never stall the packet path; the table counts the drop
    // Offline: lossless. Hand over what we hold and wait for the writer.
    w->hand_over_batch();
    ++waits;
    rte_pause();
    stash_n = w->queue_->take_free(stash, std::size(stash));
  }
  return stash[--stash_n];
}

void Worker::BatchSink::commit(FlowRecord* r) {
  r->ended_tsc = rte_rdtsc();
  if (w->batch_.empty()) w->batch_started_tsc_ = r->ended_tsc;
  w->batch_.push_back(r);  // capacity reserved up front: never reallocates
  if (w->batch_.size() >= w->cfg_.model.batch_size) w->hand_over_batch();
}

void Worker::hand_over_batch() {
  if (batch_.empty()) return;
  // While flushing there are no packets to serve, so the worker scores even
  // when the writer is the scorer: both lcores share the end-of-input burst.
  if (scorer_ && (!writer_scores_ || flushing_)) scorer_->score(batch_.data(), static_cast<unsigned>(batch_.size()));
  queue_->publish(batch_.data(), static_cast<unsigned>(batch_.size()));
  batch_.clear();
}

// ---- packets ---------------------------------------------------------------

uint64_t Worker::packet_time_ns(const rte_mbuf* m) const {
  if (timestamp_offset_ < 0) return clock_ns_;
  const uint64_t us = *RTE_MBUF_DYNFIELD(m, timestamp_offset_, const rte_mbuf_timestamp_t*);
  return us * 1000;
}

void Worker::process_burst(rte_mbuf** pkts, uint16_t n, const WorkerInput& in, uint64_t live_now_ns) {
  // Stage 1: parse the burst (prefetching frames ahead). Stage 2: account it
  // to the flow table in one call, which looks all keys up at once.
  ParsedPacket parsed[kMaxBurst];
  FlowTable::PacketRef refs[kMaxBurst];
  unsigned flowed = 0;
  for (uint16_t i = 0; i < std::min<uint16_t>(n, kPrefetchAhead); ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
    const rte_mbuf* m = pkts[i];
    const uint64_t ts = offline_ ? packet_time_ns(m) : live_now_ns;
    ParsedPacket& p = parsed[flowed];
    // A frame larger than one mbuf comes in segments: parse a contiguous copy
    // (rare: jumbo frames, offload super-packets), so lengths that fall back
    // on the captured size see the whole frame.
    const uint8_t* data = m->nb_segs == 1
                              ? rte_pktmbuf_mtod(m, const uint8_t*)
                              : static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, std::min<uint32_t>(rte_pktmbuf_pkt_len(m), kScratchBytes), scratch_.get()));
    const uint32_t captured = std::min<uint32_t>(rte_pktmbuf_pkt_len(m), kScratchBytes);
    const ParseStatus st = parse_frame(data, captured, in.link, p);
    ++counters_.packets;
    if (st != ParseStatus::kOk) {
      ++counters_.parse_drops[static_cast<size_t>(st)];
      continue;
    }
    if (p.fragment == Fragment::kFirst) {
      fragments_.remember(p, ts);
    } else if (p.fragment == Fragment::kLater && !fragments_.attribute(p, ts)) {
      ++counters_.fragments_unattributed;
      continue;
    }
    const uint32_t wire = wire_length(p, rte_pktmbuf_pkt_len(m), in.snaplen);
    counters_.wire_bytes += wire;
    refs[flowed++] = {&p, wire, ts};
    clock_ns_ = std::max(clock_ns_, ts);
  }
  table_->account_burst({refs, flowed}, in.input_index, sink_);
}

void Worker::flush() {
  flushing_ = true;
  table_->flush(EndReason::kShutdown, sink_);
  hand_over_batch();
  flushing_ = false;
}

// Packets come from the input's port, or from the lane when the main lcore
// reads the capture (dpdk.read_on).
uint16_t Worker::receive(const WorkerInput& in, rte_mbuf** pkts, uint16_t burst) {
  return lane_ ? static_cast<uint16_t>(lane_->take(pkts, burst)) : rte_eth_rx_burst(in.port, in.queue, pkts, burst);
}

// Offline, after an empty burst: has the current capture file ended? The
// pcap PMD returns nothing only at the end of its file (or on an mbuf
// shortage, which the pool's sizing rules out; the summary reports it); a
// lane is empty also while the main lcore is busy, so it says when.
bool Worker::input_ended() { return lane_ == nullptr || lane_->input_ended(); }

// ---- the loop ----------------------------------------------------------------
// One pass: read the clock once, poll each input for a burst, process it,
// then run the timed work (expiry, score-batch deadline). Offline, inputs are
// read one after another; each ends with a flush, since another capture file
// runs on another clock.

int Worker::run(const std::atomic<bool>& stop) {
  rte_mbuf* pkts[kMaxBurst];
  const uint16_t burst = static_cast<uint16_t>(std::min<uint32_t>(cfg_.dpdk.burst_size, kMaxBurst));
  const double ns_per_tsc = 1e9 / double(rte_get_tsc_hz());
  const uint64_t tsc0 = rte_rdtsc();
  const uint64_t wall0 = wall_clock_ns();
  size_t current = 0;  // offline: the input being read

  while (!stop.load(std::memory_order_relaxed) && current < inputs_.size()) {
    const uint64_t tsc = rte_rdtsc();
    const uint64_t live_now = wall0 + uint64_t(double(tsc - tsc0) * ns_per_tsc);
    const size_t first = offline_ ? current : 0;
    const size_t last = offline_ ? current + 1 : inputs_.size();
    for (size_t k = first; k < last; ++k) {
      const WorkerInput& in = inputs_[k];
      const uint16_t n = receive(in, pkts, burst);
      if (n == 0) {
        ++counters_.empty_polls;
        if (offline_ && input_ended()) {
          flush();
          ++current;
          clock_ns_ = 0;  // the next capture file runs on its own clock
          if (lane_) lane_->next_input();
        }
        continue;
      }
      ++counters_.bursts;
      process_burst(pkts, n, in, live_now);
      rte_pktmbuf_free_bulk(pkts, n);
    }
    if (!offline_) clock_ns_ = live_now;
    table_->expire(clock_ns_, sink_);
    if (!batch_.empty() && rte_rdtsc() - batch_started_tsc_ > batch_deadline_tsc_) hand_over_batch();
  }
  flush();
  finished_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace flowscore
