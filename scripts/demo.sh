#!/usr/bin/env bash
# Fresh Debian 12 -> flowscore scoring the bundled demo data with the default
# config. Prints the run summary and where the verdicts went.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
# Demo data: a seeded synthetic capture with labelled attacks mixed into
# benign traffic, plus the small real captures bundled under tests/data.
./build/src/gen/flowscore-gen --profile train --seed 7 --flows 20000 \
  --out out/demo.pcap --labels out/demo.labels.csv
mapfile -t real < <(find tests/data -name '*.pcap' -size -2M | sort | head -n 8)
pcaps=(--pcap out/demo.pcap)
for f in "${real[@]}"; do pcaps+=(--pcap "$f"); done
./build/src/cli/flowscore run "${pcaps[@]}" --out out/demo.eve.json
echo
echo "demo: $(wc -l < out/demo.eve.json) EVE records in out/demo.eve.json;" \
     "$(grep -c '"event_type":"alert"' out/demo.eve.json || true) alerts. First record:"
head -n 1 out/demo.eve.json
