"""pair_flows: flows the record's two hosts began lately (docs/FEATURES.md §7a).

Word for word and unbounded: every pair keeps its latest epoch and the number
of flows counted in each epoch, forever. (flowscore keeps a fixed store and
forgets the stalest pairs when it is full; the corpus never fills it.)
"""
from collections import Counter

PAIR_FLOWS_CAP = 255


class PairCounts:
    def __init__(self, window_ns):
        self.window_ns = window_ns
        self.pairs = {}   # unordered address pair -> [latest epoch E_p, Counter epoch -> flows]

    def record_starts(self, addr_a, addr_b, ts_ns, begins_flow):
        """pair_flows of a record whose first packet is at ts_ns; begins_flow
        is False for a record that continues its flow after an active timeout."""
        pair = (min(addr_a, addr_b), max(addr_a, addr_b))
        state = self.pairs.get(pair)
        if state is None:
            if not begins_flow:
                return 0          # an unknown pair stays unknown
            state = self.pairs[pair] = [ts_ns // self.window_ns, Counter()]
        epoch = max(ts_ns // self.window_ns, state[0])
        state[0] = epoch
        counted = state[1]
        if begins_flow:
            counted[epoch] += 1
        return min(counted[epoch] + counted[epoch - 1], PAIR_FLOWS_CAP)
