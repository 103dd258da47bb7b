#!/usr/bin/env bash
# What flow.app_proto (nDPI on each flow's first packets) costs per packet,
# whole process, offline, one worker, --model none, in one run:
#   off         the default: the main lcore reads and parses, the worker tracks
#   off_worker  app_proto off, dpdk.read_on=worker: the read path app_proto
#               itself uses (nDPI needs the bytes on the worker)
#   on          flow.app_proto=true (read_on auto -> worker)
# Interleaved, REPS rounds; prints each contender's median wall seconds and
# ns per packet, and the differences on - off_worker (nDPI itself) and
# on - off (what a user who turns it on pays).
#
#   bench/app_proto_cost.sh [BUILD_DIR] [PCAP] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PCAP=${2:-/dev/shm/bench5m.pcap}
REPS=${3:-7}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RUN="$BUILD/src/cli/flowscore run --config conf/flowscore.json --pcap $PCAP --model none --out $OUT/eve.json"
# The packet count, from the summary of one untimed run (also warms the page cache).
PACKETS=$($RUN --set flow.app_proto=true 2>&1 | awk '/ packets \(/ {print $2; exit}')
/usr/bin/python3 - "$REPS" "$PACKETS" "$RUN -q" <<'PY'
import statistics, subprocess, sys, time
reps, packets, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split()
contenders = {"off": [], "off_worker": ["--set", "dpdk.read_on=worker"], "on": ["--set", "flow.app_proto=true"]}
times = {k: [] for k in contenders}
for _ in range(reps):
    for name, extra in contenders.items():
        t = time.perf_counter()
        subprocess.run(run + extra, check=True)
        times[name].append(time.perf_counter() - t)
med = {k: statistics.median(v) for k, v in times.items()}
print(f"{packets} packets, {reps} rounds, medians:")
for k in contenders:
    print(f"  {k:11s} {med[k]:7.3f} s  {med[k] / packets * 1e9:7.1f} ns/packet   rounds: "
          + " ".join(f"{x:.2f}" for x in times[k]))
ns = lambda a, b: (med[a] - med[b]) / packets * 1e9
print(f"  on - off_worker: {ns('on', 'off_worker'):+.1f} ns/packet (nDPI); on - off: {ns('on', 'off'):+.1f} ns/packet")
PY
