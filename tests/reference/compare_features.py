#!/usr/bin/python3
"""Compare flowscore's feature CSV with the reference's, flow by flow.

    compare_features.py --pair FLOWSCORE.csv REFERENCE.csv [--pair ...]
                        [--min-match 0.995] [--ulp 0] [--show 3]

Flows are matched on (input, proto, src_ip, src_port, dest_ip, dest_port,
start), `input` being the capture's basename, so one CSV may hold several
captures as long as their basenames differ.
Orientation is part of the key: docs/FEATURES.md §1 fixes the initiator, so a
flow whose src/dest are swapped is a mismatch (reported as such).
`start` is compared in whole microseconds: flowscore's offline clock is the
pcap PMD's microsecond timestamp (docs/ARCHITECTURE.md "Time").

Values are compared as float32 bit patterns (NaN equals NaN):
docs/FEATURES.md §9 says two correct implementations agree bit for bit, so
the default tolerance is 0 ulp; --ulp K admits K float32 ulps, for diagnosis.

The match rate is (flows present in both with every feature equal) /
(flows in either file). Exit status 1 when it is below --min-match or the
feature columns differ, 2 on unreadable input.
"""
import argparse
import csv
import datetime
import ipaddress
import math
import signal
import struct
import sys
from collections import defaultdict
from decimal import Decimal

METADATA = ["flow_id", "input", "src_ip", "src_port", "dest_ip", "dest_port",
            "proto", "start", "end", "label"]
PROTO_NAMES = {"ICMP": 1, "TCP": 6, "UDP": 17, "IPV6-ICMP": 58, "ICMPV6": 58, "SCTP": 132}


def parse_proto(text):
    text = text.strip()
    return int(text) if text.isdigit() else PROTO_NAMES[text.upper()]


