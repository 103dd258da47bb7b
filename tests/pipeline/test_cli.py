"""End-to-end tests of the flowscore binary: run, extract, bad input, live
mode with SIGHUP model reload and SIGINT shutdown.

usage: /usr/bin/python3 test_cli.py SOURCE_DIR BUILD_DIR
Prints "N passed, N failed" and exits non-zero on any failure.
"""
import csv
import glob
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from script_tests import free_port, run_tests, telemetry  # noqa: E402
FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
DATA = os.path.join(SRC, "tests/data")
PING = os.path.join(DATA, "packet/zeek-icmp-ping.pcap")
SMALL = sorted(os.path.join(DATA, "output", f) for f in os.listdir(os.path.join(DATA, "output")) if f.endswith(".pcap"))
TMP = tempfile.mkdtemp(prefix="flowscore-cli-")
REQUIRED = {"timestamp", "flow_id", "event_type", "src_ip", "dest_ip", "proto", "community_id", "flow"}


def run(*args, expect=0, **kw):
    p = subprocess.run([FLOWSCORE, *args], capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == expect, f"exit {p.returncode} (wanted {expect}) for {args}:\n{p.stderr}"
    return p


def records(path):
    # One line per flow: the flow events and any other line that is not an
    # alert (stats, or a test's own marker). Alert events repeat their flow's
    # flow event (test_every_alert_event_has_its_flow_event checks them), and
    # campaign events are about many flows (test_policy_captures.py).
    with open(path) as f:
        lines = [json.loads(line) for line in f]
    return [r for r in lines if r.get("event_type") != "alert"]


def without_policy(r):
    # A record minus what the alert policy decided from other flows' context.
    # With several workers the writer sees their records interleaved by
    # timing, so the context (and so alert decisions near a threshold)
    # depends on that order; the model's verdict does not.
    r = json.loads(json.dumps(r))
    r.pop("alert", None)
    r["event_type"] = "flow"
    r["flow"].pop("alerted", None)
    for k in ("evidence", "campaign_id", "alert_limited"):
        r.get("flowscore", {}).pop(k, None)
    return r


_VALIDATORS = []


def schema_errors(r):
    """A flow or alert event against flowscore's schema, and against
    Suricata's own EVE schema (../shared) with the flowscore member removed,
    as that schema's README says. The first few messages, or []."""
    import jsonschema
    if not _VALIDATORS:
        ours = jsonschema.Draft202012Validator(json.load(open(os.path.join(SRC, "docs/schema/eve-flow.schema.json"))))
        path = os.path.join(SRC, "..", "shared", "data", "suricata-eve", "schema.json")
        _VALIDATORS.extend([ours, jsonschema.Draft202012Validator(json.load(open(path))) if os.path.exists(path) else None])
    ours, suricata = _VALIDATORS
    errors = [e.message for e in ours.iter_errors(r)]
    if suricata:
        errors += [e.message for e in suricata.iter_errors({k: v for k, v in r.items() if k != "flowscore"})]
    return errors[:3]


def summary_numbers(stderr):
    # "flowscore: P packets (B bytes), F flows -> R records in ..."
    line = next(l for l in stderr.splitlines() if " packets (" in l)
    words = line.split()
    return int(words[1]), int(words[5]), int(words[8])


def test_rotated_output_files_hold_every_record_once_in_order():
    # Issue 15 §1: output.rotate_bytes with rotate_gzip. The rotated files
    # (gunzipped, in name order) and the current file are, together, exactly
    # the output of the same run into one file; each rotated file is at most
    # rotate_bytes and ends on a whole record.
    import glob
    import gzip
    pcap = os.path.join(TMP, "rotate.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "60000",
                    "--seed", "14", "--out", pcap, "--quiet"], check=True)
    whole = os.path.join(TMP, "rotate-whole.json")
    run("run", "--pcap", pcap, "--out", whole)
    rotdir = os.path.join(TMP, "rotating")
    os.makedirs(rotdir, exist_ok=True)
    run("run", "--pcap", pcap, "--out", os.path.join(rotdir, "eve.json"), "--set", "output.rotate_bytes=1000000",
        "--set", "output.rotate_gzip=true")
    parts = sorted(glob.glob(os.path.join(rotdir, "eve.json.*")))
    assert len(parts) >= os.path.getsize(whole) // 1_000_000 >= 2, parts
    assert all(re.fullmatch(r"eve\.json\.\d{8}T\d{6}\.\d{6}Z\.gz", os.path.basename(p)) for p in parts), parts
    texts = [gzip.open(p).read() for p in parts]
    assert all(len(t) <= 1_000_000 and t.endswith(b"\n") for t in texts), [len(t) for t in texts]
    assert b"".join(texts) + open(os.path.join(rotdir, "eve.json"), "rb").read() == open(whole, "rb").read()


def test_vlan_ids_are_written_and_split_flows_only_when_tracked():
    # Issue 15 §2: EVE "vlan" (outermost first, as Suricata), ECS
    # network.vlan.id / network.inner.vlan.id, and flow.vlan_tracking as
    # Suricata's vlan.use-for-tracking. One UDP conversation seen on VLAN 10
    # and again on VLAN 20 (a router on a trunk), and a QinQ one.
    import scapy.all as scapy
    pcap = os.path.join(TMP, "vlans.pcap")
    frames = []
    for i in range(5):
        for vid in (10, 20):
            frames.append(scapy.Ether() / scapy.Dot1Q(vlan=vid) / scapy.IP(src="10.1.0.1", dst="10.2.0.1") /
                          scapy.UDP(sport=5000, dport=53) / scapy.Raw(b"q" * 30))
            frames.append(scapy.Ether() / scapy.Dot1Q(vlan=vid) / scapy.IP(src="10.2.0.1", dst="10.1.0.1") /
                          scapy.UDP(sport=53, dport=5000) / scapy.Raw(b"a" * 60))
        frames.append(scapy.Ether(type=0x88A8) / scapy.Dot1AD(vlan=100) / scapy.Dot1Q(vlan=200) /
                      scapy.IP(src="10.3.0.1", dst="10.4.0.1") / scapy.TCP(sport=4000, dport=80, flags="S"))
    for i, f in enumerate(frames):
        f.time = 1_700_000_000 + i * 0.01
    scapy.wrpcap(pcap, frames)
    for tracked in (False, True):
        out = os.path.join(TMP, f"vlans-{tracked}.json")
        run("run", "--pcap", pcap, "--out", out, "--model", "none", "--format", "eve+ecs",
            "--set", f"flow.vlan_tracking={'true' if tracked else 'false'}")
        flows = sorted((r for r in records(out) if r["event_type"] == "flow"), key=lambda r: (r["vlan"], r["src_ip"]))
        got = [(r["vlan"], r["src_ip"], r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"]) for r in flows]
        want = ([([10], "10.1.0.1", 10), ([20], "10.1.0.1", 10)] if tracked else [([10], "10.1.0.1", 20)]) + \
            [([100, 200], "10.3.0.1", 5)]
        assert got == sorted(want), (tracked, got)
        for r in flows:
            assert r["network"]["vlan"] == {"id": str(r["vlan"][0])}, r["network"]
            assert r["network"].get("inner") == ({"vlan": {"id": str(r["vlan"][1])}} if len(r["vlan"]) > 1 else None)
            eve = {k: v for k, v in r.items() if k not in ("@timestamp", "ecs", "event", "observer", "source",
                                                         "destination", "network", "rule")}
            assert not schema_errors(eve), schema_errors(eve)
        if tracked:  # two flows of one 5-tuple: one Community ID, two flow_ids
            same = [r for r in flows if r["src_ip"] == "10.1.0.1"]
            assert same[0]["community_id"] == same[1]["community_id"] and same[0]["flow_id"] != same[1]["flow_id"]


def test_every_packet_read_is_accounted_in_one_line():
    # Issue 14 §2, offline: packets read (tshark's count) = in flows (the
    # flow records' packets) + not flowed (the parser's reasons) + no room.
    pcaps = [os.path.join(SRC, "tests/data/packet", f) for f in
             ("suricata-pppoe.pcap", "suricata-sctp-pkt-too-small.pcap", "suricata-decode-dce-fabricpath.pcap")]
    out = os.path.join(TMP, "accounting.json")
    p = run("run", "--model", "none", "--out", out, *[a for f in pcaps for a in ("--pcap", f)])
    line = re.search(r"accounting: (\d+) packets read = (\d+) in flows \+ (\d+) not flowed \+ (\d+) with no room", p.stderr)
    assert line, p.stderr
    read, in_flows, not_flowed, no_room = map(int, line.groups())
    assert read == sum(tshark_frames(f)[0] for f in pcaps), line[0]
    flows = [r for r in records(out) if r["event_type"] == "flow"]
    assert in_flows == sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in flows), line[0]
    listed = next(l for l in p.stderr.splitlines() if "packets not flowed:" in l).split(":", 2)[2].split()
    assert not_flowed == sum(int(kv.split("=")[1]) for kv in listed) > 0, (line[0], listed)
    assert in_flows + not_flowed + no_room == read, line[0]


def test_a_full_disk_loses_whole_records_and_says_how_many():
    # Issue 15 §3: on a 1 MiB tmpfs a run exited 1 with "No space left on
    # device", left half a record at the end of the file, and its summary
    # counted bytes, not records. Now the file holds only whole records, and
    # the summary's count of lost records is exactly what is missing against
    # the same run into a roomy file. Needs a tmpfs of its own (root).
    disk = os.path.join(TMP, "tiny-disk")
    os.makedirs(disk, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk], capture_output=True).returncode:
        print("  skipped: cannot mount a tmpfs here (not root)")
        return
    try:
        pcap = os.path.join(TMP, "disk-full.pcap")
        subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "60000",
                        "--seed", "12", "--out", pcap, "--quiet"], check=True)
        whole = os.path.join(TMP, "disk-roomy.json")
        run("run", "--pcap", pcap, "--out", whole)
        want = open(whole).read().splitlines(keepends=True)
        p = run("run", "--pcap", pcap, "--out", os.path.join(disk, "eve.json"), expect=1)
        got = open(os.path.join(disk, "eve.json")).read().splitlines(keepends=True)
    finally:
        subprocess.run(["umount", disk], capture_output=True)
    assert len(want) > len(got) > 0, (len(want), len(got))
    assert got == want[:len(got)], "the full disk's file is not a prefix of whole records"
    lost = re.search(r"writing file \S+ failed: .*No space left on device \((\d+) records, (\d+) bytes, lost\)", p.stderr)
    assert lost, p.stderr
    assert int(lost[1]) == len(want) - len(got), (lost[0], len(want), len(got))
    assert int(lost[2]) == sum(map(len, want)) - sum(map(len, got)), lost[0]


