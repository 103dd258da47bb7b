#!/usr/bin/env bash
# `flowscore run` with the shipped model (conf/models/default.fsm) end to end:
# feature settings other than the model's and a benign class it lacks are bad
# input (exit 2, both named); the EVE model hash is the compiled file's.
# Usage: test_run_model_checks.sh FLOWSCORE SOURCE_DIR
set -u
flowscore=$1
src=$2
pcap=$src/tests/data/output/dns.pcap
model=$src/conf/models/default.fsm
out=$(mktemp)
trap 'rm -f "$out"' EXIT
failures=0

# expect STATUS TEXT [run options...]: exit STATUS, TEXT on stderr.
expect() {
  local status=$1 text=$2
  shift 2
  local err
  err=$("$flowscore" run --pcap "$pcap" --out "$out" --model "$model" -q "$@" 2>&1 >/dev/null)
  local got=$?
  if [[ $got != "$status" || $err != *"$text"* ]]; then
    echo "FAIL: run $* exited $got (want $status), stderr lacks '$text':" >&2
    echo "$err" >&2
    failures=$((failures + 1))
  fi
}

trained="flowscore-features v2 first_packets=8 activity_gap_ns=5000000000 pair_window_ns=60000000000"
expect 2 "trained on features '$trained', this run computes 'flowscore-features v2 first_packets=8 activity_gap_ns=5000000000 pair_window_ns=1000000000'" \
  --set features.pair_window=1
expect 2 "this run computes 'flowscore-features v2 first_packets=8 activity_gap_ns=10000000 pair_window_ns=60000000000'" \
  --set features.activity_gap=0.01
expect 2 "model.benign_class 'nope' is not a class of model 'flowscore-default-6' (its classes: benign, amplification," \
  --set model.benign_class=nope
expect 0 "" 

hash=$(sha256sum "$model" | cut -c1-12)
if ! grep -q "\"model\":{\"name\":\"flowscore-default-6\",\"hash\":\"$hash\"}" "$out"; then
  echo "FAIL: EVE model hash is not the compiled file's ($hash): $(head -c 2000 "$out")" >&2
  failures=$((failures + 1))
fi
[[ $failures == 0 ]] && echo "all passed"
exit $((failures > 0))
