#include "worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <ctime>

#include "capture_feeder.hpp"

namespace flowscore {

namespace {
constexpr unsigned kMaxBurst = FlowTable::kMaxBurst;
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
      show_bytes_(table_->app_proto_counters() != nullptr),
      lane_(lane),
      fragments_(cfg.fragment_table_size, cfg.fragment_timeout_ns) {
  sink_.w = this;
  burst_ = std::min<unsigned>(cfg.dpdk.burst_size, kMaxBurst);
  batch_.reserve(cfg.model.batch_size);
  batch_deadline_tsc_ = cfg.model.batch_deadline_ns * rte_get_tsc_hz() / 1'000'000'000;
}

// ---- records: worker -> score batch -> writer ------------------------------

FlowRecord* Worker::BatchSink::reserve() {
  if (stash_n == 0) stash_n = w->queue_->take_free(stash, std::size(stash));
  if (stash_n != 0) return stash[--stash_n];
  // The pool is dry. Live, with packets to serve, never stall the packet
  // path: the table counts the drop. Offline, and in a flush (end of input,
  // shutdown: no packets to serve), lose nothing: hand over what we hold and
  // wait for the writer, unless a second signal asked to stop at once.
  if (!w->offline_ && !w->flushing_) return nullptr;
  ++waits;
  while (stash_n == 0) {
    if (w->abort_->load(std::memory_order_relaxed)) {
      ++abandoned;  // the table counts it dropped; this says why
      return nullptr;
    }
    w->hand_over_batch();
    if (w->mailbox_.asked()) w->mailbox_.reply(w->stats());  // a long flush still reports
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

// One burst from an input through both stages. Returns the frames handled.
unsigned Worker::poll_input(const WorkerInput& in, uint64_t live_now_ns) {
  StagedFrame* frames = frames_.get();  // a member: a local array would be zeroed on every poll
  unsigned n = 0;
  if (lane_ && offline_) {
    n = lane_->take(frames, burst_);  // stage 1 ran on the main lcore (dpdk.read_on)
  } else {
    rte_mbuf* pkts[kMaxBurst];
    n = rte_eth_rx_burst(in.port, in.queue, pkts, burst_);
    stage_burst(pkts, n, in, live_now_ns, frames);
    if (show_bytes_) {  // app_proto: nDPI reads the frames while they are accounted
      if (n) account_frames(frames, n, in.input_index, pkts);
      rte_pktmbuf_free_bulk(pkts, n);
      return n;
    }
    rte_pktmbuf_free_bulk(pkts, n);
  }
  if (n) account_frames(frames, n, in.input_index);
  return n;
}

// Live: the frames the main lcore dealt to this worker, from any of the
// ports it reads (dpdk.distribute), accounted in runs of one port each.
unsigned Worker::poll_live_lane() {
  StagedFrame* frames = frames_.get();
  const unsigned n = lane_->take(frames, burst_);
  for (unsigned i = 0; i < n;) {
    unsigned j = i + 1;
    while (j < n && frames[j].input_index == frames[i].input_index) ++j;
    account_frames(frames + i, j - i, frames[i].input_index);
    i = j;
  }
  return n;
}

// Stage 1: parse the burst, prefetching frames ahead (CaptureFeeder runs the
// same stage on the main lcore).
void Worker::stage_burst(rte_mbuf** pkts, unsigned n, const WorkerInput& in, uint64_t live_now_ns,
                         StagedFrame* frames) {
  for (unsigned i = 0; i < std::min(n, kPrefetchAhead); ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
  for (unsigned i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
    stager_.stage(pkts[i], in.link, in.snaplen, offline_, offline_ ? clock_ns_ : live_now_ns, frames[i]);
  }
}

void Worker::account_frames(StagedFrame* frames, unsigned n, uint32_t input_index, rte_mbuf* const* mbufs) {
  // Stage 2: count what did not parse, attribute fragments, then account the
  // rest to the flow table in one call, which looks all keys up at once.
  FlowTable::PacketRef refs[kMaxBurst];
  unsigned flowed = 0;
  counters_.packets += n;
  for (unsigned i = 0; i < n; ++i) {
    StagedFrame& f = frames[i];
    if (f.status != ParseStatus::kOk) {
      ++counters_.parse_drops[static_cast<size_t>(f.status)];
      continue;
    }
    if (f.packet.fragment == Fragment::kFirst) {
      fragments_.remember(f.packet, f.ts_ns);
    } else if (f.packet.fragment == Fragment::kLater && !fragments_.attribute(f.packet, f.ts_ns)) {
      ++counters_.fragments_unattributed;
      continue;
    }
    counters_.wire_bytes += f.wire_len;
    refs[flowed] = {&f.packet, f.wire_len, f.ts_ns};
    if (mbufs != nullptr) {  // the first segment: a flow's first packets, handshakes, fit in one mbuf
      refs[flowed].frame = rte_pktmbuf_mtod(mbufs[i], const uint8_t*);
      refs[flowed].captured = rte_pktmbuf_data_len(mbufs[i]);
    }
    ++flowed;
    clock_ns_ = std::max(clock_ns_, f.ts_ns);
  }
  table_->account_burst({refs, flowed}, input_index, sink_);
}

WorkerStats Worker::stats() const {
  WorkerStats s;
  s.packets = counters_;
  s.flows = table_->counters();
  s.fragments = fragments_.counters();
  if (scorer_) s.scoring = scorer_->counters();
  s.flows_active = table_->size();
  s.flow_memory_bytes = table_->memory().total();
  s.pair_evictions = table_->pair_evictions();
  if (const AppProtoCounters* a = table_->app_proto_counters()) s.app_proto = *a;
  s.records_waited = sink_.waits;
  s.records_abandoned = sink_.abandoned;
  return s;
}

void Worker::flush() {
  flushing_ = true;
  table_->flush(EndReason::kShutdown, sink_);
  fragments_.clear();  // as the table forgets its flows: the next file starts afresh
  hand_over_batch();
  flushing_ = false;
}

// Offline, after an empty burst: has the current capture file ended? The
// pcap PMD returns nothing only at the end of its file (or on an mbuf
// shortage, which a worker that frees every burst never causes; the summary
// would report it); a lane is empty also while the main lcore is busy, so
// the lane says when.
bool Worker::input_ended() { return lane_ == nullptr || lane_->input_ended(); }

// ---- the loop ----------------------------------------------------------------
// One pass: read the clock once, poll each input for a burst, process it,
// then run the timed work (expiry, score-batch deadline). Offline, inputs are
// read one after another; each ends with a flush, since another capture file
// runs on another clock. Live, every queue the worker owns is polled, then
// its lane of dealt frames if it has one.

int Worker::run(const std::atomic<bool>& stop, const std::atomic<bool>& abort) {
  abort_ = &abort;
  const double ns_per_tsc = 1e9 / double(rte_get_tsc_hz());
  const uint64_t tsc0 = rte_rdtsc();
  const uint64_t wall0 = wall_clock_ns();
  size_t current = 0;  // offline: the input being read

  while (!stop.load(std::memory_order_relaxed) && (!offline_ || current < inputs_.size())) {
    const uint64_t tsc = rte_rdtsc();
    const uint64_t live_now = wall0 + uint64_t(double(tsc - tsc0) * ns_per_tsc);
    const size_t first = offline_ ? current : 0;
    const size_t last = offline_ ? current + 1 : inputs_.size();
    for (size_t k = first; k < last; ++k) {
      if (poll_input(inputs_[k], live_now) > 0) {
        ++counters_.bursts;
        continue;
      }
      ++counters_.empty_polls;
      if (offline_ && input_ended()) {
        flush();
        ++current;
        clock_ns_ = 0;  // the next capture file runs on its own clock
        if (lane_) lane_->next_input();
      }
    }
    if (!offline_ && lane_ && poll_live_lane() > 0) ++counters_.bursts;
    // Live, a dealt frame may carry a time a little ahead of this lcore's
    // clock (the feeder reads the wall clock itself): time never runs back.
    if (!offline_) clock_ns_ = std::max(clock_ns_, live_now);
    table_->expire(clock_ns_, sink_);
    if (!batch_.empty() && rte_rdtsc() - batch_started_tsc_ > batch_deadline_tsc_) hand_over_batch();
    if (mailbox_.asked()) mailbox_.reply(stats());
  }
  if (!offline_ && lane_) {
    // Every frame the feeder dealt is accounted before the flush: it stops
    // reading first, then the lane is emptied.
    while (!lane_->feeder_stopped()) rte_pause();
    while (poll_live_lane() > 0) {
    }
  }
  flush();
  finished_.store(true, std::memory_order_release);
  return 0;
}

}  // namespace flowscore
