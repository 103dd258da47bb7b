// Hands finished flow records from one worker to the writer, lock-free.
//
// A fixed pool of FlowRecord lives in DPDK memory; two single-producer/
// single-consumer rte_rings carry pointers: `filled` (worker -> writer) and
// `free` (writer -> worker). Each ring can hold the whole pool, so an enqueue
// never fails; only the pool can run dry, and then the worker decides: wait
// (offline and in a flush: lossless) or count a drop (live with packets to
// serve: never block the packet path).
#pragma once
#include <memory>
#include <string>

#include "flowscore/flow_record.hpp"

struct rte_ring;

namespace flowscore {

class RecordQueue {
 public:
  static std::unique_ptr<RecordQueue> create(uint32_t records, uint16_t worker, int socket, std::string& error);
  ~RecordQueue();

  // Worker side.
  unsigned take_free(FlowRecord** out, unsigned max);
  void publish(FlowRecord* const* recs, unsigned n);
  // Writer side.
  unsigned drain(FlowRecord** out, unsigned max);
  void give_back(FlowRecord* const* recs, unsigned n);
  uint32_t capacity() const { return records_; }

 private:
  RecordQueue() = default;
  FlowRecord* pool_ = nullptr;
  rte_ring* filled_ = nullptr;
  rte_ring* free_ = nullptr;
  uint32_t records_ = 0;
};

}  // namespace flowscore
