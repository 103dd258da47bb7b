#!/usr/bin/python3
"""Reference implementation of flowscore's per-flow features (flowscore-features v2).

Written from docs/FEATURES.md and issue 2 §3-§4 only, never from the C++, so
tests/reference/compare_features.py can hold `flowscore extract` against it.
Slow on purpose: whole packet lists per flow, textbook formulas.

    /usr/bin/python3 scripts/reference_features.py --pcap F.pcap --out ref.csv

Exit status: 0 on success, 2 when a capture cannot be read (unknown format or
a link type flowscore does not support either).
"""
import argparse
import csv
import ipaddress
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from refflow import capture, decode, features, flows  # noqa: E402
from refflow.columns import METADATA, feature_columns  # noqa: E402

# Defaults mirror conf/flowscore.json (seconds).
DEFAULT_IDLE_S, DEFAULT_ACTIVE_S, DEFAULT_LINGER_S = 60, 1800, 2
DEFAULT_FIRST_PACKETS, DEFAULT_ACTIVITY_GAP_S, DEFAULT_PAIR_WINDOW_S = 8, 5, 60
DEFAULT_FRAGMENT_S, DEFAULT_RESOLUTION_S = 30, 0.1


def seconds_to_ns(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return round(value * 1_000_000_000)


def window_to_ns(text):
    ns = seconds_to_ns(text)
    if ns < 1_000_000_000:
        raise argparse.ArgumentTypeError("must be at least 1 second (FEATURES.md §7a)")
    return ns


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pcap", action="append", required=True, help="capture (repeatable; each one is its own flow table)")
    p.add_argument("--out", required=True, help="CSV path, - for stdout")
    p.add_argument("--idle-timeout", type=seconds_to_ns, default=DEFAULT_IDLE_S * 10**9, metavar="S")
    p.add_argument("--active-timeout", type=seconds_to_ns, default=DEFAULT_ACTIVE_S * 10**9, metavar="S")
    p.add_argument("--tcp-linger", type=seconds_to_ns, default=DEFAULT_LINGER_S * 10**9, metavar="S")
    p.add_argument("--fragment-timeout", type=seconds_to_ns, default=DEFAULT_FRAGMENT_S * 10**9, metavar="S")
    p.add_argument("--expiry-resolution", type=seconds_to_ns, default=round(DEFAULT_RESOLUTION_S * 10**9),
                   metavar="S", help="timer tick; a flow ends at the first tick after its deadline (0: exactly)")
    p.add_argument("--first-packets", type=int, default=DEFAULT_FIRST_PACKETS, choices=range(0, 33), metavar="N")
    p.add_argument("--activity-gap", type=seconds_to_ns, default=DEFAULT_ACTIVITY_GAP_S * 10**9, metavar="S")
    p.add_argument("--pair-window", type=window_to_ns, default=DEFAULT_PAIR_WINDOW_S * 10**9, metavar="S")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    return p.parse_args(argv)


def flows_of_capture(path, timeouts):
    """(finished records, counters) for one capture."""
    table = flows.FlowTable(timeouts)
    for rec in capture.read_records(path):
        if rec.link_type not in decode.SUPPORTED_LINK_TYPES:
            raise capture.CaptureError("unsupported link type %d" % rec.link_type)
        pkt = decode.decode(rec.link_type, rec.ts_ns, rec.frame, rec.snaplen)
        if isinstance(pkt, str):
            table.counters[pkt] = table.counters.get(pkt, 0) + 1
            continue
        table.add(pkt)
    table.flush()
    return table.finished, table.counters


def epoch_seconds(ns):
    """Exact decimal seconds, as docs/LABELS.md writes times."""
    return "%d.%09d" % divmod(ns, 1_000_000_000)


def format_value(v):
    """float32 printed with 9 significant digits: enough to round-trip (§6)."""
    return "%.9g" % float(v)


def main(argv):
    args = parse_args(argv)
    timeouts = flows.Timeouts(idle_ns=args.idle_timeout, active_ns=args.active_timeout,
                              tcp_linger_ns=args.tcp_linger, fragment_ns=args.fragment_timeout,
                              resolution_ns=args.expiry_resolution, pair_window_ns=args.pair_window)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(METADATA) + feature_columns(args.first_packets))
    for path in args.pcap:
        try:
            records, counters = flows_of_capture(path, timeouts)
        except (capture.CaptureError, OSError) as err:
            print(f"reference_features: {path}: {err}", file=sys.stderr)
            return 2
        records.sort(key=lambda r: (r.first_ts, r.serial))
        for rec in records:
            vec = features.compute(rec.packets, args.first_packets, args.activity_gap, rec.pair_flows)
            meta = ["", os.path.basename(path), ipaddress.ip_address(rec.src), rec.sport,
                    ipaddress.ip_address(rec.dst), rec.dport, rec.proto,
                    epoch_seconds(rec.first_ts), epoch_seconds(rec.last_ts), ""]
            writer.writerow(meta + [format_value(v) for v in vec])
        if not args.quiet:
            pkts = sum(len(r.packets) for r in records)
            print(f"reference_features: {path}: {pkts} packets in {len(records)} records; "
                  f"not flowed: {dict(sorted(counters.items()))}", file=sys.stderr)
    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
