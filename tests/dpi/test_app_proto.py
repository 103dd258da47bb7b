"""flow.app_proto (issue 15): each flow's application protocol from nDPI, on
real captures (../shared/data/pcaps, group A: benign protocol captures),
against tshark as an independent reference:

- every flow whose first flow.app_proto_packets packets tshark dissects as
  DNS, HTTP, a TLS ClientHello, SSH, SMTP or FTP comes out with that
  app_proto (Suricata's names); nothing is guessed from ports, so the capture
  with SSH and TLS on one port (sslh) tells them apart by content;
- the ECS view carries the same name as network.protocol, and every line
  still validates against Suricata's EVE schema and flowscore's own;
- off (the default), no record has app_proto or network.protocol;
- a pool of one detection slot is exhausted by 20 overlapping flows, and
  the 19 without one are counted in the summary, not given memory.

Skipped (exit 0, saying so) when flowscore was built without nDPI or the
shared captures are absent.

usage: /usr/bin/python3 test_app_proto.py SOURCE_DIR BUILD_DIR
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from script_tests import run_tests  # noqa: E402

FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
PCAPS = os.path.join(SRC, "..", "shared", "data", "pcaps", "A")
TMP = tempfile.mkdtemp(prefix="flowscore-app-proto-")
PACKETS = 10  # flow.app_proto_packets' default: what nDPI sees of each flow

# Small captures where each protocol is plain, several flows each.
CAPTURES = [
    "zeek/http/methods.pcap",                   # HTTP, many methods, some malformed
    "zeek/http/vnd.ms-cab-compressed-multi-conn.pcap",
    "nDPI/googledns_android10.pcap",            # DNS over TLS
    "nDPI/dns_ambiguous_names.pcap",            # DNS over UDP
    "nDPI/dns-google-nsid.pcapng",
    "nDPI/ssh.pcap",
    "zeek/ssl-and-ssh-using-sslh.pcap",         # SSH and TLS on the same port
    "zeek/tls/tls-conn-with-extensions.pcap",
    "nDPI/smtp.pcap",
    "zeek/ftp/ipv4.pcap",
]

# tshark's layer name -> the app_proto a flow with it must have. TLS only
# with a ClientHello seen (tls.handshake.type 1), HTTP only with a request:
# a mid-session capture is not plain to either side.
# The request methods nDPI 4.2's HTTP dissector starts from (its list has
# no TRACE: a TRACE-only flow is "failed", a documented difference).
HTTP_METHODS = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "PROPFIND", "REPORT"}
EXPECTED = {"dns": "dns", "http": "http", "ssh": "ssh", "smtp": "smtp", "ftp": "ftp"}


def available():
    if not os.path.isdir(PCAPS):
        return "no ../shared/data/pcaps"
    p = subprocess.run([FLOWSCORE, "run", "--pcap", os.path.join(PCAPS, CAPTURES[0]), "--model", "none", "-q",
                        "--out", os.devnull, "--set", "flow.app_proto=true"], capture_output=True, text=True)
    if "built without nDPI" in p.stderr:
        return "flowscore built without nDPI"
    assert p.returncode == 0, p.stderr
    return None


def run(pcaps, *sets, fmt="eve"):
    out = os.path.join(TMP, "run.json")
    args = [FLOWSCORE, "run", "--model", "none", "--out", out, "--format", fmt]
    for p in pcaps:
        args += ["--pcap", p if os.path.isabs(p) else os.path.join(PCAPS, p)]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in open(out)], p.stderr


def flow_key(proto, a, ap, b, bp):
    return (proto, *sorted([(a, int(ap or 0)), (b, int(bp or 0))]))


def tshark_reference(pcap):
    """5-tuple -> the app_proto tshark's dissection of the flow's first
    PACKETS packets implies (None: nothing plain)."""
    fields = ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
              "udp.dstport", "frame.protocols", "tls.handshake.type", "http.request.method", "http.request.version",
              "ip.flags.mf",
              "ip.frag_offset"]
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    seen = collections.Counter()
    layers = collections.defaultdict(set)
    for line in subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout.splitlines():
        v = dict(zip(fields, line.split("\t")))
        src, dst = v["ip.src"] or v["ipv6.src"], v["ip.dst"] or v["ipv6.dst"]
        if not src or v.get("ip.flags.mf") in ("1", "True") or v.get("ip.frag_offset", "0") not in ("", "0"):
            continue
        tcp = bool(v["tcp.srcport"])
        if not tcp and not v["udp.srcport"]:
            continue
        key = flow_key("TCP" if tcp else "UDP", src, v["tcp.srcport" if tcp else "udp.srcport"], dst,
                       v["tcp.dstport" if tcp else "udp.dstport"])
        seen[key] += 1
        if seen[key] > PACKETS:
            continue
        names = set(v["frame.protocols"].split(":"))
        # HTTP: a well-formed request line seen. tshark also dissects
        # "OPTIONS\nHost: ..." or "CCM_POST / HTTP/1." (zeek's methods.pcap
        # has them) as requests; nDPI wants a known method and a version
        # (documented in docs/OUTPUT.md), and those flows are "failed".
        layers[key] |= names & (set(EXPECTED) - {"http"})
        if "http" in names and v["http.request.method"] in HTTP_METHODS and \
                v["http.request.version"] in ("HTTP/1.0", "HTTP/1.1"):
            layers[key].add("http")
        if "tls" in names and v["tls.handshake.type"].split(",")[0] == "1":
            layers[key].add("tls-client-hello")
    ref = {}
    for key, names in layers.items():
        wanted = {EXPECTED[n] for n in names if n in EXPECTED} | ({"tls"} if "tls-client-hello" in names else set())
        # One plain answer or none: SMTP, FTP and HTTP commands inside another
        # layer (tunnels, STARTTLS) are not counted.
        if len(wanted) == 1:
            ref[key] = wanted.pop()
    return ref


def records_by_key(records):
    """5-tuple -> app_proto of the tuple's first record (a tuple can be
    several flows in time; tshark's first packets belong to the first)."""
    first = {}
    for r in records:
        if r.get("event_type") != "flow" or r["proto"] not in ("TCP", "UDP"):
            continue
        key = flow_key(r["proto"], r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"))
        if key not in first or r["flow"]["start"] < first[key]["flow"]["start"]:
            first[key] = r
    return {k: r.get("app_proto") for k, r in first.items()}


def test_app_proto_matches_tshark_on_real_captures():
    checked = collections.Counter()
    wrong = []
    for pcap in CAPTURES:
        records, _ = run([pcap], "flow.app_proto=true")
        got = records_by_key(records)
        ref = tshark_reference(os.path.join(PCAPS, pcap))
        assert ref, f"{pcap}: tshark found no plain flow: the capture list is stale"
        for key, want in ref.items():
            assert key in got, f"{pcap}: no record for {key}"
            checked[want] += 1
            if got[key] != want:
                wrong.append(f"{pcap} {key}: app_proto {got[key]!r}, tshark {want!r}")
    assert not wrong, "\n".join(wrong)
    # Every protocol of the list was checked, on more than a token number of flows.
    assert set(checked) == {"dns", "http", "tls", "ssh", "smtp", "ftp"}, checked
    assert sum(checked.values()) >= 35, checked


def test_ecs_view_and_schemas_carry_app_proto():
    import jsonschema
    load = lambda p: jsonschema.Draft202012Validator(json.load(open(p)))
    ours = load(os.path.join(SRC, "docs/schema/eve-flow.schema.json"))
    ecs = load(os.path.join(SRC, "docs/schema/ecs-event.schema.json"))
    suricata_path = os.path.join(SRC, "..", "shared", "data", "suricata-eve", "schema.json")
    suricata = load(suricata_path) if os.path.exists(suricata_path) else None
    ecs_members = ("@timestamp", "ecs", "event", "observer", "source", "destination", "network", "rule")
    records, _ = run(CAPTURES, "flow.app_proto=true", fmt="eve+ecs")
    named = 0
    for r in records:
        eve = {k: v for k, v in r.items() if k not in ecs_members}
        errors = [e.message for e in ours.iter_errors(eve)]
        if suricata:
            errors += [e.message for e in suricata.iter_errors({k: v for k, v in eve.items() if k != "flowscore"})]
        assert not errors, (errors[:3], r)
        assert r["network"].get("protocol") == r.get("app_proto"), r
        named += "app_proto" in r
    assert named > len(records) // 2, (named, len(records))
    # The ECS-only view validates against flowscore's ECS schema.
    ecs_records, _ = run(CAPTURES, "flow.app_proto=true", fmt="ecs")
    for r in ecs_records:
        errors = [e.message for e in ecs.iter_errors(r)]
        assert not errors, (errors[:3], r)
    assert {r["network"].get("protocol") for r in ecs_records} >= {"dns", "http", "tls", "ssh", "smtp", "ftp"}


def test_off_by_default_adds_nothing():
    records, stderr = run(CAPTURES[:4], fmt="eve+ecs")
    assert records
    assert not any("app_proto" in r or "protocol" in r.get("network", {}) for r in records)
    assert "app_proto" not in stderr


def interleaved_flows(path, flows=20, packets=PACKETS):
    """`flows` UDP flows of `packets` packets each, sent round-robin, every
    payload text no protocol begins with: each flow holds a detection slot
    for all its packets, and all of them overlap."""
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for k in range(packets):
            for i in range(flows):
                payload = f"flowscore pool test {i} {k} ".encode() * 3
                udp = struct.pack("!HHHH", 40000 + i, 50000, 8 + len(payload), 0) + payload
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                                 bytes([10, 0, 0, 1]), bytes([10, 0, 1, 1])) + udp
                f.write(struct.pack("<IIII", 1_700_000_000, (k * flows + i) * 1000, len(ip), len(ip)) + ip)


