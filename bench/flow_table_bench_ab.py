#!/usr/bin/python3
"""A/B the flow table's per-packet cost: runs several flow_table_bench
binaries in turn, round after round (so a busy neighbour hurts all of them
alike), and prints the median and the minimum ns per packet (real and CPU
time) per flow count. On a shared machine the minimum CPU time is the run
least disturbed by neighbours.

  bench/flow_table_bench_ab.py --rounds 5 before=/tmp/bench_old after=build/bench/flow_table_bench
"""
import argparse
import json
import statistics
import subprocess
import sys
from collections import defaultdict

PACKETS_PER_ITERATION = 32  # one burst, as BM_FlowTableAccount accounts it


def run_once(binary, repetitions, flows):
    out = subprocess.run([binary, f"--benchmark_filter=BM_FlowTableAccount/{flows}", "--benchmark_format=json",
                          f"--benchmark_repetitions={repetitions}"],
                         check=True, capture_output=True, text=True).stdout
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        yield b["run_name"].split("/")[1], b["real_time"], b["cpu_time"], b.get("bytes_per_flow")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--flows", default="", help="regex on the flow count, e.g. 1000000")
    ap.add_argument("binaries", nargs="+", help="name=path")
    args = ap.parse_args()
    named = [b.split("=", 1) for b in args.binaries]
    samples = defaultdict(lambda: defaultdict(list))  # name -> flows -> [(real, cpu)]
    memory = {}
    for r in range(args.rounds):
        for name, path in named:
            for flows, real_ms, cpu_ms, bpf in run_once(path, args.repetitions, args.flows):
                samples[name][flows].append((real_ms, cpu_ms))
                memory[(name, flows)] = bpf
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'binary':<12} {'flows':>8} {'runs':>5} {'real med':>9} {'cpu med':>8} {'real min':>9} {'cpu min':>8}"
          f" {'B/flow':>7}   (ns per packet)")
    for name, _ in named:
        for flows, runs in samples[name].items():
            ns = [(real * 1e6 / PACKETS_PER_ITERATION, cpu * 1e6 / PACKETS_PER_ITERATION) for real, cpu in runs]
            print(f"{name:<12} {flows:>8} {len(ns):>5} {statistics.median(s[0] for s in ns):>9.1f}"
                  f" {statistics.median(s[1] for s in ns):>8.1f} {min(s[0] for s in ns):>9.1f}"
                  f" {min(s[1] for s in ns):>8.1f} {memory[(name, flows)]:>7.0f}")


if __name__ == "__main__":
    main()
