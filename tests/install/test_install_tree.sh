#!/usr/bin/env bash
# `meson install --destdir` gives a tree that works on its own: the installed
# flowscore finds its config and shipped model relative to itself (never the
# source tree), and run, extract, compile, predict and report work from it, started
# from an empty directory. Reference counts: tshark for packets.
#
# usage: test_install_tree.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d /tmp/flowscore-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
bin=$tmp/root$prefix/bin
capture=$tmp/input.pcap
cp "$src/tests/data/packet/zeek-icmp-ping.pcap" "$capture"
mkdir "$tmp/elsewhere" && cd "$tmp/elsewhere"

# 1. It knows it is installed, and where its files are.
"$bin/flowscore" --version >version.txt
grep -q "(installed)" version.txt || fail "not installed: $(cat version.txt)"
grep -q "^config:  $tmp/root" version.txt || fail "config outside the tree: $(cat version.txt)"
grep -q "^models:  $tmp/root$prefix/share/flowscore/models" version.txt || fail "models: $(cat version.txt)"
[[ -f $tmp/root$prefix/share/flowscore/models/default.fsm ]] || fail "no shipped model"

# 2. run with the installed config and model: every flow scored.
"$bin/flowscore" run --pcap "$capture" --out eve.json 2>run.err || fail "run: $(cat run.err)"
grep -q "model flowscore-default" run.err || fail "the shipped model was not found: $(cat run.err)"
packets=$(tshark -r "$capture" -T fields -e frame.number | wc -l)
grep -q "flowscore: $packets packets" run.err || fail "packets differ from tshark's $packets: $(cat run.err)"
/usr/bin/python3 - eve.json <<'PY' || fail "EVE records"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
assert records and all(r["flowscore"]["model"]["name"].startswith("flowscore-default") for r in records), records[:1]
PY

# 3. extract, compile the shipped XGBoost JSON, predict with it: one score
# row per flow, under the class names.
"$bin/flowscore" extract --pcap "$capture" --out features.csv -q
"$bin/flowscore" compile "$tmp/root$prefix/share/flowscore/models/default.json" -o local.fsm >/dev/null
"$bin/flowscore" predict --model local.fsm --in features.csv --out scores.csv --keep flow_id
rows=$(($(wc -l <features.csv) - 1))
[[ $(($(wc -l <scores.csv) - 1)) -eq $rows && $rows -gt 0 ]] || fail "predict: $(wc -l <scores.csv) lines for $rows rows"
head -1 scores.csv | grep -q "^flow_id,benign" || fail "predict header: $(head -1 scores.csv)"

# 4. report from the installed binary alone: one self-contained page.
"$bin/flowscore" report eve.json -o report.html -q
grep -q '<script id="report-data"' report.html && grep -q "Chart.js v4" report.html || fail "report"

# 5. FLOWSCORE_CONFIG and --config win over the installed config.
printf '{"model": {"path": ""}}\n' >other.json
FLOWSCORE_CONFIG=$PWD/other.json "$bin/flowscore" run --pcap "$capture" --out /dev/null 2>other.err
grep -q "no model" other.err || fail "FLOWSCORE_CONFIG ignored: $(cat other.err)"

# 6. The service files name the installed paths.
unit=$(find "$tmp/root" -name flowscore.service)
[[ -n $unit ]] || fail "no unit installed"
grep -q "^ExecStart=$prefix/bin/flowscore run" "$unit" || fail "unit: $(grep ExecStart "$unit")"
logrotate=$(find "$tmp/root" -path "*/logrotate.d/flowscore")
[[ -n $logrotate ]] && grep -q -- "--signal=HUP flowscore.service" "$logrotate" || fail "no logrotate snippet"
[[ -n $(find "$tmp/root" -path "*/tmpfiles.d/flowscore.conf") ]] || fail "no tmpfiles.d entry"
echo "install tree: ok ($rows flows, $packets packets)"
