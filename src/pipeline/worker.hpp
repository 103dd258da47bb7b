// The poll-mode worker: one per lcore, owning its flow table, fragment map,
// score batch and record queue. Live and offline runs use the same loop; they
// differ only in where time comes from (pcap timestamps vs the TSC) and in
// whether an input can end.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "flowscore/config.hpp"
#include "flowscore/flow_table.hpp"
#include "flowscore/fragment_map.hpp"
#include "flowscore/packet.hpp"
#include "frame_stager.hpp"
#include "record_queue.hpp"
#include "run_stats.hpp"
#include "score_batch.hpp"

struct rte_mbuf;

namespace flowscore {

class CaptureLane;

struct WorkerInput {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint32_t input_index = 0;  // position in --pcap order, or port id live
  LinkType link = LinkType::kEthernet;
  uint32_t snaplen = 0;      // capture file's snap length; 0 live (frames are whole)
};

class Worker {
 public:
  Worker(uint16_t id, const Config& cfg, bool offline, std::vector<WorkerInput> inputs,
         std::unique_ptr<FlowTable> table, std::unique_ptr<RecordQueue> queue,
         std::unique_ptr<ScoreBatch> scorer,  // null: nothing is scored (extract)
         bool writer_scores,                  // the writer scores, except what a flush emits
         CaptureLane* lane = nullptr);        // packets the main lcore read and dealt (dpdk.read_on offline,
                                              // dpdk.distribute live); offline it replaces reading the inputs,
                                              // live it comes on top of the queues in `inputs`

  // lcore entry point; returns when its inputs end (offline) or on `stop`,
  // after a flush of every flow. `abort`: stop waiting for free records in
  // that flush (drop and count what does not fit).
  int run(const std::atomic<bool>& stop, const std::atomic<bool>& abort);

  bool finished() const { return finished_.load(std::memory_order_acquire); }
  RecordQueue& queue() { return *queue_; }
  // Its counters: from the worker's own thread, or from any thread once it
  // has finished. Other threads ask through stats_mailbox().
  WorkerStats stats() const;
  const FlowTable& table() const { return *table_; }
  StatsMailbox& stats_mailbox() { return mailbox_; }

 private:
  // The worker's RecordSink: records collect into a batch, which is handed
  // to the writer when full or past its deadline, scored first unless the
  // writer scores.
  struct BatchSink final : RecordSink {
    Worker* w = nullptr;
    FlowRecord* stash[64];
    unsigned stash_n = 0;
    uint64_t waits = 0;
    uint64_t abandoned = 0;  // records not made at a second stop signal
    FlowRecord* reserve() override;
    void commit(FlowRecord* r) override;
  };

  unsigned poll_input(const WorkerInput& in, uint64_t live_now_ns);
  unsigned poll_live_lane();
  void stage_burst(rte_mbuf** pkts, unsigned n, const WorkerInput& in, uint64_t live_now_ns, StagedFrame* frames);
  // `mbufs`: the burst's frames, still held, for app_proto detection; null
  // when their bytes are not needed (app_proto off, or dealt frames).
  void account_frames(StagedFrame* frames, unsigned n, uint32_t input_index, rte_mbuf* const* mbufs = nullptr);
  void hand_over_batch();
  void flush();  // ends every flow (end of input, shutdown)
  bool input_ended();

  uint16_t id_;
  const Config& cfg_;
  bool offline_;
  std::vector<WorkerInput> inputs_;
  std::unique_ptr<FlowTable> table_;
  std::unique_ptr<RecordQueue> queue_;
  std::unique_ptr<ScoreBatch> scorer_;
  bool writer_scores_;
  bool show_bytes_;                // flow.app_proto: the table wants each frame's bytes
  CaptureLane* lane_;
  unsigned burst_ = 32;            // dpdk.burst_size
  bool flushing_ = false;
  const std::atomic<bool>* abort_ = nullptr;  // set by run()
  FragmentMap fragments_;
  BatchSink sink_;
  std::vector<FlowRecord*> batch_;
  uint64_t batch_started_tsc_ = 0;
  uint64_t batch_deadline_tsc_ = 0;
  uint64_t clock_ns_ = 0;          // latest packet time seen (offline) / TSC time (live)
  FrameStager stager_;
  std::unique_ptr<StagedFrame[]> frames_{new StagedFrame[FlowTable::kMaxBurst]};  // one burst, stage 1 -> stage 2
  std::atomic<bool> finished_{false};
  WorkerCounters counters_;
  StatsMailbox mailbox_;
};

}  // namespace flowscore