def test_a_value_the_run_cannot_use_is_refused_as_config_not_blamed_on_hugepages():
    # Issue 14 §3: an expiry resolution of 1e-10 s passed the config checks,
    # then failed in the flow table as "hugepages ran out" and exited 1.
    for key, value in (("flow.expiry_resolution", "1e-10"), ("flow.idle_timeout", "1e-12")):
        p = run("run", "--pcap", PING, "--out", os.path.join(TMP, "tiny.json"), "--set", f"{key}={value}", expect=2)
        assert key in p.stderr and "hugepages" not in p.stderr, p.stderr


def test_an_output_another_run_is_writing_is_refused():
    # Issue 14 §3: two runs with the same --out both exited 0, and one
    # silently replaced the other's output. The writer's lock is flock(2)'s:
    # held here as another flowscore holds it, the run must refuse.
    import fcntl
    out = os.path.join(TMP, "busy.json")
    with open(out, "w") as held:
        held.write("another run's records\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = run("run", "--pcap", PING, "--out", out, expect=2)
        assert "being written by another flowscore" in p.stderr, p.stderr
    with open(out) as f:
        assert f.read() == "another run's records\n"  # untouched
    run("run", "--pcap", PING, "--out", out)  # the lock is gone: the run goes ahead


def test_a_stopped_offline_run_says_it_was_stopped_not_corrupt():
    # Issue 14 §3: SIGTERM during an offline run gave exit 2 and "libpcap
    # refused a record (corrupt, ...)" for a whole, healthy capture.
    big = os.path.join(TMP, "stop-big.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "2000000",
                    "--seed", "3", "--out", big, "--quiet"], check=True, timeout=300)
    out = os.path.join(TMP, "stopped.json")
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.Popen([FLOWSCORE, "run", "--pcap", big, "--out", out], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and (not os.path.exists(out) or os.path.getsize(out) == 0) and p.poll() is None:
        time.sleep(0.01)  # records are being written: the run is well under way
    assert p.poll() is None, "the run ended before it could be stopped: use a bigger capture"
    p.send_signal(signal.SIGTERM)
    _, stderr = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, (p.returncode, stderr)
    assert "stopped by SIGTERM" in stderr and "were not read" in stderr, stderr
    assert "corrupt" not in stderr, stderr
    assert all("flow" in r for r in records(out))  # what was read is flushed and written whole
    os.unlink(big)  # 1 GB


def test_a_second_signal_ends_a_run_whose_output_is_blocked():
    # Issue 14 §3: with its output pipe full (the reader not reading), a run
    # ignored a second SIGTERM until the reader resumed, and then blamed
    # "the writer could not keep up". It must end, saying what it dropped.
    big = os.path.join(TMP, "blocked-big.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "300000",
                    "--seed", "4", "--out", big, "--quiet"], check=True, timeout=300)
    p = subprocess.Popen([FLOWSCORE, "run", "--pcap", big, "--out", "-"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)  # stdout is never read: the pipe fills and stays full
    try:
        time.sleep(2)  # long enough for 64 KiB of EVE lines
        assert p.poll() is None, "the run ended before its pipe filled"
        p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)  # a hang fails here
    finally:
        if p.poll() is None:
            p.kill()
    stderr = p.stderr.read().decode()
    assert p.returncode != 0, stderr
    assert "abandoned writing to stdout at a second stop signal" in stderr, stderr
    assert "could not keep up" not in stderr, stderr  # nothing was dropped for a slow writer
    os.unlink(big)


def test_calibrate_writes_a_config_run_accepts():
    # calibrate measures the context of benign captures and writes the
    # configuration back with thresholds from it: run must load it as it is.
    out = os.path.join(TMP, "calibrated.json")
    caps = [a for f in SMALL[:4] for a in ("--pcap", f)]
    p = run("calibrate", *caps, "-o", out, "--quantile", "0.99", "--set", "flow.idle_timeout=30")
    assert "calibration:" in p.stderr, p.stderr
    with open(out) as f:
        doc = json.load(f)
    assert doc["_calibration"]["quantile"] == 0.99 and doc["_calibration"]["records"] > 0, doc["_calibration"]
    assert doc["flow"]["idle_timeout"] == 30  # --set overrides are part of what it writes back
    assert doc["campaigns"]["fan_in_sources"] >= 10 and doc["model"]["classes"]["flood"]["evidence"]["dst_sources"] >= 3
    run("run", "--pcap", PING, "--config", out, "--out", os.path.join(TMP, "with-calibrated.json"))
    run("calibrate", "--pcap", PING, "-o", out, "--quantile", "1.5", expect=2)
    run("calibrate", "--pcap", PING, expect=2)  # no -o
    p = run("calibrate", "--pcap", PING, "-o", out, "--model", "none", expect=2)
    assert "--model is for run" in p.stderr, p.stderr
    run("run", "--pcap", PING, "--out", "-", "--quantile", "0.9", expect=2)


def test_version_and_help():
    assert run("--version").stdout.startswith("flowscore ")
    assert "flowscore run --pcap" in run("--help").stdout
    run("frobnicate", expect=2)


def test_run_writes_one_valid_eve_line_per_flow():
    out = os.path.join(TMP, "small.json")
    args = ["run", "--model", "none", "--out", out]
    for f in SMALL:
        args += ["--pcap", f]
    p = run(*args)
    assert "flows recorded, not scored" in p.stderr, p.stderr  # no model is said, not implied
    packets, flows, recs = summary_numbers(p.stderr)
    lines = records(out)
    # A flow yields one record, more when the active timeout checkpoints it.
    assert len(lines) == recs >= flows > 0, (len(lines), recs, flows)
    names = {os.path.basename(f) for f in SMALL}
    for r in lines:
        assert REQUIRED <= r.keys(), r.keys()
        assert r["event_type"] == "flow"
        assert r["community_id"].startswith("1:")
        # What a schema cannot say: the sensor, the input, the id's range.
        assert r["host"] and r["in_iface"] in names, (r.get("host"), r.get("in_iface"))
        assert 0 <= r["flow_id"] < 2 ** 51, r["flow_id"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000", r["timestamp"]), r["timestamp"]
    for r in lines:
        assert not schema_errors(r), schema_errors(r)
    # Every packet is either in exactly one record or counted as not flowed.
    flowed = sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in lines)
    not_flowed = 0
    for l in p.stderr.splitlines():
        if "packets not flowed:" in l:
            not_flowed = sum(int(kv.split("=")[1]) for kv in l.split(":", 2)[2].split())
    assert flowed + not_flowed == packets, (flowed, not_flowed, packets)
    assert len({r["flow_id"] for r in lines}) == len(lines), "flow_id must be unique"


def test_missing_and_non_capture_inputs_are_refused():
    p = run("run", "--pcap", "/nonexistent.pcap", "--out", "-", expect=2)
    assert "/nonexistent.pcap" in p.stderr
    p = run("run", "--pcap", os.path.join(SRC, "README.md"), "--out", "-", expect=2)
    assert "README.md" in p.stderr


def test_options_of_the_other_command_are_refused_not_ignored():
    out = os.path.join(TMP, "other.json")
    p = run("run", "--pcap", PING, "--out", out, "--labels", "x.csv", expect=2)
    assert "--labels is for extract" in p.stderr, p.stderr
    p = run("extract", "--pcap", PING, "--out", out, "--model", "none", expect=2)
    assert "--model is for run" in p.stderr, p.stderr
    p = run("run", "--pcap", PING, "--out", out, "--workers", "two", expect=2)
    assert "--workers wants a whole number" in p.stderr, p.stderr


def test_unsupported_link_type_is_named():
    path = os.path.join(TMP, "wifi.pcap")
    with open(path, "wb") as f:  # LINKTYPE_IEEE802_11 (105), one 24-byte frame
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105))
        f.write(struct.pack("<IIII", 1, 0, 24, 24) + bytes(24))
    p = run("run", "--pcap", path, "--out", "-", expect=2)
    assert "802" in p.stderr or "105" in p.stderr, p.stderr


def test_truncated_capture_keeps_its_complete_records():
    data = open(PING, "rb").read()
    path = os.path.join(TMP, "cut.pcap")
    with open(path, "wb") as f:
        f.write(data[: len(data) - 7])  # the last record loses its tail
    out = os.path.join(TMP, "cut.json")
    # What was read is written; the run still fails as bad input.
    p = run("run", "--pcap", path, "--out", out, "--model", "none", expect=2)
    whole = os.path.join(TMP, "whole.json")
    run("run", "--pcap", PING, "--out", whole, "--model", "none")
    got = sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in records(out))
    want = sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in records(whole))
    assert got == want - 1, (got, want)
    assert "truncated" in p.stderr, p.stderr


