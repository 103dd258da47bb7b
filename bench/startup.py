#!/usr/bin/python3
"""Start-up cost of an offline run: exec to exit on a capture so small that
reading it is free, side by side in one run (issue 17).

Contenders, rotated each round, wall time of the whole process:
  flowscore            flowscore run, default config and model, --no-huge
  flowscore-full-table the same with flow.fit_table_to_input=false (the
                       table sized for a live link, as before)
  flowscore-no-model   the same as the first with --model none
  flowscore-hugepages  the first with dpdk.hugepages "auto" (2 MiB pages when free)
  dpdk-floor           bench/pcap_read_floor: rte_eal_init (--no-huge), an
                       8,191-mbuf pool, one pcap port, read, exit: what any
                       DPDK program pays before its first packet

usage: bench/startup.py BUILD_DIR [CAPTURE] [--rounds N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CAPTURE = os.path.join(ROOT, "tests", "data", "packet", "suricata-http-ipv6-null.pcap")


def timed(cmd):
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({run.returncode}): {run.stderr.strip()}")
    return elapsed


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build")
    p.add_argument("capture", nargs="?", default=DEFAULT_CAPTURE)
    p.add_argument("--rounds", type=int, default=21)
    args = p.parse_args(argv)
    flowscore = os.path.join(args.build, "src", "cli", "flowscore")
    run = [flowscore, "run", "--pcap", args.capture, "--out", "/dev/null", "-q", "--set", "dpdk.hugepages=no"]
    contenders = {
        "flowscore": run,
        "flowscore-full-table": run + ["--set", "flow.fit_table_to_input=false"],
        "flowscore-no-model": run + ["--model", "none"],
        "flowscore-hugepages": run[:-2],  # dpdk.hugepages "auto": the pool when it has room
        "dpdk-floor": [os.path.join(args.build, "bench", "pcap_read_floor"), args.capture],
    }
    times = {name: [] for name in contenders}
    order = list(contenders)
    for r in range(args.rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            times[name].append(timed(contenders[name]))
    median = {name: statistics.median(t) for name, t in times.items()}
    floor = median["dpdk-floor"]
    print(f"capture: {args.capture} ({os.path.getsize(args.capture)} bytes); {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.2f}")
    print()
    print("| program | median s | × DPDK floor |")
    print("|---|---:|---:|")
    for name, m in median.items():
        print(f"| {name} | {m:.3f} | {m / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
