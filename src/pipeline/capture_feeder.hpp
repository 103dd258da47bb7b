// Offline, reads the capture files on the main lcore and hands the workers
// their packets, parsed, over rings, so reading and flow tracking overlap.
//
// With one worker, the worker would otherwise both read (libpcap's copy out
// of the file, the pcap PMD's copy into mbufs: about half its time,
// docs/BENCHMARKS.md) and track, while the main lcore mostly waits for
// records. The feeder moves reading and parsing (stage 1, FrameStager) to
// the main lcore, between the writer's passes (dpdk.read_on), and frees the
// mbufs there: frames are parsed while still in the cache the PMD copied
// them into, and neither mbufs nor frame bytes cross between cores (handing
// over the mbufs themselves made each lcore's stores wait on the other's
// cache lines). The worker receives StagedFrames in file order and runs
// stage 2 (fragments, flow table) on them, as it would on its own.
//
// With several workers the feeder deals each frame to one of them by a
// symmetric hash of its two IP addresses (software RSS), so one capture file
// can keep several workers busy. Hashing on addresses alone keeps both
// directions of a flow, all fragments of a datagram (later fragments carry
// no ports) and every flow of an address pair (pair_flows, FEATURES.md §7a)
// on one worker, which therefore computes what a single worker would, with
// three exceptions (docs/ARCHITECTURE.md): each worker's clock is the latest
// time it has seen, so a flow can end on `shutdown` rather than `timeout`,
// or split differently where a capture's time runs backwards; and N workers
// have N tables, so they evict under pressure later. Frames that did not
// parse go to worker 0, which counts them.
//
// Live (dpdk.distribute, queue_plan.hpp), the same feeder reads the ports
// that cannot spread packets over queues themselves, and deals their frames
// by the same hash, stamped with the live clock. Nothing there waits: a
// frame whose worker's ring is full is dropped and counted (ring_drops), as
// a NIC drops a packet whose queue is full; lanes hand over whatever they
// hold, not whole bursts; and at a stop the feeder stops reading first, so
// its workers can take every frame it dealt before they flush.
//
// One lane per worker: a single-producer/single-consumer ring of
// StagedFrames and a two-counter handshake that marks where one capture file
// ends and the next begins (each file is flushed on its own clock, so a
// worker must see the end of file k before any frame of file k+1; the
// feeder starts file k+1 once every worker has flushed file k).
//
// Bursts have fixed boundaries: a worker takes its lane's frames in bursts
// of exactly `burst`, and only the last one of a file is shorter. Expiry
// runs between bursts and record order follows it, so each worker's records
// do not depend on timing (how the writer interleaves workers does). With
// one worker the bursts are the PMD's own, and the output is byte-identical
// to a worker reading the file itself.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowscore/packet.hpp"
#include "frame_stager.hpp"

struct rte_ring;

namespace flowscore {

class CapturePorts;

// The worker's side of a lane.
class CaptureLane {
 public:
  // The next burst of the current input: `burst` frames, or fewer only for
  // the last burst of a file; 0 when no whole burst is waiting yet.
  unsigned take(StagedFrame* frames, unsigned burst);
  // True once the current input's last packet has been taken: the feeder
  // has read it to its end and the ring is empty.
  bool input_ended() const;
  // The worker has flushed the current input: the feeder may start the next.
  void next_input();
  // Live: the feeder has stopped reading, so what the ring holds is all it will get.
  bool feeder_stopped() const { return feeder_stopped_->load(std::memory_order_acquire); }

 private:
  friend class CaptureFeeder;
  bool read_to_end() const;  // the feeder has read the current input to its end
  rte_ring* ring_ = nullptr;
  bool live_ = false;
  const std::atomic<bool>* feeder_stopped_ = nullptr;
  std::atomic<uint32_t> inputs_read_{0};  // feeder: inputs read to their end
  std::atomic<uint32_t> inputs_done_{0};  // worker: inputs flushed
};

class CaptureFeeder {
 public:
  struct Input {
    uint16_t port = 0;  // a started port: offline a net_pcap port, live any
    uint16_t queue = 0;
    uint16_t input_index = 0;  // FlowRecord::input_index of its frames
    LinkType link = LinkType::kEthernet;
    uint32_t snaplen = 0;
  };
  // Offline: reads `inputs` (capture files) in order for `workers` workers
  // (one lane each); `burst` is the workers' burst size (at most
  // FlowTable::kMaxBurst). With `ports`, each input's port is opened when
  // its file is started and closed at its end (Input::port is then filled
  // in); without, every port is open already. Returns null with `error`
  // when a ring cannot be made, or when the PMD does not stamp capture
  // times (the workers then read for themselves).
  static std::unique_ptr<CaptureFeeder> create(std::vector<Input> inputs, size_t workers, uint16_t burst,
                                               int socket, CapturePorts* ports, std::string& error);
  // Live: polls every input in turn until `stop`.
  static std::unique_ptr<CaptureFeeder> create_live(std::vector<Input> inputs, size_t workers, uint16_t burst,
                                                    int socket, const std::atomic<bool>& stop, std::string& error);
  ~CaptureFeeder();
  CaptureFeeder(const CaptureFeeder&) = delete;
  CaptureFeeder& operator=(const CaptureFeeder&) = delete;

  CaptureLane& lane(size_t worker) { return *lanes_[worker]; }
  // Offline: reads as far as every lane has room for another burst. Live:
  // one burst from each input. Returns frames moved.
  unsigned poll();
  // The lane a frame belongs to (a symmetric hash of its addresses).
  size_t lane_of(const StagedFrame& f) const;
  // Live: frames dropped because the lane's ring was full, per lane.
  const std::vector<uint64_t>& ring_drops() const { return ring_drops_; }

 private:
  CaptureFeeder() = default;
  bool make_lanes(size_t workers, int socket, std::string& error);
  unsigned poll_live();
  bool lanes_have_room() const;
  void end_input();  // offline: the current input is read to its end (its port closed, with ports_)
  void hand_over(const StagedFrame* frames, unsigned n);  // each frame to its lane's ring

  std::vector<Input> inputs_;
  std::vector<std::unique_ptr<CaptureLane>> lanes_;
  uint32_t input_ = 0;  // the input being read
  CapturePorts* ports_ = nullptr;  // offline: opens and closes each file's port, when not all are open
  bool input_open_ = false;        // with ports_: inputs_[input_]'s port is open
  FrameStager stager_;
  std::unique_ptr<StagedFrame[]> frames_;   // one burst; a local array would be zeroed on every call
  std::unique_ptr<StagedFrame[]> sorted_;   // the burst dealt out: lanes x burst
  std::vector<unsigned> dealt_;             // frames per lane in sorted_
  std::vector<uint64_t> ring_drops_;        // live: per lane
  uint16_t burst_ = 32;
  bool live_ = false;
  const std::atomic<bool>* stop_ = nullptr;  // live
  std::atomic<bool> stopped_{false};         // live: read no more (the lanes' feeder_stopped)
};

}  // namespace flowscore