def test_frames_longer_than_64k_are_counted_whole():
    # DPDK 22.11's pcap PMD chains only (length mod 2^16) bytes of a frame
    # longer than 65,535 bytes while stating its full length; reading by the
    # stated length walked off the chain and crashed the run. Offload
    # super-packets and some pcapng writers produce such frames.
    path = os.path.join(TMP, "jumbo.pcap")
    sizes = [70_000, 100_000, 65_536, 131_072, 262_144, 1_500]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1))
        for i, size in enumerate(sizes):
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
            udp = struct.pack("!HHHH", 5000, 6000 + i, 0, 0)
            frame = bytes(6) + bytes([0, 1, 2, 3, 4, 5]) + b"\x08\x00" + ip + udp
            frame += bytes(size - len(frame))
            f.write(struct.pack("<IIII", 100 + i, 0, size, size) + frame)
    out = os.path.join(TMP, "jumbo.json")
    p = run("run", "--pcap", path, "--out", out, "--model", "none")
    packets, flows, _ = summary_numbers(p.stderr)
    tshark = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.len"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert packets == len(tshark) == len(sizes), (packets, tshark)
    lines = records(out)
    assert len(lines) == flows == len(sizes), (len(lines), flows)
    got = sorted(r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"] for r in lines)
    assert got == sorted(int(n) for n in tshark), (got, tshark)


def test_records_libpcap_refuses_are_reported_not_lost():
    # The pcap PMD ends a burst at libpcap's first error without a word; at a
    # burst boundary that looked like the end of the file, and everything
    # after it was lost silently. Here packet 32 names an interface the file
    # does not have (libpcap refuses it), and a classic pcap has a record
    # whose length runs past the end of the file.
    def block(kind, body):
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    frame = bytes(12) + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                                                    bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + bytes(8)
    ng = os.path.join(TMP, "bad-interface.pcapng")
    with open(ng, "wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", 1, 0, 65535)))
        for i in range(100):
            f.write(block(6, struct.pack("<IIIII", 5 if i == 32 else 0, 0, i, len(frame), len(frame)) + frame))
    p = run("run", "--pcap", ng, "--out", os.path.join(TMP, "bad-interface.json"), "--model", "none", expect=2)
    packets, _, _ = summary_numbers(p.stderr)
    assert packets == 32, p.stderr
    assert "68 of 100 packet records were not read" in p.stderr, p.stderr

    data = open(PING, "rb").read()
    broken = os.path.join(TMP, "bad-length.pcap")
    with open(broken, "wb") as f:  # the second record claims 0xFFFFFFF0 captured bytes
        first_len = struct.unpack("<I", data[24 + 8:24 + 12])[0]
        second = 24 + 16 + first_len
        f.write(data[:second + 8] + struct.pack("<I", 0xFFFFFFF0) + data[second + 12:])
    p = run("run", "--pcap", broken, "--out", os.path.join(TMP, "bad-length.json"), "--model", "none", expect=2)
    assert f"framing breaks at byte {second}" in p.stderr, p.stderr


def test_capture_times_after_2038_keep_their_date_and_flows():
    # libpcap reads a classic pcap's unsigned seconds as signed: from 2038
    # on they reached flowscore negative, wrapped in nanoseconds, and every
    # packet became a flow of its own with a date centuries off.
    import datetime
    data = bytearray(open(PING, "rb").read())
    at, shift = 24, 0xF0000000 - struct.unpack("<I", data[24:28])[0]
    while at + 16 <= len(data):
        sec, _, caplen, _ = struct.unpack("<IIII", data[at:at + 16])
        struct.pack_into("<I", data, at, sec + shift)
        at += 16 + caplen
    path = os.path.join(TMP, "y2097.pcap")
    open(path, "wb").write(bytes(data))
    late, early = os.path.join(TMP, "y2097.json"), os.path.join(TMP, "ping.json")
    run("run", "--pcap", path, "--out", late, "--model", "none")
    run("run", "--pcap", PING, "--out", early, "--model", "none")
    assert len(records(late)) == len(records(early)), (len(records(late)), len(records(early)))
    epoch = subprocess.run(["tshark", "-r", path, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                           capture_output=True, text=True, check=True).stdout.strip()
    want = datetime.datetime.fromtimestamp(int(float(epoch)), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    assert min(r["flow"]["start"] for r in records(late)).startswith(want), (want, records(late)[0]["flow"])


def test_bad_config_names_the_key():
    p = run("run", "--pcap", PING, "--out", "-", "--set", "flow.idel_timeout=5", expect=2)
    assert "flow.idel_timeout" in p.stderr and "unknown key" in p.stderr
    p = run("run", "--pcap", PING, "--out", "-", "--idle-timeout", "-3", expect=2)
    assert "flow.idle_timeout" in p.stderr
    bad = os.path.join(TMP, "bad.json")
    with open(bad, "w") as f:
        f.write('{"flow": {"table_size": "big"}}')
    p = run("run", "--pcap", PING, "--out", "-", "--config", bad, expect=2)
    assert "flow.table_size" in p.stderr
    with open(bad, "w") as f:
        f.write('{"flow": {')
    p = run("run", "--pcap", PING, "--out", "-", "--config", bad, expect=2)
    assert "not valid JSON" in p.stderr


def test_corrupt_model_is_refused():
    bad = os.path.join(TMP, "garbage.fsm")
    with open(bad, "wb") as f:
        f.write(os.urandom(4096))
    p = run("run", "--pcap", PING, "--out", "-", "--model", bad, expect=2)
    assert "garbage.fsm" in p.stderr


def feature_names():
    out = os.path.join(TMP, "names.csv")
    run("extract", "--pcap", PING, "--out", out)
    header = open(out).readline().strip().split(",")
    return header[header.index("label") + 1:]


def test_extract_writes_the_feature_table():
    out = os.path.join(TMP, "table.csv")
    run("extract", "--pcap", PING, "--pcap", SMALL[0], "--label", "benign", "--label", "attack", "--out", out)
    rows = list(csv.DictReader(open(out)))
    names = feature_names()
    assert len(names) == len(set(names)) > 50
    assert {r["label"] for r in rows} == {"benign", "attack"}
    assert all(r["input"] in (os.path.basename(PING), os.path.basename(SMALL[0])) for r in rows)
    run("extract", "--pcap", PING, "--label", "a", "--label", "b", "--out", out, expect=2)


def compiled_model(name, seed, class_names="benign,attack"):
    """A small real XGBoost model over flowscore's own feature names, compiled."""
    names = feature_names()
    path_json, path = os.path.join(TMP, f"{name}.json"), os.path.join(TMP, f"{name}.fsm")
    code = f"""
import numpy as np, xgboost as xgb
rng = np.random.default_rng({seed})
X = rng.random((400, {len(names)}), dtype=np.float32) * 1000
y = (X[:, 0] > 500).astype(int)
d = xgb.DMatrix(X, label=y, feature_names={names!r})
b = xgb.train({{"objective": "binary:logistic", "max_depth": 3, "seed": {seed}}}, d, 5)
b.save_model({path_json!r})
"""
    subprocess.run(["/usr/bin/python3", "-c", code], check=True, timeout=300)
    run("compile", path_json, "-o", path, "--class-names", class_names)
    return path


def test_run_with_a_model_gives_verdicts():
    mf = compiled_model("m", 1)
    out = os.path.join(TMP, "scored.json")
    run("run", "--pcap", PING, "--out", out, "--model", mf)
    recs = records(out)
    assert recs and all("flowscore" in r and r["flowscore"]["label"] in ("benign", "attack") for r in recs)
    assert all(r["event_type"] == ("alert" if "alert" in r else "flow") for r in recs)
    # Classes without a policy in the config alert with an empty category
    # and severity 3 (OUTPUT.md). The same model with its class names
    # swapped calls these flows "attack"; at threshold 0 every one alerts.
    swapped = compiled_model("m-swapped", 1, class_names="attack,benign")
    run("run", "--pcap", PING, "--out", out, "--model", swapped, "--set", "model.default_threshold=0")
    alerts = [r["alert"] for r in alert_events(out)]
    assert alerts and all(a["severity"] == 3 and a["category"] == "" for a in alerts), alerts


def alert_events(path):
    with open(path) as f:
        return [r for r in map(json.loads, f) if r.get("event_type") == "alert" and "flow" in r]


def test_every_alert_event_has_its_flow_event():
    # As Suricata: a flow event for every flow, an alert event for each alert,
    # sharing flow_id. The alert is stamped with its verdict's time (the
    # flow's end), the flow event with the flow's start. Threshold 0: every
    # flow of the capture alerts (no evidence policy, no rate limit).
    swapped = compiled_model("m-swapped", 1, class_names="attack,benign")
    out = os.path.join(TMP, "alert-and-flow.json")
    run("run", "--pcap", SMALL[0], "--pcap", PING, "--out", out, "--model", swapped, "--set", "model.default_threshold=0",
        "--set", "alerting.policy=threshold")
    flows, alerts = records(out), alert_events(out)
    assert flows and len(alerts) == len(flows), (len(alerts), len(flows))
    by_id = {r["flow_id"]: r for r in flows}
    for a in alerts:
        f = by_id[a["flow_id"]]
        assert f["event_type"] == "flow" and f["flow"]["alerted"] and "alert" not in f, f
        assert a["timestamp"] == a["flow"]["end"] == f["flow"]["end"], (a, f)
        assert f["timestamp"] == f["flow"]["start"] == a["flow"]["start"], (a, f)
        # One verdict, two events: each its own record_id (what a consumer drops repeats by).
        verdict = lambda r: {k: v for k, v in r["flowscore"].items() if k != "record_id"}
        assert a["community_id"] == f["community_id"] and verdict(a) == verdict(f)
        assert a["flowscore"]["record_id"] != f["flowscore"]["record_id"]
        assert not schema_errors(a) and not schema_errors(f), (schema_errors(a), schema_errors(f))


def test_scoring_placement_does_not_change_verdicts():
    # model.score_on moves scoring between the worker and the writer (and a
    # flush always scores on the worker): every record must still get exactly
    # the verdict the model gives it. Short timeouts and small batches make
    # records expire mid-capture, so both lcores score.
    mf = compiled_model("placement", 3)
    verdicts = {}
    for where in ("worker", "writer", "auto"):
        out = os.path.join(TMP, f"placement-{where}.json")
        args = ["run", "--out", out, "--model", mf, "--idle-timeout", "1", "--set", "model.batch_size=4",
                "--set", f"model.score_on={where}"]
        for f in SMALL:
            args += ["--pcap", f]
        p = run(*args)
        recs = records(out)
        assert len(recs) == summary_numbers(p.stderr)[2]
        assert f"{len(recs)} flows scored" in p.stderr, p.stderr
        verdicts[where] = {r["flow_id"]: (r["flowscore"]["label"], r["flowscore"]["score"]) for r in recs}
    assert verdicts["worker"] == verdicts["writer"] == verdicts["auto"]
    run("run", "--pcap", PING, "--out", "-", "--set", "model.score_on=gpu", expect=2)


def test_reading_on_the_main_lcore_changes_nothing():
    # dpdk.read_on=main reads and parses on the main lcore and hands the
    # worker parsed frames over a ring; the plain path, where the worker reads
    # the files itself, is the reference. Many small files in a row exercise
    # the end-of-file handshake (each file is flushed on its own clock); a
    # generated capture of 60,000 packets, 15 times the ring, makes it wrap
    # and, whenever the worker falls behind, run full. Short timeouts make records expire
    # while packets still flow; a small batch makes the worker hand them over
    # often. One worker: record order across workers is not deterministic.
    big = os.path.join(TMP, "read-on-big.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "60000",
                    "--seed", "7", "--out", big, "--quiet"], check=True, timeout=120)
    pcaps = [f for f in sorted(glob.glob(os.path.join(DATA, "oracle", "*.pcap"))) if "chdlc" not in f] + SMALL
    pcaps += [big, PING]
    reads_on_main = "the main lcore reads and parses the capture files"
    outputs, summaries = {}, {}
    for read_on in ("worker", "main", "auto"):
        out = os.path.join(TMP, f"read-on-{read_on}.json")
        args = ["run", "--workers", "1", "--out", out, "--idle-timeout", "2", "--set", f"dpdk.read_on={read_on}",
                "--set", "model.batch_size=8"]
        for f in pcaps:
            args += ["--pcap", f]
        p = run(*args)
        assert (reads_on_main in p.stderr) == (read_on != "worker"), p.stderr
        with open(out, "rb") as f:
            outputs[read_on] = f.read()
        summaries[read_on] = summary_numbers(p.stderr)
        assert summaries[read_on][0] > 65000
    assert summaries["worker"] == summaries["main"] == summaries["auto"]
    assert outputs["worker"] == outputs["main"] == outputs["auto"]
    run("run", "--pcap", PING, "--out", "-", "--set", "dpdk.read_on=nic", expect=2)
    p = run("run", "--pcap", PING, "--out", "-", "--workers", "1000", expect=2)
    assert "lcores, one of them the main lcore" in p.stderr and "Usage" not in p.stderr, p.stderr


def capture_corpus(name, copies):
    """A directory of `copies` links to each small capture (tests/data/output
    and the packet captures flowscore reads whole), named so that name order
    interleaves them: NNN-k-basename. Returns (directory, sorted paths)."""
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    sources = SMALL + [os.path.join(DATA, "packet", f) for f in sorted(os.listdir(os.path.join(DATA, "packet")))
                       if f.endswith(".pcap")]
    # Only those a run takes alone (an unsupported link type refuses the whole run).
    sources = [f for f in sources if subprocess.run([FLOWSCORE, "run", "--model", "none", "-q", "--pcap", f, "--out",
                                                     os.devnull], capture_output=True).returncode == 0]
    paths = []
    for k in range(copies):
        for j, f in enumerate(sources):
            link = os.path.join(d, f"{k * len(sources) + j:04d}-{os.path.basename(f)}")
            if not os.path.exists(link):
                os.symlink(f, link)
            paths.append(link)
    return d, sorted(paths)


def flow_keys(recs):
    """{in_iface: {(community_id, packets, bytes)}} of the flow records."""
    out = {}
    for r in recs:
        if r.get("event_type") == "flow":
            f = r["flow"]
            out.setdefault(r["in_iface"], set()).add(
                (r["community_id"], f["pkts_toserver"] + f["pkts_toclient"], f["bytes_toserver"] + f["bytes_toclient"]))
    return out


def test_a_list_of_many_captures_runs_in_one_process_as_each_file_alone():
    # Issue 17: --pcap-list, --pcap DIR. More files than DPDK has ports
    # (RTE_MAX_ETHPORTS, 32) run in one process: each file's port opens when
    # the main lcore comes to it. Every file's flows are those of a run on it
    # alone (flows never span files); every packet tshark counts is read.
    d, paths = capture_corpus("corpus", 3)
    assert len(paths) > 90, len(paths)
    listing = os.path.join(TMP, "corpus.list")
    with open(listing, "w") as f:
        f.write("# a corpus\n\n" + "\n".join(f"  {p}" if i % 10 == 0 else p for i, p in enumerate(paths)) + "\n")
    outs = {}
    for how, args, stdin in (("list", ["--pcap-list", listing], None), ("dir", ["--pcap", d], None),
                             ("stdin", ["--pcap-list", "-"], open(listing))):
        outs[how] = os.path.join(TMP, f"corpus-{how}.json")
        p = run("run", "--model", "none", "--out", outs[how], *args, stdin=stdin)
    # Directory order is name order, as the sorted list: the same bytes.
    data = {how: open(path, "rb").read() for how, path in outs.items()}
    assert data["list"] == data["dir"] == data["stdin"] and data["list"].count(b"\n") > 200
    together = flow_keys(records(outs["list"]))
    assert len(together) > 80, len(together)
    for path in paths[::7]:
        alone = os.path.join(TMP, "corpus-alone.json")
        run("run", "--model", "none", "-q", "--pcap", path, "--out", alone)
        assert flow_keys(records(alone)).get(os.path.basename(path), set()) == together.get(os.path.basename(path), set()), path
    # Dealt to two workers by address pair, the same flows (a flow may end on
    # `shutdown` rather than `timeout`, ARCHITECTURE.md: reasons are not compared).
    dealt = os.path.join(TMP, "corpus-dealt.json")
    run("run", "--model", "none", "--workers", "2", "--out", dealt, "--pcap-list", listing)
    assert flow_keys(records(dealt)) == together
    # Every packet read, as tshark counts them; the accounting line still closes.
    line = re.search(r"accounting: (\d+) packets read = (\d+) in flows \+ (\d+) not flowed \+ (\d+) with no room", p.stderr)
    assert line, p.stderr
    frames = {f: tshark_frames(f)[0] for f in set(map(os.path.realpath, paths))}
    assert int(line[1]) == sum(frames[os.path.realpath(f)] for f in paths), (line[0], sum(frames.values()))
    assert int(line[2]) == sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in records(outs["list"])
                               if r["event_type"] == "flow"), line[0]
    # extract's input column names each file too.
    table = os.path.join(TMP, "corpus.csv")
    run("extract", "--pcap-list", listing, "--out", table)
    rows = list(csv.DictReader(open(table)))
    assert {r["input"] for r in rows} == set(together), {r["input"] for r in rows} ^ set(together)
    # --pcap FILE, --pcap DIR and --pcap-list together, in that order: the files in it.
    both = os.path.join(TMP, "corpus-both.json")
    run("run", "--model", "none", "--out", both, "--pcap", PING, "--pcap", d, "--pcap-list", listing)
    assert set(flow_keys(records(both))) == set(together) | {os.path.basename(PING)}


