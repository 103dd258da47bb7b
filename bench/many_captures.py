#!/usr/bin/python3
"""A corpus of many small captures: one process over a list against one
process per file, side by side in one run (issue 17, "start-up cost").

Contenders, alternating each round, wall time of the whole job:
  one-process   flowscore run --pcap-list LIST --out OUT (one EAL start-up;
                beyond 32 files each file's pcap port opens as it is read)
  shell-loop    sh -c 'while read f; do flowscore run --pcap "$f" --out - ; done < LIST > OUT'
Both use the default config and model and the same DPDK memory choice
(dpdk.hugepages, default "auto"); both write every record to one file, and
the two files must hold the same flows (the check at the end).

The corpus: N links to the small captures in tests/data/output and
tests/data/packet that a run takes on their own, cycled.

usage: bench/many_captures.py BUILD_DIR [--files N] [--rounds R] [--dir DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def corpus(flowscore, directory, files):
    sources = []
    for sub in ("output", "packet"):
        d = os.path.join(ROOT, "tests", "data", sub)
        sources += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".pcap")]
    sources = [f for f in sources if subprocess.run([flowscore, "run", "-q", "--model", "none", "--pcap", f,
                                                     "--out", os.devnull], capture_output=True).returncode == 0]
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i in range(files):
        link = os.path.join(directory, f"{i:05d}-{os.path.basename(sources[i % len(sources)])}")
        if not os.path.lexists(link):
            os.symlink(sources[i % len(sources)], link)
        paths.append(link)
    return paths


def flows(path):
    out = set()
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("event_type") == "flow":
                out.add((r["in_iface"], r["community_id"], r["flow"]["pkts_toserver"], r["flow"]["bytes_toserver"]))
    return out


def timed(cmd, **kw):
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"bench: {cmd} failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    return elapsed


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build")
    p.add_argument("--files", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dir", default=None)
    a = p.parse_args(argv)
    flowscore = os.path.abspath(os.path.join(a.build, "src", "cli", "flowscore"))
    work = a.dir or tempfile.mkdtemp(prefix="flowscore-many-")
    paths = corpus(flowscore, os.path.join(work, "corpus"), a.files)
    listing = os.path.join(work, "corpus.list")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    out_one, out_loop = os.path.join(work, "one.json"), os.path.join(work, "loop.json")
    one = [flowscore, "run", "-q", "--pcap-list", listing, "--out", out_one]
    loop = ["sh", "-c", f'while read f; do "{flowscore}" run -q --pcap "$f" --out - || exit 1; done < "{listing}" > "{out_loop}"']
    times = {"one-process": [], "shell-loop": []}
    for r in range(a.rounds):
        order = [("one-process", one), ("shell-loop", loop)]
        for name, cmd in order if r % 2 == 0 else reversed(order):
            times[name].append(timed(cmd))
    same = flows(out_one) == flows(out_loop)
    print(f"{a.files} captures, {a.rounds} rounds, load average {os.getloadavg()[0]:.2f}")
    for name, t in times.items():
        print(f"  {name:12s} median {statistics.median(t):8.3f} s  ({', '.join(f'{x:.3f}' for x in t)})")
    ratio = statistics.median(times["shell-loop"]) / statistics.median(times["one-process"])
    print(f"  shell-loop / one-process: {ratio:.1f}x; same flows in both outputs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
