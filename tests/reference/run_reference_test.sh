#!/usr/bin/env bash
# Feature oracle: `flowscore extract` vs scripts/reference_features.py on every
# capture in tests/data and, when present, ../shared/data/pcaps (A and B).
#
#   tests/reference/run_reference_test.sh BUILD_DIR [--min-match 0.995]
#
# A capture the reference cannot read (not pcap/pcapng, or a link type that
# neither tool supports) is skipped and counted, with tshark as the judge of
# whether the file is readable at all. A capture the reference reads but
# flowscore refuses is NOT skipped: its reference flows count as missing.
# Work files stay in BUILD_DIR/tests/reference-work for inspection.
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 BUILD_DIR [--min-match RATE]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
min_match=0.995
if (($# == 2)) && [[ $1 == --min-match ]]; then min_match=$2; fi

source_root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
flowscore=$build_dir/src/cli/flowscore
reference=$source_root/scripts/reference_features.py
compare=$source_root/tests/reference/compare_features.py
work=$build_dir/tests/reference-work
[[ -x $flowscore ]] || { echo "no flowscore binary at $flowscore" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"

roots=("$source_root/tests/data")
shared=$source_root/../shared/data/pcaps
if [[ -d $shared ]]; then roots+=("$shared/A" "$shared/B"); else echo "note: $shared absent, tests/data only"; fi
mapfile -d '' captures < <(find "${roots[@]}" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)

# flowscore runs many captures per process (one EAL start-up each run, which
# dominates on small files); a table far below the production default is
# plenty for this corpus and does not fail on a busy machine. At most 24
# captures per run: each is a net_pcap port, and DPDK allows 32 ports.
# REFERENCE_BATCH=1 runs one capture per process (slow: ~25 min for the corpus).
batch_max=${REFERENCE_BATCH:-24}
flowscore_extract() {  # OUT_CSV CAPTURE...
  local out=$1 args=()
  shift
  for f in "$@"; do args+=(--pcap "$f"); done
  "$flowscore" extract "${args[@]}" --out "$out" -q --workers 1 --set flow.table_size=131072
}

# 1. Reference, one process per capture: it decides what is readable.
readable=() skips=()
i=0
for f in "${captures[@]}"; do
  i=$((i + 1))
  printf '%s\t%s\n' "$i" "$f" >>"$work/index.tsv"
  if "$py" "$reference" -q --pcap "$f" --out "$work/$i.reference.csv" 2>"$work/$i.reference.err"; then
    readable+=("$i")
  elif tshark -r "$f" -c 1 -w /dev/null >/dev/null 2>&1; then
    skips+=("reference: $(sed 's/^[^:]*: [^:]*: //' "$work/$i.reference.err" | head -1)")
  else
    skips+=("tshark cannot read it either")
  fi
done

# 2. flowscore in batches whose captures have distinct basenames (the CSV's
#    `input` column is the basename); a failing batch is retried per capture.
pairs=() refused=()
run_batch() {  # BATCH_NAME INDEX...
  local name=$1 files=() ref_csv=$work/$1.reference.csv
  shift
  for j in "$@"; do files+=("$(sed -n "${j}p" "$work/index.tsv" | cut -f2)"); done
  head -1 "$work/$1.reference.csv" >"$ref_csv"
  for j in "$@"; do tail -n +2 "$work/$j.reference.csv" >>"$ref_csv"; done
  if flowscore_extract "$work/$name.flowscore.csv" "${files[@]}" >"$work/$name.flowscore.log" 2>&1; then
    pairs+=(--pair "$work/$name.flowscore.csv" "$ref_csv")
  elif (($# > 1)); then
    for j in "$@"; do run_batch "single$j" "$j"; done
  else
    refused+=(--unmatched-reference "$ref_csv")
    echo "flowscore refused a capture the reference reads: ${files[0]}: $(grep -v '^EAL' "$work/$name.flowscore.log" | tail -1)"
  fi
}
batch=()
declare -A seen=()
nbatch=0
flush_batch() {
  if ((${#batch[@]})); then
    nbatch=$((nbatch + 1))
    run_batch "batch$nbatch" "${batch[@]}"
  fi
  batch=()
  seen=()
}
for j in "${readable[@]}"; do
  base=$(basename "$(sed -n "${j}p" "$work/index.tsv" | cut -f2)")
  if [[ -n ${seen[$base]:-} ]] || ((${#batch[@]} >= batch_max)); then flush_batch; fi
  batch+=("$j")
  seen[$base]=1
done
flush_batch

echo "captures: ${#captures[@]}; read by the reference: ${#readable[@]}; refused by flowscore only: $((${#refused[@]} / 2)); skipped: ${#skips[@]}"
if ((${#skips[@]})); then
  printf '%s\n' "${skips[@]}" | sort | uniq -c | sed 's/^/  skipped /'
fi
if ((${#pairs[@]} == 0)); then
  echo "FAIL: nothing compared" >&2
  exit 1
fi
exec "$py" "$compare" --min-match "$min_match" "${pairs[@]}" "${refused[@]}"
