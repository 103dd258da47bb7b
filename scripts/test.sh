#!/usr/bin/env bash
# Fresh Debian 12 -> flowscore built and its whole test suite run: the release
# build's tests, the Debian packages installed and tried, the unit tests again
# under ASan + UBSan, then a short libFuzzer run of every parser of untrusted
# input (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
meson test -C build --print-errorlogs --num-processes "$(nproc)"
# The Debian packages: built, linted, installed, the demo run, purged (root).
bash tests/install/test_package.sh

# Sanitizer build of the unit tests (no benchmarks; debug info for reports).
if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbenchmarks=false >/dev/null
fi
ninja -C build-asan -j"$(nproc)"
# Everything that runs our C++ on crafted or real input; not the corpus-wide
# Python checks (oracle, reference, training), which add nothing under ASan
# but time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes "$(nproc)" \
  packet features flow pair_activity context alert_policy policy_captures output test_model test_labels gen_unit \
  config run_stats queue_plan symmetric_rss cli kafka syslog spool ecs report report_builder

bash scripts/fuzz.sh
