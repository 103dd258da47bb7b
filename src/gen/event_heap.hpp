// Min-heap of the active flows' next packet times, ordered by (time, flow
// ordinal) so ties break the same way on every run.
//
// 4-ary rather than binary: a node's four children are one 64-byte cache
// line, and the tree is half as deep, which matters with 100k+ active flows.
// replace_top() re-queues the flow just emitted with one sift-down, instead
// of a pop and a push.
#pragma once
#include <cstdint>
#include <vector>

namespace flowscore::gen {

struct FlowEvent {
  int64_t t_us;
  uint32_t ordinal;
  uint32_t slot;
  bool before(const FlowEvent& o) const {
    return t_us != o.t_us ? t_us < o.t_us : ordinal < o.ordinal;
  }
};

class EventHeap {
 public:
  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  const FlowEvent& top() const { return v_.front(); }

  void push(const FlowEvent& e) {
    v_.push_back(e);
    size_t i = v_.size() - 1;
    while (i > 0) {
      const size_t parent = (i - 1) / 4;
      if (!e.before(v_[parent])) break;
      v_[i] = v_[parent];
      i = parent;
    }
    v_[i] = e;
  }

  void pop() {
    const FlowEvent last = v_.back();
    v_.pop_back();
    if (!v_.empty()) sift_down(last);
  }

  void replace_top(const FlowEvent& e) { sift_down(e); }

 private:
  void sift_down(const FlowEvent& e) {
    const size_t n = v_.size();
    size_t i = 0;
    for (;;) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t end = first + 4 < n ? first + 4 : n;
      for (size_t c = first + 1; c < end; ++c)
        if (v_[c].before(v_[best])) best = c;
      if (!v_[best].before(e)) break;
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = e;
  }

  std::vector<FlowEvent> v_;
};

}  // namespace flowscore::gen
