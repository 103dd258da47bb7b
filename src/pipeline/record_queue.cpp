#include "record_queue.hpp"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <fmt/format.h>

namespace flowscore {

std::unique_ptr<RecordQueue> RecordQueue::create(uint32_t records, uint16_t worker, int socket, std::string& error) {
  std::unique_ptr<RecordQueue> q(new RecordQueue());
  q->records_ = records;
  q->pool_ = static_cast<FlowRecord*>(
      rte_zmalloc_socket("flow_records", sizeof(FlowRecord) * size_t{records}, RTE_CACHE_LINE_SIZE, socket));
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
  q->filled_ = rte_ring_create(fmt::format("rec_filled_{}", worker).c_str(), records, socket, flags);
  q->free_ = rte_ring_create(fmt::format("rec_free_{}", worker).c_str(), records, socket, flags);
  if (q->pool_ == nullptr || q->filled_ == nullptr || q->free_ == nullptr) {
    error = fmt::format("cannot allocate the record queue of worker {} ({} records): {}", worker, records,
                        rte_strerror(rte_errno));
    return nullptr;
  }
  for (uint32_t i = 0; i < records; ++i) {
    FlowRecord* r = &q->pool_[i];
    rte_ring_sp_enqueue(q->free_, r);
  }
  return q;
}

RecordQueue::~RecordQueue() {
  rte_ring_free(filled_);
  rte_ring_free(free_);
  rte_free(pool_);
}

unsigned RecordQueue::take_free(FlowRecord** out, unsigned max) {
  return rte_ring_sc_dequeue_burst(free_, reinterpret_cast<void**>(out), max, nullptr);
}

void RecordQueue::publish(FlowRecord* const* recs, unsigned n) {
  rte_ring_sp_enqueue_bulk(filled_, reinterpret_cast<void* const*>(recs), n, nullptr);
}

unsigned RecordQueue::drain(FlowRecord** out, unsigned max) {
  return rte_ring_sc_dequeue_burst(filled_, reinterpret_cast<void**>(out), max, nullptr);
}

void RecordQueue::give_back(FlowRecord* const* recs, unsigned n) {
  rte_ring_sp_enqueue_bulk(free_, reinterpret_cast<void* const*>(recs), n, nullptr);
}

}  // namespace flowscore
