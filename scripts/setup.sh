#!/usr/bin/env bash
# Installs everything flowscore needs on a fresh Debian 12 machine (as root)
# and builds it. Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential g++ meson ninja-build pkg-config
  dpdk dpdk-dev libdpdk-dev libpcap-dev
  libxgboost-dev python3-xgboost python3-numpy python3-sklearn
  libtbb-dev libfmt-dev nlohmann-json3-dev libssl-dev
  googletest libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev
  tshark tcpdump softflowd strace
  python3-scapy python3-dpkt python3-matplotlib python3-jsonschema python3-prometheus-client
  libsystemd-dev systemd libcpp-httplib-dev
  # Kafka output (librdkafka; its mock cluster serves the tests).
  librdkafka-dev
  # Syslog output: its test runs a real syslog-ng.
  syslog-ng-core
  # flow.app_proto: the application protocol of each flow (nDPI 4.2).
  libndpi-dev
  # flowscore report (EVE parsing, gzip input) and its browser test.
  libsimdjson-dev zlib1g-dev chromium
  # The Debian package and its test (scripts/package.sh, tests/install/test_package.sh).
  debhelper fakeroot lintian logrotate
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Hugepages where they can be had (root, hugetlbfs mountable). flowscore falls
# back to --no-huge by itself, so failure here is not an error.
if [[ $(id -u) -eq 0 ]] && command -v dpdk-hugepages.py >/dev/null; then
  if ! grep -q hugetlbfs /proc/mounts 2>/dev/null || [[ $(awk '/HugePages_Total/ {print $2}' /proc/meminfo) -lt 256 ]]; then
    mkdir -p /dev/hugepages
    dpdk-hugepages.py --pagesize 2M --setup 1G >/dev/null 2>&1 \
      && echo "setup: reserved 1 GiB of 2 MiB hugepages" \
      || echo "setup: hugepages not available here; flowscore will run with --no-huge"
  fi
fi

# Build (release) into build/.
BUILD_DIR=${BUILD_DIR:-build}
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" -j"$(nproc)"
