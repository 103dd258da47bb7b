#!/usr/bin/env bash
# Offline throughput, whole process, side by side in one run:
#   flowscore run (features, scoring with the default model, EVE output)
#   flowscore run --model none (no scoring)
#   softflowd -r        (a flow exporter reading the same file)
#   tcpdump -r -w /dev/null (libpcap's read floor)
#   pcap_read_floor     (DPDK pcap PMD read loop: flowscore's own floor)
# Runs are interleaved, REPS rounds; prints medians of wall and CPU seconds
# and ratios. The machine is shared: read the ratios, not the seconds.
#
#   bench/offline_throughput.sh [BUILD_DIR] [PCAP] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PCAP=${2:-/dev/shm/flowscore-bench-5m.pcap}
REPS=${3:-5}
if [[ ! -f $PCAP ]]; then
  echo "generating $PCAP (5M packets, seed 1)" >&2
  "$BUILD/src/gen/flowscore-gen" --profile bench --packets 5000000 --seed 1 --out "$PCAP" --quiet
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

declare -A CMD=(
  [flowscore]="$BUILD/src/cli/flowscore run --pcap $PCAP --out $OUT/eve.json -q"
  [flowscore_nomodel]="$BUILD/src/cli/flowscore run --pcap $PCAP --out $OUT/eve.json -q --model none"
  [softflowd]="softflowd -r $PCAP -n 127.0.0.1:9 -m 1048576 -c $OUT/softflowd.ctl -p $OUT/softflowd.pid"
  [tcpdump]="tcpdump -r $PCAP -w /dev/null"
  [dpdk_floor]="$BUILD/bench/pcap_read_floor $PCAP"
)
ORDER=(tcpdump dpdk_floor softflowd flowscore_nomodel flowscore)
for ((r = 1; r <= REPS; r++)); do
  for name in "${ORDER[@]}"; do
    /usr/bin/time -f "$name %e %U %S" -a -o "$OUT/times" ${CMD[$name]} >/dev/null 2>"$OUT/$name.err" ||
      { echo "$name failed:"; cat "$OUT/$name.err"; exit 1; }
  done
done
/usr/bin/python3 - "$OUT/times" "$PCAP" "$REPS" <<'PY'
import statistics, sys, subprocess
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 4 and parts[0][0].isalpha():
        name, wall, user, sys_ = parts[0], *map(float, parts[1:])
        rows.setdefault(name, []).append((wall, user + sys_))
pcap, reps = sys.argv[2], sys.argv[3]
packets = int(subprocess.run(["capinfos", "-c", "-M", pcap], capture_output=True, text=True).stdout.split()[-1])
med = {n: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for n, v in rows.items()}
print(f"capture: {pcap}, {packets} packets; {reps} interleaved rounds; medians")
print("| program | wall s | CPU s (user+sys) | wall µs/packet | wall vs flowscore |")
print("|---|---|---|---|---|")
for n in ["flowscore", "flowscore_nomodel", "softflowd", "tcpdump", "dpdk_floor"]:
    if n in med:
        w, c = med[n]
        print(f"| {n} | {w:.2f} | {c:.2f} | {w / packets * 1e6:.3f} | {w / med['flowscore'][0]:.2f}× |")
PY
