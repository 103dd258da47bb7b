#!/usr/bin/python3
"""`flowscore report` throughput on a big EVE file, side by side with the
least a Python consumer of the same file does (json.loads of every line,
nothing aggregated), whole process, median of ROUNDS rotated rounds.

usage: bench/report_throughput.py BUILD_DIR EVE.json [--rounds N] [--against OTHER_BUILD_DIR]
(EVE.json: e.g. the output of `flowscore run` on the 5M-packet capture.)

Besides wall time it reports each program's CPU time (user + system, from
wait4): the report runs on one thread, so lines per CPU-second is its speed
per core, and it moves less than wall time when another job shares the
machine. --against adds a second build's `flowscore report` to the same
rotated rounds, for an A/B of two versions on the same input.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PY_PARSE = "import json, sys\nn = 0\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line); n += 1\nprint(n)\n"
PYTHON = "python json.loads per line"


def timed(cmd):
    """(wall seconds, CPU seconds) of one run of cmd."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"bench: {cmd[0]} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("eve")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--against", help="another build directory, its flowscore report timed in the same rounds")
    a = ap.parse_args(argv)
    out = os.path.join(tempfile.mkdtemp(prefix="report-bench-"), "report.html")
    lines = sum(1 for _ in open(a.eve, "rb"))
    report = lambda build: [os.path.join(build, "src/cli/flowscore"), "report", a.eve, "-o", out, "-q"]
    contenders = {f"flowscore report ({a.build})": report(a.build)}
    if a.against:
        contenders[f"flowscore report ({a.against})"] = report(a.against)
    contenders[PYTHON] = ["/usr/bin/python3", "-c", PY_PARSE, a.eve]
    runs = {k: [] for k in contenders}
    names = list(contenders)
    for r in range(a.rounds):
        shift = r % len(names)
        for k in names[shift:] + names[:shift]:
            runs[k].append(timed(contenders[k]))
    base = statistics.median(w for w, _ in runs[PYTHON])
    print(f"{lines} lines, {os.path.getsize(a.eve) / 1e6:.0f} MB; {a.rounds} rounds; report {os.path.getsize(out) >> 10} KiB")
    print("| program | median s | M lines/s | × python | median CPU s | M lines per CPU-second |")
    print("|---|---:|---:|---:|---:|---:|")
    for k, r in runs.items():
        wall = statistics.median(w for w, _ in r)
        cpu = statistics.median(c for _, c in r)
        print(f"| {k} | {wall:.2f} | {lines / wall / 1e6:.2f} | {wall / base:.2f} | {cpu:.2f} | {lines / cpu / 1e6:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
