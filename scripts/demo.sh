#!/usr/bin/env bash
# Fresh Debian 12 -> flowscore scoring the bundled demo data with the default
# config. Prints the run summary and where the verdicts went.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
bash scripts/setup.sh
mkdir -p out
# Demo data: a seeded synthetic capture with labelled attacks mixed into
# benign traffic (100k packets), plus the small real captures bundled under
# tests/data.
"$BUILD_DIR/src/gen/flowscore-gen" --profile train --seed 7 --packets 100000 \
  --out out/demo.pcap --labels out/demo.labels.csv --quiet
mapfile -t real < <(find tests/data/output -name '*.pcap' -size -2M | sort)
pcaps=(--pcap out/demo.pcap)
for f in "${real[@]}"; do pcaps+=(--pcap "$f"); done
"$BUILD_DIR/src/cli/flowscore" run "${pcaps[@]}" --out out/demo.eve.json
echo
echo "demo: out/demo.eve.json has $(grep -c '"event_type":"flow"' out/demo.eve.json || true) flow events and" \
     "$(grep -c '"event_type":"alert"' out/demo.eve.json || true) alert events (docs/OUTPUT.md). First alert:"
grep -m1 '"event_type":"alert"' out/demo.eve.json || head -n 1 out/demo.eve.json
# The same verdicts as one HTML page to open in a browser (docs/REPORT.md).
"$BUILD_DIR/src/cli/flowscore" report out/demo.eve.json -o out/demo-report.html \
  --model-card conf/models/default.heldout-metrics.json -q
echo "demo: report in out/demo-report.html"
