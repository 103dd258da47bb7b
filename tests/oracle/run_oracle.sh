#!/bin/sh
# Flow-accounting oracle over a corpus (issue 2, section 7): every capture in
# tests/data (the self-contained subset) and, when ../shared is present, every
# capture listed in ../shared/data/pcaps/MANIFEST.tsv.
#
#   tests/oracle/run_oracle.sh BUILD_DIR [--min-exact 0.995] [--jobs 2] [--keep DIR]
#
# Prints one summary table and exits non-zero when the exact fraction of flows
# outside documented classes is below --min-exact (see flow_oracle.py).
set -eu

usage() { echo "usage: $0 BUILD_DIR [--min-exact F] [--jobs N] [--keep DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build_dir=$1; shift
min_exact=0.995
jobs=2
keep=
while [ $# -gt 0 ]; do
  case $1 in
    --min-exact) [ $# -ge 2 ] || usage; min_exact=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
    *) usage ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
flowscore=$(cd "$build_dir" && pwd)/src/cli/flowscore
oracle="$here/flow_oracle.py"
python=/usr/bin/python3
[ -x "$flowscore" ] || { echo "no flowscore binary at $flowscore" >&2; exit 2; }
command -v tshark >/dev/null || { echo "tshark not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flow_oracle.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
list="$work/captures"

find "$source_root/tests/data" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) \
  | sort > "$list"
echo "tests/data: $(wc -l < "$list") captures"
shared="$source_root/../shared/data/pcaps"
if [ -f "$shared/MANIFEST.tsv" ]; then
  # Column 2 is the capture's path under data/pcaps; line 1 is the header.
  tail -n +2 "$shared/MANIFEST.tsv" | cut -f2 | sed "s#^#$shared/#" > "$work/shared"
  echo "../shared/data/pcaps/MANIFEST.tsv: $(wc -l < "$work/shared") captures"
  cat "$work/shared" >> "$list"
else
  echo "../shared/data/pcaps absent: self-contained subset only"
fi

mkdir "$work/results"
# One result file per capture, named by its line number so names never clash.
awk '{ printf "%06d\t%s\n", NR, $0 }' "$list" \
  | xargs -P "$jobs" -L 1 -d '\n' sh -c '
      python=$1 oracle=$2 flowscore=$3 results=$4 line=$5
      n=${line%%	*} pcap=${line#*	}
      "$python" "$oracle" check --flowscore "$flowscore" --pcap "$pcap" --json "$results/$n.json" \
        || echo "oracle failed on $pcap" >&2' sh "$python" "$oracle" "$flowscore" "$work/results"

[ -z "$keep" ] || { mkdir -p "$keep" && cp "$work"/results/*.json "$keep"/; }
"$python" "$oracle" summarize --min-exact "$min_exact" "$work"/results/*.json || status=$?
# A capture the oracle itself failed on has no result: that fails the run too.
expected=$(wc -l < "$list")
got=$(find "$work/results" -name '*.json' | wc -l)
if [ "$got" -ne "$expected" ]; then
  echo "oracle produced results for $got of $expected captures (see 'oracle failed on' above)" >&2
  exit 1
fi
exit "${status:-0}"
