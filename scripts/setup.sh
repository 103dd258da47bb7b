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
  tshark tcpdump softflowd
  python3-scapy python3-dpkt python3-matplotlib
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
