"""The feature vector of one flow record, straight from docs/FEATURES.md.

Each value is produced as an exact Python int or a binary64 float and
rounded to float32 once, at the end (§6). Statistics use the §5 formulas
on the explicit list of values, not running accumulators.
"""
import math

import numpy as np

from .columns import FLAGS

NAN = float("nan")
LENGTH_CAP = 65535               # §2: L_i = min(ip_len_i, 65535)
TIME_SATURATION = 2 ** 32 - 1    # §3 span limit, microseconds
FLAG_SATURATION = 65535          # §7: every flag count but psh and ack
EXACT_FLAGS = ("psh", "ack")


def stats(values):
    """§5: (min, max, mean, std) of a list of non-negative ints; NaN when empty."""
    n = len(values)
    if n == 0:
        return [NAN, NAN, NAN, NAN]
    s = sum(values)
    q = sum(v * v for v in values)
    return [min(values), max(values), float(s) / n, math.sqrt(float(n * q - s * s)) / n]


def record_times(ts_ns):
    """§3: per-packet t_i in microseconds since the record's first packet."""
    times, e_prev = [], None
    for ts in ts_ns:
        e = ts if e_prev is None else max(ts, e_prev)
        e_prev = e
        times.append(min(e // 1000 - ts_ns[0] // 1000, TIME_SATURATION))
    return times


def active_idle(times, activity_gap_ns):
    """§8: (active-period durations, idle gaps)."""
    actives, idles = [], []
    run_start = times[0]
    for i in range(1, len(times)):
        gap = times[i] - times[i - 1]
        if gap * 1000 > activity_gap_ns:
            idles.append(gap)
            actives.append(times[i - 1] - run_start)
            run_start = times[i]
    actives.append(times[-1] - run_start)
    return actives, idles


def compute(packets, first_packets, activity_gap_ns, pair_flows):
    """packets: list of (Packet, is_forward) in table order; pair_flows is the
    record's §7a count (the flow table's). Returns float32 list."""
    n = len(packets)
    times = record_times([p.ts_ns for p, _ in packets])
    lengths = [min(p.ip_len, LENGTH_CAP) for p, _ in packets]
    fwd_idx = [i for i, (_, f) in enumerate(packets) if f]
    bwd_idx = [i for i, (_, f) in enumerate(packets) if not f]
    by_dir = (fwd_idx, bwd_idx)

    values = []
    values += [len(fwd_idx), len(bwd_idx)]
    values += [sum(packets[i][0].wire for i in idx) for idx in by_dir]
    values += [sum(lengths[i] for i in idx) for idx in by_dir]
    values += [sum(packets[i][0].payload for i in idx) for idx in by_dir]
    values.append(times[-1])
    for idx in by_dir + (range(n),):
        values += stats([lengths[i] for i in idx])
    for idx in by_dir:
        values += stats([times[b] - times[a] for a, b in zip(idx, idx[1:])])
    values += stats([times[i] - times[i - 1] for i in range(1, n)])
    for idx in by_dir:
        for bit, name in enumerate(FLAGS):
            count = sum(1 for i in idx if packets[i][0].tcp and packets[i][0].flags >> bit & 1)
            values.append(count if name in EXACT_FLAGS else min(count, FLAG_SATURATION))
    for idx in by_dir:
        tcp_windows = [packets[i][0].win for i in idx if packets[i][0].tcp]
        values.append(tcp_windows[0] if tcp_windows else NAN)
    actives, idles = active_idle(times, activity_gap_ns)
    values += stats(actives)
    values += stats(idles)
    values.append(pair_flows)
    first = range(first_packets)
    values += [lengths[k] if k < n else NAN for k in first]
    values += [(1 if packets[k][1] else 0) if k < n else NAN for k in first]
    values += [(0 if k == 0 else times[k] - times[k - 1]) if k < n else NAN for k in first]
    # §6: one rounding, binary64 -> float32 (ints go through float64 first).
    return [np.float32(float(v)) for v in values]
