#!/usr/bin/env bash
# Offline throughput, whole process, side by side in one run:
#   flowscore run (features, scoring with the default model, EVE output)
#   flowscore run --set alerting.policy=threshold (no context, alert policy or campaigns)
#   flowscore run --model none (no scoring)
#   softflowd -r        (a flow exporter reading the same file), twice: with
#                       its default 8,192-flow table, which force-expires
#                       flows once full, and with -m set to flowscore's
#                       flow.table_size, so both track every flow
#   tcpdump -r -w /dev/null (libpcap's read floor)
#   pcap_read_floor     (DPDK pcap PMD read loop: flowscore's own floor)
# Runs are interleaved, REPS rounds; prints medians of wall and CPU seconds
# and ratios. The machine is shared: read the ratios, not the seconds.
#
#   bench/offline_throughput.sh [BUILD_DIR] [PCAP] [REPS]
#
# BASELINE_BUILD=<other build dir> adds that build's flowscore run as
# flowscore_baseline, in the same rounds (before/after comparisons), with
# the config beside it (BASELINE_CONFIG, default BASELINE_BUILD/../conf/flowscore.json).
# ONLY="<names>" runs only those programs, in that order.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PCAP=${2:-/dev/shm/flowscore-bench-5m.pcap}
REPS=${3:-5}
if [[ ! -f $PCAP ]]; then
  echo "generating $PCAP (5M packets, seed 1)" >&2
  "$BUILD/src/gen/flowscore-gen" --profile bench --packets 5000000 --seed 1 --out "$PCAP" --quiet
fi
TABLE_SIZE=$(/usr/bin/python3 -c 'import json; print(json.load(open("conf/flowscore.json"))["flow"]["table_size"])')
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

declare -A CMD=(
  [flowscore]="$BUILD/src/cli/flowscore run --config conf/flowscore.json --pcap $PCAP --out $OUT/eve.json -q"
  # The class threshold alone: no context, alert policy or campaigns (their cost is the difference).
  [flowscore_threshold]="$BUILD/src/cli/flowscore run --config conf/flowscore.json --pcap $PCAP --out $OUT/eve.json -q --set alerting.policy=threshold"
  [flowscore_nomodel]="$BUILD/src/cli/flowscore run --config conf/flowscore.json --pcap $PCAP --out $OUT/eve.json -q --model none"
  # The training path: the same tracking, a CSV feature table instead of EVE.
  [flowscore_extract]="$BUILD/src/cli/flowscore extract --config conf/flowscore.json --pcap $PCAP --out $OUT/features.csv -q"
  # softflowd 1.1.0 hangs at EOF with some -c control-socket paths (seen
  # here with /tmp/flowscore-bench-1.ctl, fine with /tmp/y.ctl): keep its default.
  [softflowd]="softflowd -r $PCAP -n 127.0.0.1:9"
  [softflowd_1m]="softflowd -r $PCAP -n 127.0.0.1:9 -m $TABLE_SIZE"
  [tcpdump]="tcpdump -r $PCAP -w /dev/null"
  [dpdk_floor]="$BUILD/bench/pcap_read_floor $PCAP"
)
ORDER=(tcpdump dpdk_floor softflowd softflowd_1m flowscore_nomodel flowscore_threshold flowscore)
if [[ -n ${BASELINE_BUILD:-} ]]; then
  # The baseline's own config (the source tree beside its build), since
  # config keys come and go between versions.
  BASELINE_CONFIG=${BASELINE_CONFIG:-$BASELINE_BUILD/../conf/flowscore.json}
  CMD[flowscore_baseline]="$BASELINE_BUILD/src/cli/flowscore run --config $BASELINE_CONFIG --pcap $PCAP --out $OUT/eve.json -q"
  ORDER=(tcpdump dpdk_floor softflowd softflowd_1m flowscore_nomodel flowscore_baseline flowscore)
fi
# ONLY="flowscore flowscore_baseline" runs just those (a quick A/B).
if [[ -n ${ONLY:-} ]]; then read -ra ORDER <<<"$ONLY"; fi
# Timed by Python (wall clock and the child's rusage), with default signal
# dispositions: softflowd ends its EOF shutdown by signalling itself, and
# hangs when it inherits ignored signals (GNU time, nohup do that).
for ((r = 1; r <= REPS; r++)); do
  for name in "${ORDER[@]}"; do
    # The previous run's output (600 MB of EVE) would otherwise be written
    # back by the kernel during this one, on one of the same two cores.
    sync
    /usr/bin/python3 - "$name" "$OUT/times" "$OUT/$name.err" ${CMD[$name]} <<'PY' || { echo "$name failed:"; cat "$OUT/$name.err"; exit 1; }
import os, signal, subprocess, sys, time
name, times, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t0 = time.perf_counter()
def default_signals():  # nohup, time and CI runners hand down ignored signals
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(err, "w"),
                     preexec_fn=default_signals)
_, status, ru = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
open(times, "a").write(f"{name} {wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f}\n")
sys.exit(os.waitstatus_to_exitcode(status))
PY
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
for n in ["flowscore", "flowscore_baseline", "flowscore_threshold", "flowscore_nomodel", "flowscore_extract", "softflowd", "softflowd_1m", "tcpdump", "dpdk_floor"]:
    if n in med:
        w, c = med[n]
        vs = f"{w / med['flowscore'][0]:.2f}×" if "flowscore" in med else "-"
        print(f"| {n} | {w:.2f} | {c:.2f} | {w / packets * 1e6:.3f} | {vs} |")
# Each round's programs ran minutes apart at most: the median of per-round
# ratios is steadier than the ratio of medians when the machine's load drifts.
for n in ["flowscore_baseline", "flowscore_threshold", "flowscore_nomodel", "flowscore_extract", "softflowd", "softflowd_1m", "dpdk_floor"]:
    if n in rows and "flowscore" in rows:
        ratios = [o[0] / f[0] for o, f in zip(rows[n], rows["flowscore"])]
        print(f"{n} / flowscore, per round: {' '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}×")
PY