def test_a_bad_file_in_a_capture_list_is_named():
    # A list is checked as a whole before DPDK starts: a file missing or not
    # a capture stops the run (exit 2) and is named. A file cut short is
    # read as far as it holds, as with --pcap: the others' records are
    # written, and the run fails as bad input, naming it.
    d, paths = capture_corpus("corpus-bad", 2)
    paths = paths[:45]
    listing = os.path.join(TMP, "bad.list")
    out = os.path.join(TMP, "bad.json")
    for bad in ("/nonexistent/gone.pcap", os.path.join(SRC, "README.md")):
        with open(listing, "w") as f:
            f.write("\n".join(paths[:20] + [bad] + paths[20:]) + "\n")
        p = run("run", "--pcap-list", listing, "--out", out, expect=2)
        assert bad in p.stderr, p.stderr
    # --skip-unreadable leaves both out, names each, and gives the records
    # of the others exactly as a list without them does.
    with open(listing, "w") as f:
        f.write("\n".join(paths[:10] + ["/nonexistent/gone.pcap"] + paths[10:20] +
                          [os.path.join(SRC, "README.md")] + paths[20:]) + "\n")
    skipping = os.path.join(TMP, "skipping.json")
    p = run("run", "--model", "none", "--pcap-list", listing, "--out", skipping, "--skip-unreadable")
    assert "skipped: capture file '/nonexistent/gone.pcap' does not exist" in p.stderr, p.stderr
    assert "README.md" in p.stderr and f"skipped 2 of {len(paths) + 2} capture files" in p.stderr, p.stderr
    without = os.path.join(TMP, "without-bad.json")
    run("run", "--model", "none", "--out", without, "--pcap-list", "-", input="\n".join(paths) + "\n")
    assert flow_keys(records(skipping)) == flow_keys(records(without)) and len(flow_keys(records(without))) > 30
    p = run("extract", "--pcap", PING, "--label", "benign", "--out", out, "--skip-unreadable", expect=2)
    assert "--skip-unreadable with --label" in p.stderr, p.stderr
    cut = os.path.join(TMP, "list-cut.pcap")
    data = open(PING, "rb").read()
    with open(cut, "wb") as f:
        f.write(data[: len(data) - 7])
    with open(listing, "w") as f:
        f.write("\n".join(paths[:20] + [cut] + paths[20:]) + "\n")
    p = run("run", "--model", "none", "--pcap-list", listing, "--out", out, expect=2)
    assert "list-cut.pcap: truncated" in p.stderr, p.stderr
    clean = os.path.join(TMP, "clean.json")
    run("run", "--model", "none", "--out", clean, "--pcap-list", "-", input="\n".join(paths) + "\n")
    got = flow_keys(records(out))
    assert got.pop("list-cut.pcap") and got == flow_keys(records(clean)) and len(got) > 30, len(got)
    p = run("run", "--pcap-list", "/nonexistent.list", "--out", out, expect=2)
    assert "/nonexistent.list" in p.stderr, p.stderr
    empty = os.path.join(TMP, "no-captures")
    os.makedirs(empty, exist_ok=True)
    p = run("run", "--pcap", empty, "--out", out, expect=2)
    assert "no-captures" in p.stderr and "no .pcap" in p.stderr, p.stderr
    # Input indexes are 16 bits: more than 65536 files are refused, before any is opened.
    with open(listing, "w") as f:
        f.write((PING + "\n") * 65537)
    p = run("run", "--pcap-list", listing, "--out", out, expect=2)
    assert "65537 capture files" in p.stderr and "at most 65536" in p.stderr, p.stderr


