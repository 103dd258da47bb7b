#!/usr/bin/env bash
# Builds the Debian packages (flowscore, flowscore-train) from this tree with
# dpkg-buildpackage, in a scratch copy so the tree stays clean.
#
# usage: scripts/package.sh [OUT_DIR]    (default: out/deb)
# Needs the Build-Depends of debian/control (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-out/deb}")
work=$(mktemp -d /tmp/flowscore-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/flowscore"
# The files git knows (committed or not), not build directories.
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/flowscore"
(cd "$work/flowscore" &&
  DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log"; echo "package: dpkg-buildpackage failed" >&2; exit 1; }
cp "$work"/*.deb "$out/"
ls "$out"/*.deb