def app_proto_summary(stderr):
    line = next(l for l in stderr.splitlines() if "app_proto:" in l)
    m = re.search(r"app_proto: (\d+) flows inspected \((\d+) packets\): (\d+) named, (\d+) failed; "
                  r"(\d+) flows found no detection slot", line)
    assert m, line
    return [int(x) for x in m.groups()]


def test_an_exhausted_pool_is_counted_not_grown():
    pcap = os.path.join(TMP, "interleaved.pcap")
    interleaved_flows(pcap)
    # Pool enough: every flow is shown its 10 packets and fails (no protocol).
    records, stderr = run([pcap], "flow.app_proto=true")
    assert app_proto_summary(stderr) == [20, 200, 0, 20, 0], stderr
    assert [r.get("app_proto") for r in records] == ["failed"] * 20
    # One slot: the first flow takes it for its 10 packets; the 19 others
    # start meanwhile, find none, are counted and carry no app_proto.
    records, stderr = run([pcap], "flow.app_proto=true", "flow.app_proto_flows=1")
    assert app_proto_summary(stderr) == [1, 10, 0, 1, 19], stderr
    assert sorted(str(r.get("app_proto")) for r in records) == ["None"] * 19 + ["failed"]

if __name__ == "__main__":
    why = available()
    if why:
        print(f"app_proto tests skipped: {why}")
        print("0 passed, 0 failed")
        sys.exit(0)
    run_tests(globals())