def test_a_table_fitted_to_the_captures_changes_no_record():
    # Offline, the flow table shrinks to the most flows the captures' size
    # allows (flow.fit_table_to_input), so it can still never fill: the
    # records are byte for byte those of the configured table. The captures
    # are real ones with many short flows, run together in one process.
    pcaps = [f for f in sorted(glob.glob(os.path.join(DATA, "oracle", "*.pcap"))) if "chdlc" not in f] + SMALL
    outputs = {}
    for fit in ("true", "false"):
        out = os.path.join(TMP, f"fit-{fit}.json")
        args = ["run", "--workers", "1", "--out", out, "--set", f"flow.fit_table_to_input={fit}"]
        for f in pcaps:
            args += ["--pcap", f]
        p = run(*args)
        fitted = "fitted to the captures' size; flow.table_size 1048575" in p.stderr
        assert fitted == (fit == "true"), p.stderr
        assert "start-up" in p.stderr and "flows ended early" not in p.stderr, p.stderr
        with open(out, "rb") as f:
            outputs[fit] = f.read()
    assert outputs["true"] == outputs["false"] and outputs["true"].count(b"\n") > 100


def test_a_progress_line_on_a_terminal_and_never_in_a_pipe():
    # On a terminal (a pseudo-terminal here) a long offline run redraws one
    # line in place; piped, or with --quiet, stderr has none of it.
    import pty
    big = os.path.join(TMP, "progress.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "1500000",
                    "--seed", "3", "--out", big, "--quiet"], check=True, timeout=120)
    args = [FLOWSCORE, "run", "--pcap", big, "--out", "/dev/null"]

    def on_terminal(extra):
        leader, follower = pty.openpty()
        p = subprocess.Popen(args + extra, stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        os.close(leader)
        assert p.wait(timeout=120) == 0, seen.decode(errors="replace")
        return seen.decode(errors="replace")

    shown = on_terminal([])
    lines = [l for l in shown.split("\r") if "% read" in l]
    assert lines, shown
    assert "\x1b[K" in shown and "Mpkt/s" in lines[-1] and "flows tracked" in lines[-1], lines
    percents = [float(l.split("flowscore:")[1].split("%")[0]) for l in lines]
    assert percents == sorted(percents) and 0 < percents[-1] < 100, percents
    assert "% read" not in on_terminal(["-q"])
    piped = run(*args[1:])
    assert "% read" not in piped.stderr and "packets (" in piped.stderr, piped.stderr
    os.remove(big)


def test_dealing_frames_to_several_workers_changes_no_record():
    # With several workers the main lcore deals frames by a symmetric hash of
    # the address pair, so a worker sees whole flows and whole address pairs
    # (pair_flows) and computes what one worker computes: the same records,
    # features, verdicts and flow_ids. Only the order of lines may differ.
    # The reference is two workers that each read
    # a file of their own. The captures' time never runs backwards (else each
    # worker's clock, the latest time it saw, could split flows differently),
    # and they are large enough that every worker's clock moves.
    gen = os.path.join(BUILD, "src/gen/flowscore-gen")
    caps = []
    for seed in (11, 12):
        caps.append(os.path.join(TMP, f"deal-{seed}.pcap"))
        subprocess.run([gen, "--profile", "bench", "--packets", "30000", "--seed", str(seed), "--out", caps[-1],
                        "--quiet"], check=True, timeout=120)

    def sorted_records(workers, read_on):
        out = os.path.join(TMP, f"deal-{workers}-{read_on}.json")
        args = ["run", "--pcap", caps[0], "--pcap", caps[1], "--workers", str(workers), "--out", out]
        p = run(*(args + (["--set", f"dpdk.read_on={read_on}"] if read_on else [])))
        lines = [json.dumps(without_policy(r), sort_keys=True) for r in records(out)]
        busy = 1  # workers that got frames, from "packets per worker: 0: N, 1: M"
        for line in p.stderr.splitlines():
            if "packets per worker:" in line:
                busy = sum(int(part.split(":")[1]) > 0 for part in line.split("worker:")[1].split(","))
        return sorted(lines), busy, summary_numbers(p.stderr), p.stderr

    reference, busy, summary, _ = sorted_records(2, "worker")
    assert len(reference) > 5000 and busy == 2
    for workers, read_on in ((1, "main"), (2, "main"), (3, None)):  # None: auto, more workers than files
        lines, busy, numbers, stderr = sorted_records(workers, read_on)
        if workers > 1:
            assert f"deals frames to {workers} workers" in stderr, stderr
        assert busy == workers, (workers, stderr)  # every worker got frames
        assert numbers == summary, (workers, numbers, summary)
        assert lines == reference, workers


def test_several_workers_keep_the_hugepages_they_were_planned():
    # Each worker maps its flow arrays from the hugetlb pool while it has
    # room, after its flow index. With 1 GiB of hugepages and four workers
    # the first workers' arrays took the pages the fourth one's index had
    # been planned, and the run fell back to --no-huge, every lcore pinned
    # to one CPU. Now EAL reserves DPDK's share at start-up.
    meminfo = dict(l.split(":", 1) for l in open("/proc/meminfo"))
    free_mb = int(meminfo["HugePages_Free"]) * int(meminfo["Hugepagesize"].split()[0]) // 1024
    if free_mb < 1024 or "hugetlbfs" not in open("/proc/mounts").read():
        print(f"  skipped: {free_mb} MiB of hugepages free (1 GiB wanted)")
        return
    p = run("run", "--pcap", PING, "--out", os.path.join(TMP, "four.json"), "--model", "none", "--workers", "4")
    assert "no-huge" not in p.stderr and "memory allocation failed" not in p.stderr, p.stderr


def test_live_mode_reloads_on_sighup_and_flushes_on_sigint():
    good = compiled_model("live", 2)
    out = os.path.join(TMP, "live-out.json")
    prefix = f"flowscore-test-{os.getpid()}"
    proc = subprocess.Popen(
        [FLOWSCORE, "run", "-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--log-level=error", f"--file-prefix={prefix}",
         f"--vdev=net_pcap0,rx_pcap={PING}", "--", "--out", out, "--model", good],
        stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()

    def wait_for(text, timeout=60):
        # Each step waits for flowscore to say it happened: a loaded CI
        # machine can take seconds to start or to act on a signal.
        deadline = time.time() + timeout
        while not any(text in l for l in lines):
            assert time.time() < deadline and proc.poll() is None, f"no '{text}' in:\n{''.join(lines)}"
            time.sleep(0.1)

    try:
        wait_for("SIGHUP reloads the model")
        # A bad model is refused and the running one kept; then a good one is taken.
        with open(good, "rb") as f:
            blob = f.read()
        with open(good, "wb") as f:
            f.write(blob[: len(blob) // 2])
        proc.send_signal(signal.SIGHUP)
        wait_for("model reload refused")
        with open(good, "wb") as f:
            f.write(blob)
        proc.send_signal(signal.SIGHUP)
        wait_for("model reloaded")
        # The same through the control channel: DPDK's telemetry socket.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        sock.recv(16384)  # greeting
        sock.send(b"/flowscore/reload")
        assert json.loads(sock.recv(16384)) == {"/flowscore/reload": {"reload": "requested"}}
        deadline = time.time() + 60
        while True:
            sock.send(b"/flowscore/model")
            state = json.loads(sock.recv(16384))["/flowscore/model"]
            if state["reloads"] == 2 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert state["reloads"] == 2 and state["refusals"] == 1 and state["name"] == "live", state
        sock.close()

        def reload_with(model, outcome, times):  # SIGHUP with `model` in place; wait for the n-th outcome line
            with open(model, "rb") as f, open(good, "wb") as g:
                g.write(f.read())
            proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 60
            while sum(outcome in l for l in lines) < times:
                assert time.time() < deadline and proc.poll() is None, "".join(lines)
                time.sleep(0.1)

        # A model without the configured benign class is refused on reload
        # as at start-up: its alerts would be raised on the wrong class.
        reload_with(compiled_model("live-other", 3, class_names="quiet,noisy"), "model reload refused", 2)
        # A different model (name, classes): the records, all flushed at
        # shutdown after this reload, must name it and its classes.
        reload_with(compiled_model("live-other", 3, class_names="benign,noisy"), "model reloaded", 3)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        err = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "model reload refused" in err and "model reloaded" in err, err
    assert "model.benign_class 'benign' is not a class of model" in err, err
    everything = records(out)
    recs = [r for r in everything if r["event_type"] != "stats"]
    assert everything[-1]["event_type"] == "stats", everything[-1]  # the shutdown's stats event
    assert everything[-1]["stats"]["flowscore"]["model"] == {"name": "live-other", "hash": recs[0]["flowscore"]["model"]["hash"],
                                                           "reloads": 3, "refusals": 2}, everything[-1]
    assert recs and all(r["flow"]["reason"] == "shutdown" for r in recs), err
    assert sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in recs) > 0
    assert all(r["flowscore"]["model"]["name"] == "live-other" for r in recs), recs[0]
    assert all(r["flowscore"]["label"] in ("benign", "noisy") for r in recs), recs[0]


def test_a_closed_output_pipe_is_a_reported_failure():
    # `--out -` into a reader that goes away: EPIPE is a failed write, said
    # and counted in the exit status, not death by SIGPIPE.
    pcap = os.path.join(TMP, "pipe.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "20000",
                    "--seed", "5", "--out", pcap, "--quiet"], check=True)
    p = subprocess.run(f"'{FLOWSCORE}' run --model none --pcap '{pcap}' --out - | head -c 100 >/dev/null; "
                       "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "writing stdout failed" in p.stderr and "Broken pipe" in p.stderr, p.stderr


def test_an_address_as_output_is_refused_not_written_as_a_file():
    # Issue 15's reproducer: `--out 127.0.0.1:9514` wrote a file of that name.
    cwd = tempfile.mkdtemp(dir=TMP)
    p = subprocess.run([FLOWSCORE, "run", "--pcap", PING, "--out", "127.0.0.1:9514"], cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "looks like a network address" in p.stderr, (p.returncode, p.stderr)
    assert os.listdir(cwd) == [], os.listdir(cwd)
    p = run("run", "--pcap", PING, "--out", "udp://127.0.0.1:514", expect=2)
    assert "syslog+udp://ADDR:PORT" in p.stderr, p.stderr
    run("run", "--pcap", PING, "--out", "file:" + os.path.join(cwd, "127.0.0.1:9514"))
    assert os.listdir(cwd) == ["127.0.0.1:9514"]


def test_a_tcp_collector_gets_every_line_the_file_gets():
    # tcp:// selects the TCP sink: every line a file would get, in order, to a
    # listener on loopback; the listener starts late, so the sink retries.
    pcap = os.path.join(TMP, "tcp.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "30000",
                    "--seed", "9", "--out", pcap, "--quiet"], check=True, timeout=120)
    reference = os.path.join(TMP, "tcp-reference.json")
    run("run", "--pcap", pcap, "--out", reference, "-q")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = []

    def collect():
        server.listen(1)
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(1 << 16):
                received.append(chunk)

    proc = subprocess.Popen([FLOWSCORE, "run", "--pcap", pcap, "--out", f"tcp://127.0.0.1:{port}"],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # flowscore is already queuing against a refused connection
    listener = threading.Thread(target=collect, daemon=True)
    listener.start()
    err = proc.communicate(timeout=120)[1]
    listener.join(timeout=30)
    server.close()
    assert proc.returncode == 0, err
    assert f"output: tcp 127.0.0.1:{port}" in err or f"127.0.0.1:{port}" in err, err
    with open(reference, "rb") as f:
        assert b"".join(received) == f.read(), (len(b"".join(received)), os.path.getsize(reference))


def test_a_collector_that_never_comes_is_a_counted_loss_after_the_drain_timeout():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens there
    p = run("run", "--pcap", PING, "--out", f"tcp://127.0.0.1:{port}", "--set", "output.drain_timeout=1", expect=1)
    assert "did not take" in p.stderr and "lost" in p.stderr, p.stderr


def test_a_failing_live_output_is_reported_while_it_runs():
    # Issue 15: a live run into a closed pipe said nothing until shutdown. The
    # stats events, one a second, keep writing after the reader is gone.
    prefix = f"flowscore-pipe-{os.getpid()}"
    proc = subprocess.Popen(
        f"'{FLOWSCORE}' run -l 0,1 --no-pci --no-huge -m 256 --log-level=error --file-prefix={prefix} "
        f"--vdev=net_pcap0,rx_pcap={PING} -- --out - --model none --idle-timeout 1 --set output.stats_interval=1 "
        "| head -c 10 >/dev/null",
        shell=True, executable="/bin/bash", stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.time() + 60
    try:
        while not any("is failing" in l for l in lines):
            assert time.time() < deadline and proc.poll() is None, "".join(lines)
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    failing = next(l for l in lines if "is failing" in l)
    assert "stdout" in failing and "Broken pipe" in failing and "writes failed" in failing, failing


def tshark_frames(path):
    """(frames, captured bytes) of a capture, as tshark counts them."""
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.cap_len"],
                         capture_output=True, text=True, check=True).stdout.split()
    return len(out), sum(int(x) for x in out)


def test_live_mode_reports_while_it_runs_and_follows_log_rotation():
    # Four ports: non-IP frames, a malformed packet, and real flows. Their
    # counts come from tshark and from an offline run of the same files; the
    # live run must report the same while it runs (telemetry, periodic stats
    # events) and in its last stats event at shutdown.
    pcaps = [os.path.join(SRC, "tests/data/packet", f) for f in
             ("suricata-pppoe.pcap", "suricata-sctp-pkt-too-small.pcap", "suricata-decode-dce-fabricpath.pcap")]
    pcaps.append(os.path.join(DATA, "output", "443-git.pcap"))
    frames = [tshark_frames(p) for p in pcaps]
    offline = run("run", "--model", "none", "--out", os.devnull, *[a for p in pcaps for a in ("--pcap", p)])
    not_flowed = dict(kv.split("=") for kv in
                      next(l for l in offline.stderr.splitlines() if "packets not flowed:" in l).split(":", 2)[2].split())
    _, offline_flows, _ = summary_numbers(offline.stderr)

    out = os.path.join(TMP, "live-stats.json")
    with open(out, "w") as f:  # a restarted sensor appends: the old log stays
        f.write('{"event_type":"earlier run"}\n')
    prefix = f"flowscore-stats-{os.getpid()}"
    vdevs = [f"--vdev=net_pcap{i},rx_pcap={p}" for i, p in enumerate(pcaps)]
    metrics_port = free_port()
    proc = subprocess.Popen(
        [FLOWSCORE, "run", "-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--log-level=error", f"--file-prefix={prefix}",
         *vdevs, "--", "--out", out, "--model", "none", "--idle-timeout", "1", "--set", "output.stats_interval=1",
         "--set", "output.status_log=true", "--set", f"output.metrics_listen=127.0.0.1:{metrics_port}"],
        stderr=subprocess.PIPE, text=True)
    err_lines = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 60
        while True:  # the control socket: counters at most a second old
            time.sleep(0.2)
            assert time.time() < deadline and proc.poll() is None, "no stats on the telemetry socket"
            try:
                live = telemetry(prefix, "/flowscore/stats") or {}  # null before the first snapshot
            except (OSError, ValueError):
                continue
            if live.get("packets") == sum(n for n, _ in frames):
                break
        assert live["kernel_packets"] == live["packets"] and live["kernel_drops"] == 0, live
        assert live["invalid"] == int(not_flowed["bad_l4_header"]), live
        assert live["flows_created"] == offline_flows, live
        # Prometheus /metrics: the same counters, in the text format.
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4"), response.headers
            exposition = response.read().decode()
        # Read by Prometheus' own Python client's parser (a real client).
        from prometheus_client.parser import text_string_to_metric_families
        samples = {}
        for family in text_string_to_metric_families(exposition):
            assert family.name.startswith("flowscore_") and family.documentation, family
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        total = lambda name: sum(v for (n, _), v in samples.items() if n == name)
        assert total("flowscore_packets_total") == live["packets"] == sum(n for n, _ in frames), samples
        assert total("flowscore_packets_received_total") == live["kernel_packets"]
        assert total("flowscore_flows_created_total") == offline_flows, samples
        assert samples[("flowscore_packets_not_flowed_total", (("reason", "bad_l4_header"),))] == int(not_flowed["bad_l4_header"])
        # Nothing was dropped at the ports, so every packet received was parsed by a worker.
        assert total("flowscore_port_dropped_total") == 0
        assert total("flowscore_packets_received_total") == total("flowscore_packets_total")
        assert samples[("flowscore_records_dropped_total", (("reason", "writer_behind"),))] == 0
        assert samples[("flowscore_output_lost_bytes_total", (("output", f"file {out}"),))] == 0, samples
        # Every flow ends by timeout within about a second (live time), and
        # its record, with a periodic stats event, reaches the file while
        # flowscore runs: the writer does not sit on a part-filled buffer.
        def written():
            with open(out) as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        while {"flow", "stats"} - {r["event_type"] for r in written()} \
                or sum(r["event_type"] == "flow" for r in written()) < offline_flows:
            assert time.time() < deadline and proc.poll() is None, "records or stats events not written while running"
            time.sleep(0.2)
        # Log rotation: move the file away, SIGHUP, and the rest goes to a new one.
        os.rename(out, out + ".1")
        proc.send_signal(signal.SIGHUP)
        while not any("output reopened" in l for l in err_lines):
            assert time.time() < deadline and proc.poll() is None, "".join(err_lines)
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        err = "".join(err_lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rotated, fresh = records(out + ".1"), records(out)
    assert rotated[0] == {"event_type": "earlier run"}, rotated[0]
    assert fresh and all(r["event_type"] == "stats" for r in fresh), fresh  # every flow had ended before the rotation
    lines = rotated[1:] + fresh
    events = [r for r in lines if r["event_type"] == "stats"]
    flows = [r for r in lines if r["event_type"] != "stats"]
    assert lines[-1]["event_type"] == "stats" and len(events) >= 2, [r["event_type"] for r in lines]
    uptimes = [e["stats"]["uptime"] for e in events]
    assert uptimes == sorted(uptimes), uptimes
    last = events[-1]["stats"]
    ports = last["capture"]["ports"]
    assert [(p["packets"], p["bytes"]) for p in ports] == frames, (ports, frames)
    assert last["capture"]["kernel_packets"] == sum(n for n, _ in frames) == last["decoder"]["pkts"], last
    assert last["capture"]["kernel_drops"] == 0 and last["decoder"]["invalid"] == int(not_flowed["bad_l4_header"]), last
    assert {k: v for k, v in last["decoder"]["not_flowed"].items() if v} == {k: int(v) for k, v in not_flowed.items()}, last
    assert sum(w["packets"] for w in last["flowscore"]["workers"]) == last["decoder"]["pkts"], last
    assert last["decoder"]["bytes"] == sum(r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"] for r in flows), last
    assert last["flow"]["created"] == offline_flows == len(flows) == last["flowscore"]["records"], (last, len(flows))
    assert sum(last["flow"]["ended"].values()) == len(flows) and last["flow"]["ended"]["shutdown"] == 0, last
    assert last["flow"]["active"] == 0, last
    assert last["flowscore"]["records_dropped"] == 0 and last["flowscore"]["write_failures"] == 0, last
    assert "model" not in last["flowscore"], last  # --model none
    assert last["flowscore"]["outputs"] == [{"name": f"file {out}", "lost_bytes": 0, "lost_records": 0}], last["flowscore"]
    # output.status_log: a one-line status in the log with each stats event.
    status = [l for l in err.splitlines() if "status: up" in l]
    assert len(status) >= len(events) - 1 and "flows tracked" in status[-1], err


def test_live_mode_takes_a_testpmd_replay_over_memif():
    # What users benchmark with: dpdk-testpmd replays a capture over a memif
    # link into a live flowscore (bench/replay_testpmd.py). A small capture
    # fits in memif's ring, so nothing may be dropped: flowscore must count
    # what tshark counts, and its flows must be the ones an offline run of
    # the same capture finds. All 436 flows are still open at SIGINT, and
    # the shutdown flush must bring every one through a pool of 64 records.
    replay_over_memif("0,1", 1)


def test_live_mode_with_two_workers_takes_a_testpmd_replay_over_memif():
    # The same with two workers: memif's one queue is read by the main lcore
    # and dealt to them by address pair (issue 14 section 4).
    replay_over_memif(THREE_LCORES, 2)


def replay_over_memif(lcores, workers):
    pcap = os.path.join(TMP, "replay.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "3000",
                    "--seed", "3", "--out", pcap, "--quiet"], check=True)
    keep, result = os.path.join(TMP, f"replay-{workers}"), os.path.join(TMP, f"replay-{workers}.json")
    p = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench/replay_testpmd.py"), "--build", BUILD,
                        "--pcap", pcap, "--rounds", "1", "--receivers", "flowscore", "--timeout", "120",
                        "--flowscore-lcores", lcores,
                        "--json", result, "--keep", keep, "--", "--model", "none", "--set", "output.queue_records=64",
                        "--set", "flow.tcp_close_linger=600"],  # closed TCP flows too stay open until SIGINT
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    (run_result,) = json.load(open(result))
    assert run_result["returncode"] == 0, run_result
    frames, _ = tshark_frames(pcap)
    assert run_result["offered"] == run_result["received"] == frames, run_result
    live = records(run_result["eve"])
    stats = [r for r in live if r["event_type"] == "stats"][-1]["stats"]
    assert stats["decoder"]["pkts"] == stats["capture"]["kernel_packets"] == frames, stats
    assert stats["capture"]["kernel_drops"] == 0, stats
    assert stats["flowscore"]["records_dropped"] == 0 and stats["flow"]["ended"]["shutdown"] == 436, stats
    assert stats["capture"]["ring_drops"] == 0, stats
    assert len(stats["flowscore"]["workers"]) == workers and all(w["packets"] > 0 for w in stats["flowscore"]["workers"]), stats
    assert any(w["records_waited"] > 0 for w in stats["flowscore"]["workers"]), stats  # the flush did wait for records

    offline = os.path.join(TMP, "replay-offline.json")
    run("run", "--model", "none", "--pcap", pcap, "--out", offline)

    def flows(recs):
        return sorted((r["community_id"], r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"), r["proto"],
                       r["flow"]["pkts_toserver"], r["flow"]["pkts_toclient"], r["flow"]["bytes_toserver"],
                       r["flow"]["bytes_toclient"], r["flow"]["state"])
                      for r in recs if r["event_type"] != "stats")
    assert flows(live) == flows(records(offline)), (flows(live), flows(records(offline)))


# ---- live: ports, queues, workers (issue 14 section 1) ---------------------------
# This machine has two CPUs; three lcores on them (--lcores) give the main
# lcore and two workers, as a sensor with more cores would have.
THREE_LCORES = "0@0,1@1,2@1"


def flow_totals(recs):
    """Packets and bytes per flow (Community ID), over all its flow records:
    what a live run must share with an offline one, whatever its timing."""
    totals = {}
    for r in recs:
        if r["event_type"] == "flow":
            t = totals.setdefault(r["community_id"], [0, 0])
            t[0] += r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"]
            t[1] += r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"]
    return totals


def stats_schema_errors(event):
    import jsonschema
    schema = json.load(open(os.path.join(SRC, "docs/schema/eve-stats.schema.json")))
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(event)][:3]


def live_run(name, vdevs, args, ready, timeout=90):
    """A live run of flowscore on `vdevs` with three lcores, stopped by
    SIGINT once ready(telemetry stats) is true. Returns (stderr, records)."""
    out = os.path.join(TMP, f"{name}.json")
    if os.path.exists(out):  # a live run appends: start from nothing
        os.remove(out)
    prefix = f"flowscore-{name}-{os.getpid()}"
    proc = subprocess.Popen(
        [FLOWSCORE, "run", "--lcores", THREE_LCORES, "--no-pci", "--no-huge", "-m", "512", "--log-level=error",
         f"--file-prefix={prefix}", *vdevs, "--", "--out", out, "--set", "output.stats_interval=1", *args],
        stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.time() + timeout
        while True:
            time.sleep(0.2)
            assert time.time() < deadline and proc.poll() is None, "".join(lines)
            try:
                live = telemetry(prefix, "/flowscore/stats")
            except (OSError, ValueError):
                continue
            if live and ready(live):
                break
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(lines)
    assert proc.returncode == 0, err
    return err, records(out)


def test_a_port_with_rss_gives_each_worker_its_own_queue():
    # net_null offers RSS as a NIC does (every hash type, a 128-entry
    # redirection table, many queues) and hands out zero-filled frames on
    # every queue it is polled on: not IP, counted, not flowed. Each of the
    # two workers polls its own queue; every packet a queue received is
    # accounted by a worker, and the stats event says so per queue.
    err, recs = live_run("rss", ["--vdev=net_null0,copy=1"], ["--model", "none"],
                         lambda live: live.get("packets", 0) > 100000)
    port_line = next(l for l in err.splitlines() if "port 0 (net_null0)" in l)
    assert "2 RX queues" in port_line and "symmetric key 0x6d5a" in port_line, port_line
    assert "NOT taken" not in port_line and "dealt" not in port_line, port_line
    stats = [r for r in recs if r["event_type"] == "stats"][-1]
    assert not stats_schema_errors(stats), stats_schema_errors(stats)
    last = stats["stats"]
    (port,) = last["capture"]["ports"]
    assert len(port["queues"]) == 2 and min(port["queues"]) > 0, port
    # Accounting: received = parsed by the workers (+ ring drops, none here).
    assert sum(port["queues"]) == port["packets"] == last["capture"]["kernel_packets"] == last["decoder"]["pkts"], last
    assert last["capture"]["ring_drops"] == 0 and last["capture"]["kernel_drops"] == 0, last
    workers = [w["packets"] for w in last["flowscore"]["workers"]]
    assert len(workers) == 2 and min(workers) > 0, workers
    assert last["decoder"]["not_flowed"]["not_ip"] == last["decoder"]["pkts"], last
    summary = next(l for l in err.splitlines() if l.startswith("flowscore: port 0:") and "received" in l)
    assert f"{port['packets']} packets received (queue 0: {port['queues'][0]}, 1: {port['queues'][1]})" in summary, summary


def test_a_port_without_rss_is_dealt_to_the_workers_in_software():
    # net_pcap has one queue and no RSS: the main lcore reads it and deals
    # each frame to a worker by its address pair (dpdk.distribute auto).
    # Every packet must be accounted, and the flows must be those an offline
    # run of the same capture finds, though two workers tracked them.
    pcap = os.path.join(TMP, "dealt.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "3000",
                    "--seed", "5", "--out", pcap, "--quiet"], check=True)
    frames, _ = tshark_frames(pcap)
    err, recs = live_run("dealt", [f"--vdev=net_pcap0,rx_pcap={pcap}"], ["--model", "none"],
                         lambda live: live.get("packets") == frames)
    assert "read on the main lcore and dealt to the workers" in err, err
    last = [r for r in recs if r["event_type"] == "stats"][-1]["stats"]
    assert last["capture"]["kernel_packets"] == frames == last["decoder"]["pkts"] + last["capture"]["ring_drops"], last
    assert last["capture"]["ring_drops"] == 0, last  # 3000 frames fit the rings
    workers = [w["packets"] for w in last["flowscore"]["workers"]]
    assert len(workers) == 2 and min(workers) > frames // 10, workers

    offline = os.path.join(TMP, "dealt-offline.json")
    run("run", "--model", "none", "--pcap", pcap, "--out", offline)

    live_flows, offline_flows = flow_totals(recs), flow_totals(records(offline))
    assert len(live_flows) > 100 and live_flows == offline_flows, (len(live_flows), len(offline_flows))
    # Issue 14 §2: the summary's one line of where every packet went, against
    # tshark (arrived), the ports' and rings' counters, and the records.
    line = re.search(r"accounting: (\d+) packets arrived at the ports = (\d+) dropped by the ports \+ (\d+) dropped at "
                     r"full worker rings \+ (\d+) parsed by the workers; of those parsed: (\d+) in flows \+ (\d+) not "
                     r"flowed \+ (\d+) with no room in the flow index", err)
    assert line, err
    arrived, port_drops, ring_drops, parsed, in_flows, not_flowed, no_room = map(int, line.groups())
    assert arrived == frames == port_drops + ring_drops + parsed, line[0]
    assert in_flows == sum(t[0] for t in live_flows.values()) and in_flows + not_flowed + no_room == parsed, line[0]


def test_jumbo_frames_live_are_parsed_whole_not_dropped():
    # 8,942-byte frames arrive as chains of 2 KiB mbufs (the pcap PMD chains
    # them; a NIC does with dpdk.mtu and scatter); the main lcore
    # linearises and deals them: every byte is counted, as tshark counts.
    import scapy.all as scapy
    pcap = os.path.join(TMP, "jumbo-live.pcap")
    frames = []
    for i in range(20):
        frames.append(scapy.Ether() / scapy.IP(src="10.0.0.1", dst="10.0.0.2") /
                      scapy.UDP(sport=1000 + i % 2, dport=2000) / scapy.Raw(b"x" * 8900))
        frames.append(scapy.Ether() / scapy.IP(src="10.0.0.2", dst="10.0.0.1") /
                      scapy.UDP(sport=2000, dport=1000 + i % 2) / scapy.Raw(b"y" * 8900))
    scapy.wrpcap(pcap, frames)
    count, captured = tshark_frames(pcap)
    err, recs = live_run("jumbo-live", [f"--vdev=net_pcap0,rx_pcap={pcap}"], ["--model", "none"],
                         lambda live: live.get("packets") == count)
    flows = [r for r in recs if r["event_type"] == "flow"]
    assert len(flows) == 2, flows
    assert sum(r["flow"]["bytes_toserver"] + r["flow"]["bytes_toclient"] for r in flows) == captured == 40 * 8942, flows
    assert sum(r["flow"]["pkts_toserver"] + r["flow"]["pkts_toclient"] for r in flows) == count, flows


def test_live_ports_that_cannot_work_as_configured_are_refused_by_name():
    def refused(vdev, *sets):
        p = subprocess.run([FLOWSCORE, "run", "--lcores", THREE_LCORES, "--no-pci", "--no-huge", "-m", "512",
                            "--log-level=error", f"--file-prefix=flowscore-refused-{os.getpid()}", vdev, "--", "--out",
                            os.devnull, "--model", "none",
                            *[a for kv in sets for a in ("--set", kv)]],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (p.returncode, p.stderr)
        return p.stderr
    err = refused(f"--vdev=net_pcap0,rx_pcap={PING}", "dpdk.distribute=nic")
    assert "net_pcap0" in err and "dpdk.distribute" in err and "no RSS" in err, err
    err = refused("--vdev=net_null0", "dpdk.queues=0:0-1,1:0")
    assert "dpdk.queues: there is no port 1" in err, err
    err = refused("--vdev=net_null0", "dpdk.mtu=9000")  # net_null cannot scatter a jumbo frame
    assert "dpdk.mtu 9000" in err and "no scatter" in err, err
    err = refused("--vdev=net_null0", "dpdk.mbufs=1023", "dpdk.rx_descriptors=4096")
    assert "dpdk.mbufs 1023 is too few" in err and "8192 RX descriptors" in err, err


def rss_split(pcap, queues, mode, prefix):
    """The capture split into the RX queues a symmetric-RSS NIC configured as
    flowscore configures one would fill (rss_split.cpp, DPDK's rte_softrss).
    Returns the queue files and their packet counts."""
    p = subprocess.run([os.path.join(BUILD, "tests/pipeline/rss_split"), pcap, str(queues), mode, prefix],
                       capture_output=True, text=True, check=True)
    return [f"{prefix}{q}.pcap" for q in range(queues)], [int(n) for n in p.stdout.split()]


def test_nic_rss_queues_give_the_records_of_one_worker():
    # Issue 14 section 4: split a capture into the K queues a NIC computes
    # with the configured key, give each queue's packets to its own worker,
    # and require the records of one worker reading the whole capture. The
    # workers each read one queue file (offline, so capture times and
    # features are exact; each file runs on its own clock, so a flow may end
    # on `shutdown` where the whole capture ended it on `timeout`, and
    # in_iface names the file: both are left out of the comparison).
    # With dpdk.rss_hash ip (the default) every feature is the same, pair_flows
    # included; with ip_port an address pair's flows spread over workers, and
    # pair_flows is the only feature that changes (FEATURES.md section 7a).
    pcap = os.path.join(TMP, "nic-rss.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "30000",
                    "--seed", "11", "--out", pcap, "--quiet"], check=True, timeout=120)

    def flows(out, *args):
        run("run", "--model", "none", "--out", out, "--set", "output.include_features=true", *args)
        by_flow = {}
        for r in map(without_policy, records(out)):  # campaigns follow the order the writer met records in
            r.pop("in_iface")
            r["flow"].pop("reason")
            by_flow.setdefault(r["flow_id"], []).append(json.dumps(r, sort_keys=True))
        return by_flow

    reference = flows(os.path.join(TMP, "nic-rss-one.json"), "--pcap", pcap)
    assert len(reference) > 3000
    for mode in ("ip", "ip_port"):
        for k in (2, 4):
            files, counts = rss_split(pcap, k, mode, os.path.join(TMP, f"nic-rss-{mode}-{k}-q"))
            assert min(counts) > 1000, counts  # every queue, so every worker, has work
            out = os.path.join(TMP, f"nic-rss-{mode}-{k}.json")
            split = flows(out, *[a for f in files for a in ("--pcap", f)], "--workers", str(k),
                          "--set", "dpdk.read_on=worker")
            assert split.keys() == reference.keys(), (mode, k, len(split), len(reference))
            differing = set()
            for fid, recs in reference.items():
                if sorted(split[fid]) == sorted(recs):
                    continue
                mine, theirs = [json.loads(x) for x in sorted(split[fid])], [json.loads(x) for x in sorted(recs)]
                for a, b in zip(mine, theirs):
                    differing |= {k2 for k2 in a["flowscore"]["features"]
                                  if a["flowscore"]["features"][k2] != b["flowscore"]["features"][k2]}
                    a["flowscore"]["features"].pop("pair_flows"), b["flowscore"]["features"].pop("pair_flows")
                    assert a == b, (mode, k, a, b)
            if mode == "ip":
                assert not differing, (k, differing)
            else:
                assert differing == {"pair_flows"}, (k, differing)


def test_a_port_whose_queues_are_filled_for_it_gives_each_worker_its_queue():
    # A port with several queues and no RSS of its own (net_pcap with one
    # file per queue here; memif behind a packet broker in the field):
    # dpdk.queues maps queue q to worker q, and each worker reads exactly its
    # queue. The queues hold what a symmetric-RSS NIC would have put there.
    pcap = os.path.join(TMP, "queues.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "3000",
                    "--seed", "7", "--out", pcap, "--quiet"], check=True)
    files, counts = rss_split(pcap, 2, "ip", os.path.join(TMP, "queues-q"))
    vdev = "--vdev=net_pcap0," + ",".join(f"rx_pcap={f}" for f in files)
    err, recs = live_run("queues", [vdev], ["--model", "none", "--set", "dpdk.queues=0:0-1"],
                         lambda live: live.get("packets") == sum(counts))
    assert "its 2 queues are read as they are filled" in err, err
    last = [r for r in recs if r["event_type"] == "stats"][-1]["stats"]
    assert [w["packets"] for w in last["flowscore"]["workers"]] == counts, (last["flowscore"]["workers"], counts)
    assert last["capture"]["ports"][0]["queues"] == counts, last["capture"]
    offline = os.path.join(TMP, "queues-offline.json")
    run("run", "--model", "none", "--pcap", pcap, "--out", offline)

    assert flow_totals(recs) == flow_totals(records(offline))


def test_a_worker_makes_no_syscall_and_no_allocation_while_it_runs():
    # Issue 14: a worker never calls the kernel, allocates or locks on the
    # packet path. Checked on a live run that does the whole of a worker's
    # job (two workers take dealt frames, track flows, expire them by the
    # timer wheel after a second, score them with the shipped model, flush
    # at SIGINT) under strace, with a preloaded allocation counter
    # (alloc_counter.cpp). A DPDK lcore thread runs each launched function
    # after it acknowledges the launch (a write on its pipe) and before it
    # waits for the next (a read): nothing in between may reach the kernel. The counter must see the
    # threads that do allocate (the writer; /metrics' server thread once
    # scraped), and never a worker.
    hook = os.path.join(BUILD, "tests/pipeline/alloc_counter.so")
    if not os.path.exists(hook):
        print("  skipped: no alloc_counter.so (a sanitizer build)")
        return
    pcap = os.path.join(TMP, "quiet-workers.pcap")
    subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", "3000",
                    "--seed", "6", "--out", pcap, "--quiet"], check=True)
    frames, _ = tshark_frames(pcap)
    trace, allocs = os.path.join(TMP, "workers.strace"), os.path.join(TMP, "workers.allocs")
    prefix = f"flowscore-quiet-{os.getpid()}"
    metrics_port = free_port()
    proc = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", trace, "-E", f"LD_PRELOAD={hook}", "-E", f"FLOWSCORE_ALLOC_REPORT={allocs}",
         FLOWSCORE, "run", "--lcores", THREE_LCORES, "--no-pci", "--no-huge", "-m", "512", "--log-level=error",
         f"--file-prefix={prefix}", f"--vdev=net_pcap0,rx_pcap={pcap}", "--", "--out", os.path.join(TMP, "quiet.json"),
         "--idle-timeout", "1", "--set", f"output.metrics_listen=127.0.0.1:{metrics_port}"],
        stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    pid = None
    try:
        deadline = time.time() + 120
        while True:  # every packet in, and every flow ended by its idle timeout (on the workers)
            time.sleep(0.3)
            assert time.time() < deadline and proc.poll() is None, "".join(lines)
            try:
                live = telemetry(prefix, "/flowscore/stats") or {}
            except (OSError, ValueError):
                continue
            if live.get("packets") == frames and live.get("flows_created", 0) > 0 and live.get("flows_active", 1) == 0:
                break
        pid = int(open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()[0])  # flowscore, under strace

        def thread_name(tid):
            try:
                return open(f"/proc/{pid}/task/{tid}/comm").read()
            except FileNotFoundError:  # a thread that ended since the listing (not a worker: they run on)
                return ""
        workers = {int(t) for t in os.listdir(f"/proc/{pid}/task") if thread_name(t).startswith("rte-worker")}
        import urllib.request
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).read()
        os.kill(pid, signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            if pid is not None:  # flowscore itself, or it outlives its tracer
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.kill()
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert len(workers) == 2, workers
    per_worker = re.search(r"packets per worker: 0: (\d+), 1: (\d+)", err)
    assert per_worker and min(int(per_worker[1]), int(per_worker[2])) > 0, err
    scored = re.search(r"(\d+) flows scored", err)
    assert scored and int(scored[1]) > 100, err

    calls = {w: [] for w in workers}  # syscall names per worker thread, in order
    for line in open(trace):
        m = re.match(r"(\d+)\s+(\w+)\(", line)  # strace pads the id to 5 columns: "3321  read("
        if m and int(m[1]) in calls:
            calls[int(m[1])].append(m[2])
    for tid, names in calls.items():
        # DPDK 22.11's lcore loop: read a launch from its pipe, write the
        # acknowledgement, run the function, then block in the next read.
        bodies, state = [], "idle"
        for name in names:
            if state == "idle" and name == "read":
                state = "launched"
            elif state == "launched" and name == "write":
                state = "running"
                bodies.append([])
            elif state == "running" and name == "read":
                state = "launched"
            elif state == "running":
                bodies[-1].append(name)
        # EAL's own start-up sync, then the worker's run.
        assert len(bodies) >= 2 and not any(bodies), (tid, bodies, names)

    counted = {int(t): int(n) for t, n in (l.split() for l in open(allocs))}
    assert counted.get(pid, 0) > 0, counted  # the writer (main lcore) allocates: the counter works
    assert any(n > 0 for t, n in counted.items() if t != pid and t not in workers), counted  # /metrics' thread
    assert not workers & counted.keys(), {t: counted[t] for t in workers & counted.keys()}


def main():
    run_tests(globals())

if __name__ == "__main__":
    main()
