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
// One lane per worker: a single-producer/single-consumer ring of
// StagedFrames and a two-counter handshake that marks where one capture file
// ends and the next begins (each file is flushed on its own clock, so the
// worker must see the end of file k before any frame of file k+1).
//
// Bursts keep their boundaries: the worker takes exactly the bursts the PMD
// returned (full `burst` sized ones, and a file's last, shorter one). Expiry
// runs between bursts and record order follows it, so this is what makes the
// output byte-identical to a worker reading the file itself.
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

// The worker's side of a lane.
class CaptureLane {
 public:
  // The next burst of the current input: `burst` frames, or fewer only for
  // the last burst of a file; 0 when no whole burst is waiting yet.
  unsigned take(StagedFrame* frames, unsigned burst);
  // True once the current input's last packet has been taken: the feeder
  // has read it to its end and the ring is empty.
  bool input_ended();
  // The worker has flushed the current input: the feeder may start the next.
  void next_input();

 private:
  friend class CaptureFeeder;
  rte_ring* ring_ = nullptr;
  std::atomic<uint32_t> inputs_read_{0};  // feeder: inputs read to their end
  std::atomic<uint32_t> inputs_done_{0};  // worker: inputs flushed
};

class CaptureFeeder {
 public:
  struct Input {
    uint16_t port = 0;  // a started net_pcap port (queue 0)
    LinkType link = LinkType::kEthernet;
    uint32_t snaplen = 0;
  };
  // `inputs_per_worker[w]` are worker w's inputs in the order it reads them;
  // `burst` is the workers' burst size (at most FlowTable::kMaxBurst).
  // Returns null with `error` when a ring cannot be made, or when the PMD
  // does not stamp capture times (the workers then read for themselves).
  static std::unique_ptr<CaptureFeeder> create(std::vector<std::vector<Input>> inputs_per_worker, uint16_t burst,
                                               int socket, std::string& error);
  ~CaptureFeeder();
  CaptureFeeder(const CaptureFeeder&) = delete;
  CaptureFeeder& operator=(const CaptureFeeder&) = delete;

  CaptureLane& lane(size_t worker) { return *lanes_[worker].lane; }
  // Fills every lane's ring as far as it has room. Returns frames moved.
  unsigned poll();

 private:
  struct Lane {
    std::unique_ptr<CaptureLane> lane;
    std::vector<Input> inputs;
  };
  CaptureFeeder() = default;
  unsigned fill(Lane& l);

  std::vector<Lane> lanes_;
  FrameStager stager_;
  std::unique_ptr<StagedFrame[]> frames_;  // one burst; a local array would be zeroed on every call
  uint16_t burst_ = 32;
};

}  // namespace flowscore
