#!/usr/bin/env bash
# Fuzzes flowscore's parsers of untrusted input with libFuzzer (clang, ASan +
# UBSan): frames under every link type, compiled and XGBoost JSON models
# (then every scoring engine against the reference twin), configs, label
# files, packet sequences through the feature accumulator (against the twin
# of docs/FEATURES.md) and TCP traffic through the flow table (against its
# lifecycle twin), EVE lines through `flowscore report`'s reader, and feature
# table cells against strtof. First replays tests/fuzz/regressions (a reproducer of each bug
# fuzzing found), then runs each target for FUZZ_SECONDS from seeds made of
# the project's own files (scripts/fuzz_seeds.py).
#
#   bash scripts/fuzz.sh [TARGET ...]      (after scripts/setup.sh)
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh parse_frame
#
# A finding stops the run; the input is kept under $FUZZ_OUT/artifacts and
# the line to reproduce it is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-30}
FUZZ_OUT=${FUZZ_OUT:-$BUILD/fuzz-out}
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(parse_frame compiled_model xgboost_json config labels features flow_table eve_report feature_cell)

if [[ ! -f $BUILD/build.ninja ]]; then
  CXX=clang++ meson setup "$BUILD" -Dfuzz=true -Dtests=false -Dbenchmarks=false \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD" "${TARGETS[@]/#/tests/fuzz/fuzz_}" >/dev/null

rm -rf "$FUZZ_OUT"
mkdir -p "$FUZZ_OUT/artifacts"
/usr/bin/python3 scripts/fuzz_seeds.py "$FUZZ_OUT/seeds" build/src/cli/flowscore

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${TARGETS[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz_$t
  if compgen -G "tests/fuzz/regressions/$t/*" >/dev/null; then
    "$bin" tests/fuzz/regressions/"$t"/* >"$FUZZ_OUT/$t-regressions.log" 2>&1 || {
      tail -40 "$FUZZ_OUT/$t-regressions.log"
      echo "fuzz: $t: a committed reproducer fails again (tests/fuzz/regressions/$t)" >&2
      exit 1
    }
  fi
  mkdir -p "$FUZZ_OUT/corpus/$t"
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: so is 2 GiB.
  if ! "$bin" "$FUZZ_OUT/corpus/$t" "$FUZZ_OUT/seeds/$t" -seed=1 -max_total_time="$SECONDS_PER_TARGET" \
      -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$FUZZ_OUT/artifacts/$t-" -print_final_stats=1 \
      >"$FUZZ_OUT/$t.log" 2>&1; then
    tail -60 "$FUZZ_OUT/$t.log"
    echo "fuzz: $t found a failure; reproduce with: $bin $(ls "$FUZZ_OUT"/artifacts/"$t"-* | head -1)" >&2
    exit 1
  fi
  echo "fuzz: $t: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$FUZZ_OUT/$t.log" | grep -o '[0-9]*$') inputs in ${SECONDS_PER_TARGET} s, no failure"
done
