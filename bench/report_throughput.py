#!/usr/bin/python3
"""`flowscore report` throughput on a big EVE file, side by side with the
least a Python consumer of the same file does (json.loads of every line,
nothing aggregated), whole process, median of ROUNDS rotated rounds.

usage: bench/report_throughput.py BUILD_DIR EVE.json [--rounds N]
(EVE.json: e.g. the output of `flowscore run` on the 5M-packet capture.)
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PY_PARSE = "import json, sys\nn = 0\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line); n += 1\nprint(n)\n"


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"bench: {cmd[0]} failed: {p.stderr}")
    return time.perf_counter() - t


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("eve")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args(argv)
    out = os.path.join(tempfile.mkdtemp(prefix="report-bench-"), "report.html")
    lines = sum(1 for _ in open(a.eve, "rb"))
    contenders = {
        "flowscore report": [os.path.join(a.build, "src/cli/flowscore"), "report", a.eve, "-o", out, "-q"],
        "python json.loads per line": ["/usr/bin/python3", "-c", PY_PARSE, a.eve],
    }
    times = {k: [] for k in contenders}
    names = list(contenders)
    for r in range(a.rounds):
        for k in names[r % 2:] + names[:r % 2]:
            times[k].append(timed(contenders[k]))
    base = statistics.median(times["python json.loads per line"])
    print(f"{lines} lines, {os.path.getsize(a.eve) / 1e6:.0f} MB; {a.rounds} rounds; report {os.path.getsize(out) >> 10} KiB")
    print("| program | median s | M lines/s | × python |")
    print("|---|---:|---:|---:|")
    for k, t in times.items():
        m = statistics.median(t)
        print(f"| {k} | {m:.2f} | {lines / m / 1e6:.2f} | {m / base:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
