#!/usr/bin/env bash
# The Debian packages as an operator gets them: built with dpkg-buildpackage
# (scripts/package.sh), lintian without errors, installed with apt, the demo
# run from the installed paths alone, the service unit verified by
# systemd-analyze, then purged, leaving no configuration behind. As root
# (scripts/test.sh runs it in CI); it installs into this machine's /usr.
#
# usage: tests/install/test_package.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) -eq 0 ]] || { echo "test_package: needs root (it installs packages); skipped"; exit 0; }
work=$(mktemp -d /tmp/flowscore-pkg-XXXXXX)
purge() { apt-get purge -y -qq flowscore flowscore-train >/dev/null 2>&1 || true; }
trap 'purge; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

bash scripts/package.sh "$work/debs" >/dev/null
debs=("$work"/debs/flowscore_*.deb "$work"/debs/flowscore-train_*.deb)

# lintian: errors fail; warnings (no manual pages) are printed.
lintian --fail-on error "${debs[@]}" || fail "lintian errors"

apt-get install -y -qq "${debs[@]}" >/dev/null
cd "$work"  # nowhere near the source tree

flowscore --version >version.txt
grep -q "(installed)" version.txt && grep -q "^config:  /etc/flowscore/flowscore.json$" version.txt &&
  grep -q "^models:  /usr/share/flowscore/models$" version.txt || fail "paths: $(cat version.txt)"
[[ -d /var/lib/flowscore && -d /var/log/flowscore ]] || fail "tmpfiles.d did not make the state and log directories"

# The demo, from the installed programs, config and model.
flowscore-gen --profile train --seed 7 --packets 20000 --out demo.pcap --labels demo.labels.csv --quiet
flowscore run --pcap demo.pcap --out demo.eve.json 2>run.err || fail "run: $(cat run.err)"
grep -q "model flowscore-default" run.err || fail "no model: $(cat run.err)"
# The package is built with nDPI (flow.app_proto): its library must be a
# runtime dependency, and the installed program must name protocols.
dpkg-query -W -f='${Depends}\n' flowscore | grep -q "libndpi" || fail "Depends lacks libndpi: $(dpkg-query -W -f='${Depends}' flowscore)"
flowscore run --pcap demo.pcap --model none --set flow.app_proto=true --out app.eve.json 2>app.err || fail "app_proto run: $(cat app.err)"
grep -q '"app_proto":"' app.eve.json || fail "no app_proto in the installed program's records"
alerts=$(grep -c '"event_type":"alert"' demo.eve.json || true)
[[ $alerts -gt 0 ]] || fail "the demo raised no alert"
flowscore-train --help >/dev/null || fail "flowscore-train"
flowscore report demo.eve.json -o demo.html -q && grep -q '<script id="report-data"' demo.html || fail "report"

# The unit: systemd's own checker, and the paths it names exist.
systemd-analyze verify /lib/systemd/system/flowscore.service || fail "systemd-analyze verify"
grep -q "^ExecStart=/usr/bin/flowscore run" /lib/systemd/system/flowscore.service || fail "ExecStart"
dpkg-query -W -f='${Conffiles}\n' flowscore | grep -q "/etc/flowscore/flowscore.json" || fail "config is not a conffile"
logrotate --debug /etc/logrotate.d/flowscore >/dev/null 2>&1 || [[ ! -x /usr/sbin/logrotate ]] || fail "logrotate snippet"

purge
[[ ! -e /usr/bin/flowscore && ! -e /etc/flowscore ]] || fail "purge left files"
echo "package: ok (lintian clean of errors, demo $alerts alerts, unit verified, purged)"
