#!/usr/bin/env bash
# Feature oracle: `flowscore extract` vs scripts/reference_features.py on every
# capture in tests/data and, when present, ../shared/data/pcaps (A and B).
#
#   tests/reference/run_reference_test.sh BUILD_DIR [--min-match 0.995]
#
# A capture that tshark cannot read, or that uses a link type neither tool
# supports, is skipped and counted. A capture the reference reads but
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

pairs=() refused=() skips=()
i=0
for f in "${captures[@]}"; do
  i=$((i + 1))
  fs_csv=$work/$i.flowscore.csv ref_csv=$work/$i.reference.csv
  printf '%s\t%s\n' "$i" "$f" >>"$work/index.tsv"
  if ! "$py" "$reference" -q --pcap "$f" --out "$ref_csv" 2>"$work/$i.reference.err"; then
    # Only a capture tshark reads too is a reference problem worth naming.
    if tshark -r "$f" -c 1 -w /dev/null >/dev/null 2>&1; then
      skips+=("reference: $(sed 's/.*: //' "$work/$i.reference.err" | head -1)|$f")
    else
      skips+=("tshark cannot read it either|$f")
    fi
    continue
  fi
  # A smaller table than the production default: the corpus never holds
  # 131072 flows at once, and 336 MiB per run fails on a busy machine.
  if "$flowscore" extract --pcap "$f" --out "$fs_csv" -q --set flow.table_size=131072 >"$work/$i.flowscore.log" 2>&1; then
    pairs+=(--pair "$fs_csv" "$ref_csv")
  else
    refused+=(--unmatched-reference "$ref_csv")
    echo "flowscore refused a capture the reference reads: $f: $(tail -1 "$work/$i.flowscore.log")"
  fi
done

echo "captures: ${#captures[@]}; compared: $((${#pairs[@]} / 3)); refused by flowscore only: $((${#refused[@]} / 2)); skipped: ${#skips[@]}"
if ((${#skips[@]})); then
  printf '%s\n' "${skips[@]}" | cut -d'|' -f1 | sort | uniq -c | sed 's/^/  skipped /'
fi
if ((${#pairs[@]} == 0)); then
  echo "FAIL: nothing compared" >&2
  exit 1
fi
exec "$py" "$compare" --min-match "$min_match" "${pairs[@]}" "${refused[@]}"