def parse_time_us(text):
    """Integer microseconds since the epoch from decimal seconds (what both
    tools write) or an EVE/ISO-8601 timestamp."""
    text = text.strip()
    try:
        return int(Decimal(text) * 10**6 // 1)
    except ArithmeticError:
        pass
    stamp = datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    delta = stamp - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds


def flow_key(row, swap=False):
    src = (ipaddress.ip_address(row["src_ip"].strip()), int(row["src_port"] or 0))
    dst = (ipaddress.ip_address(row["dest_ip"].strip()), int(row["dest_port"] or 0))
    if swap:
        src, dst = dst, src
    return (row["input"].strip(), parse_proto(row["proto"])) + src + dst + (parse_time_us(row["start"]),)


def f32_bits(text):
    """float32 bit pattern of a CSV cell; every NaN maps to one pattern."""
    text = text.strip()
    value = float(text) if text else math.nan
    if math.isnan(value):
        return 0x7FC00000
    return struct.unpack("<I", struct.pack("<f", value))[0]


def ulp_distance(a_bits, b_bits):
    if (a_bits == 0x7FC00000) != (b_bits == 0x7FC00000):
        return math.inf

    def ordered(bits):  # monotone map of float32 bit patterns onto integers
        return bits if bits < 0x80000000 else 0x80000000 - bits
    return abs(ordered(a_bits) - ordered(b_bits))


def read_table(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in METADATA if c not in header]
        if missing:
            raise ValueError(f"{path}: missing metadata columns {missing}")
        rows = {}
        duplicates = []
        for row in reader:
            key = flow_key(row)
            if key in rows:
                duplicates.append(key)
            rows[key] = row
        return [c for c in header if c not in METADATA], rows, duplicates


class Comparison:
    def __init__(self, ulp, show):
        self.ulp, self.show = ulp, show
        self.columns = None
        self.flows_both = self.flows_all_equal = 0
        self.only = {"flowscore": [], "reference": []}
        self.swapped = []
        self.duplicates = []
        self.mismatches = defaultdict(int)
        self.within_ulp = defaultdict(int)
        self.examples = defaultdict(list)
        self.header_errors = []

    def add_pair(self, fs_path, ref_path):
        fs_cols, fs_rows, fs_dup = read_table(fs_path)
        ref_cols, ref_rows, ref_dup = read_table(ref_path)
        if fs_cols != ref_cols:
            self.header_errors.append(f"{fs_path}: feature columns differ from {ref_path}: "
                                      f"{_first_difference(fs_cols, ref_cols)}")
            return
        if self.columns is None:
            self.columns = ref_cols
        elif self.columns != ref_cols:
            self.header_errors.append(f"{ref_path}: columns differ from the first pair's")
            return
        self.duplicates += [(fs_path, k) for k in fs_dup] + [(ref_path, k) for k in ref_dup]
        for key, ref in ref_rows.items():
            fs = fs_rows.get(key)
            if fs is None:
                self.only["reference"].append((ref_path, key))
                if flow_key(ref, swap=True) in fs_rows:
                    self.swapped.append((ref_path, key))
                continue
            self.flows_both += 1
            equal = True
            for col in ref_cols:
                a, b = f32_bits(fs[col]), f32_bits(ref[col])
                if a == b:
                    continue
                distance = ulp_distance(a, b)
                if distance <= self.ulp:
                    self.within_ulp[col] += 1
                    continue
                equal = False
                self.mismatches[col] += 1
                if len(self.examples[col]) < self.show:
                    self.examples[col].append((ref_path, key, fs[col], ref[col]))
            self.flows_all_equal += equal
        self.only["flowscore"] += [(fs_path, k) for k in fs_rows if k not in ref_rows]

    def add_unmatched_reference(self, ref_path):
        _, ref_rows, _ = read_table(ref_path)
        self.only["reference"] += [(ref_path, k) for k in ref_rows]

    def flows_total(self):
        return self.flows_both + len(self.only["flowscore"]) + len(self.only["reference"])

    def match_rate(self):
        total = self.flows_total()
        return self.flows_all_equal / total if total else 1.0

    def report(self, out):
        p = lambda *a: print(*a, file=out)  # noqa: E731
        for err in self.header_errors:
            p("HEADER:", err)
        total = self.flows_total()
        p(f"flows: {total} in either file, {self.flows_both} in both, "
          f"{len(self.only['flowscore'])} flowscore-only, {len(self.only['reference'])} reference-only "
          f"({len(self.swapped)} of those with src/dest swapped)")
        p(f"all features equal: {self.flows_all_equal} flows = {100 * self.match_rate():.3f}% of {total}")
        if self.duplicates:
            p(f"duplicate keys: {len(self.duplicates)}, e.g. {self.duplicates[:self.show]}")
        for side in ("flowscore", "reference"):
            for path, key in self.only[side][:self.show]:
                p(f"  only in {side}: {_fmt_key(key)}  [{path}]")
        if self.columns and self.flows_both:
            p(f"per feature, exact-match rate over the {self.flows_both} flows in both:")
            for col in self.columns:
                bad = self.mismatches.get(col, 0)
                tol = f" ({self.within_ulp[col]} within {self.ulp} ulp)" if self.within_ulp.get(col) else ""
                if bad or tol:
                    p(f"  {col:20s} {100 * (1 - bad / self.flows_both):8.3f}%  {bad} mismatches{tol}")
            clean = [c for c in self.columns if not self.mismatches.get(c)]
            p(f"  {len(clean)} of {len(self.columns)} features: 100.000%")
            for col in self.columns:
                for path, key, fs, ref in self.examples.get(col, []):
                    p(f"  {col}: flowscore={fs} reference={ref}  {_fmt_key(key)}  [{path}]")


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"column {i}: {x!r} vs {y!r}"
    return f"{len(a)} vs {len(b)} columns"


def _fmt_key(key):
    capture, proto, sip, sport, dip, dport, start = key
    return f"{capture}: proto {proto} {sip}:{sport} -> {dip}:{dport} start_us {start}"


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pair", nargs=2, action="append", required=True,
                    metavar=("FLOWSCORE_CSV", "REFERENCE_CSV"))
    ap.add_argument("--unmatched-reference", action="append", default=[], metavar="REFERENCE_CSV",
                    help="reference flows of a capture flowscore refused: all count as reference-only")
    ap.add_argument("--min-match", type=float, default=0.995)
    ap.add_argument("--ulp", type=int, default=0, help="float32 ulps tolerated (default 0: exact)")
    ap.add_argument("--show", type=int, default=3, help="examples per feature / class")
    args = ap.parse_args(argv)
    cmp = Comparison(args.ulp, args.show)
    try:
        for fs_path, ref_path in args.pair:
            cmp.add_pair(fs_path, ref_path)
        for ref_path in args.unmatched_reference:
            cmp.add_unmatched_reference(ref_path)
    except (OSError, ValueError, KeyError) as err:
        print(f"compare_features: {err}", file=sys.stderr)
        return 2
    cmp.report(sys.stdout)
    ok = not cmp.header_errors and cmp.match_rate() >= args.min_match
    print(f"{'PASS' if ok else 'FAIL'}: match rate {cmp.match_rate():.5f}, threshold {args.min_match}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
