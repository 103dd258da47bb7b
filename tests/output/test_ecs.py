"""output.format "ecs" and "eve+ecs" (issue 15 §2), end to end, on captures
with flows, alerts and campaigns, and on a live run's stats events:

- every ECS member of every line is an ECS 8.17 field of its ECS type
  (tests/common/ecs_check.py, against Elastic's own field definitions), and
  flow and alert events match docs/schema/ecs-event.schema.json;
- eve+ecs is the EVE line unchanged plus the ECS members: taking them out
  gives back exactly the line an "eve" run writes, which still validates
  against Suricata's EVE schema (../shared, when present);
- the ECS view says what the EVE line says: addresses, ports, packets and
  bytes per side, the Community ID, times (with "Z"), rule id and revision,
  severity, risk score, the sensor and input;
- an alerts-only output and syslog-style routing see the same alerts in
  either view.

usage: /usr/bin/python3 test_ecs.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from ecs_check import EcsFields  # noqa: E402
from script_tests import run_tests  # noqa: E402

FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
TMP = tempfile.mkdtemp(prefix="flowscore-ecs-")
ECS = EcsFields(SRC)
ECS_MEMBERS = ("@timestamp", "ecs", "event", "observer", "source", "destination", "network", "rule")
SENSOR = "tap \"east\"-1"


def validators():
    import jsonschema
    load = lambda name: json.load(open(os.path.join(SRC, "docs", "schema", name)))
    suricata_path = os.path.join(SRC, "..", "shared", "data", "suricata-eve", "schema.json")
    suricata = jsonschema.Draft202012Validator(json.load(open(suricata_path))) if os.path.exists(suricata_path) else None
    return {"ecs": jsonschema.Draft202012Validator(load("ecs-event.schema.json")),
            "flow": jsonschema.Draft202012Validator(load("eve-flow.schema.json")),
            "campaign": jsonschema.Draft202012Validator(load("eve-campaign.schema.json")),
            "stats": jsonschema.Draft202012Validator(load("eve-stats.schema.json")),
            "suricata": suricata}


SCHEMAS = validators()


def captures():
    """A generated mix of benign traffic and attacks, and two of the alert
    policy's crafted captures that open campaigns (a scan, a spoofed flood)."""
    crafted = os.path.join(TMP, "crafted")
    if not os.path.isdir(crafted):
        subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests/policy/make_policy_captures.py"), crafted],
                       check=True, capture_output=True, timeout=300)
        subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "train", "--seed", "7",
                        "--packets", "30000", "--out", os.path.join(TMP, "mix.pcap"), "--quiet"], check=True)
    return [os.path.join(TMP, "mix.pcap"), os.path.join(crafted, "scan_200_ports.pcap"),
            os.path.join(crafted, "spoofed_syn_500.pcap")]


def run_offline(fmt, extra=()):
    out = os.path.join(TMP, f"run-{fmt}.json")
    args = [FLOWSCORE, "run", "--out", out, "-q", "--format", fmt,
            "--set", f"output.sensor_name={SENSOR}", *extra]
    for p in captures():
        args += ["--pcap", p]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in open(out)]


def ecs_part(line):
    return {k: v for k, v in line.items() if k in ECS_MEMBERS}


def eve_time_as_ecs(t):
    assert t.endswith("+0000"), t
    return t[:-5] + "Z"


def event_kind(line):
    """What kind of EVE event a line is: flow, alert (a flow's), campaign, stats."""
    if "stats" in line or line.get("event", {}).get("dataset") == "flowscore.stats":
        return "stats"
    if "campaign" in line.get("flowscore", {}):
        return "campaign"
    return line.get("event_type") or line["event"]["dataset"].split(".")[1]


def same_facts(eve, ecs, kind):
    """What the ECS members say, each against the EVE line's own field."""
    bad = []

    def same(what, got, want):
        if got != want:
            bad.append(f"{what}: ECS {got!r}, EVE {want!r}")

    same("@timestamp", ecs["@timestamp"], eve_time_as_ecs(eve["timestamp"]))
    same("observer.name", ecs["observer"].get("name"), eve.get("host"))
    same("observer.ingress.interface.name", ecs["observer"].get("ingress", {}).get("interface", {}).get("name"),
         eve.get("in_iface"))
    same("event.kind", ecs["event"]["kind"], {"stats": "metric"}.get(kind, "alert" if eve.get("event_type") == "alert" else "event"))
    same("source.ip", ecs.get("source", {}).get("ip"), eve.get("src_ip"))
    same("source.port", ecs.get("source", {}).get("port"), eve.get("src_port"))
    same("destination.ip", ecs.get("destination", {}).get("ip"), eve.get("dest_ip"))
    same("destination.port", ecs.get("destination", {}).get("port"), eve.get("dest_port"))
    transport = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "IPv6-ICMP": "ipv6-icmp", "SCTP": "sctp"}
    same("network.transport", ecs.get("network", {}).get("transport"), transport.get(eve.get("proto")))
    if "alert" in eve:
        a = eve["alert"]
        same("rule", ecs["rule"], {"id": str(a["signature_id"]), "version": str(a["rev"]), "name": a["signature"],
                                   "category": a["category"], "ruleset": "flowscore"})
        same("event.severity", ecs["event"]["severity"], a["severity"])
    else:
        same("rule", ecs.get("rule"), None)
    if kind in ("flow", "alert"):
        same("event.id", ecs["event"]["id"], eve["flowscore"]["record_id"])
        f = eve["flow"]
        same("source.packets", ecs["source"]["packets"], f["pkts_toserver"])
        same("source.bytes", ecs["source"]["bytes"], f["bytes_toserver"])
        same("destination.packets", ecs["destination"]["packets"], f["pkts_toclient"])
        same("destination.bytes", ecs["destination"]["bytes"], f["bytes_toclient"])
        same("network.packets", ecs["network"]["packets"], f["pkts_toserver"] + f["pkts_toclient"])
        same("network.bytes", ecs["network"]["bytes"], f["bytes_toserver"] + f["bytes_toclient"])
        same("network.community_id", ecs["network"].get("community_id"), eve.get("community_id"))
        same("event.start", ecs["event"]["start"], eve_time_as_ecs(f["start"]))
        same("event.end", ecs["event"]["end"], eve_time_as_ecs(f["end"]))
        if kind == "alert":
            risk, score = ecs["event"]["risk_score"], eve["flowscore"]["score"]
            if abs(risk - score * 100) > 1e-4 * max(1.0, risk):
                bad.append(f"event.risk_score {risk} for score {score}")
    if kind == "campaign":
        c = eve["flowscore"]["campaign"]
        same("event.start", ecs["event"]["start"], eve_time_as_ecs(c["first_seen"]))
        same("event.end", ecs["event"]["end"], eve_time_as_ecs(c["last_seen"]))
    return bad


def eve_problems(eve, kind):
    schema = SCHEMAS["flow" if kind in ("flow", "alert") else kind]
    out = [f"EVE {kind} schema: {e.message[:160]}" for e in schema.iter_errors(eve)]
    if SCHEMAS["suricata"] is not None:
        shared = {k: v for k, v in eve.items() if k != "flowscore"}
        out += [f"Suricata's EVE schema: {e.message[:160]}" for e in SCHEMAS["suricata"].iter_errors(shared)]
    return out


def ecs_problems(ecs_line, kind):
    out = ECS.problems(ecs_line)
    if kind in ("flow", "alert"):
        out += [f"ecs-event schema: {e.message[:160]}" for e in SCHEMAS["ecs"].iter_errors(ecs_line)]
    return out


def check_views(eve_lines, both_lines, ecs_lines):
    """Line by line, the three views of one run."""
    assert len(eve_lines) == len(both_lines) == len(ecs_lines), (len(eve_lines), len(both_lines), len(ecs_lines))
    kinds = {}
    for n, (eve, both, ecs) in enumerate(zip(eve_lines, both_lines, ecs_lines), 1):
        kind = event_kind(eve)
        kinds[kind] = kinds.get(kind, 0) + 1
        problems = []
        # eve+ecs: the EVE line, unchanged, plus the ECS members.
        if {k: v for k, v in both.items() if k not in ECS_MEMBERS} != eve:
            problems.append("eve+ecs without its ECS members is not the eve line")
        problems += eve_problems({k: v for k, v in both.items() if k not in ECS_MEMBERS}, kind)
        # ecs: the same ECS members, and flowscore's own object.
        if ecs_part(ecs) != ecs_part(both):
            problems.append(f"ecs and eve+ecs differ in ECS members: {ecs_part(ecs)} vs {ecs_part(both)}")
        own = dict(eve.get("flowscore", {}))
        if kind in ("flow", "alert"):
            own["flow_id"] = eve["flow_id"]
            own["flow"] = {k: eve["flow"][k] for k in ("state", "reason", "alerted")}
        if kind == "stats":
            own["stats"] = eve["stats"]
        if ecs.get("flowscore") != own:
            problems.append(f"ecs flowscore object {ecs.get('flowscore')} is not EVE's {own}")
        if set(ecs) - set(ECS_MEMBERS) - {"flowscore"}:
            problems.append(f"ecs line has non-ECS members {set(ecs) - set(ECS_MEMBERS) - {'flowscore'}}")
        problems += ecs_problems(ecs, kind)
        problems += same_facts(eve, ecs_part(both), kind)
        assert not problems, f"line {n} ({kind}): {problems[:4]}\n{json.dumps(ecs)[:1500]}"
    return kinds


def test_the_three_views_of_an_offline_run_say_the_same():
    eve, both, ecs = run_offline("eve"), run_offline("eve+ecs"), run_offline("ecs")
    kinds = check_views(eve, both, ecs)
    # Each flow or alert event has an id of its own (what a consumer drops repeats by).
    ids = [l["flowscore"]["record_id"] for l in eve if event_kind(l) in ("flow", "alert")]
    assert len(set(ids)) == len(ids), len(ids) - len(set(ids))
    # The captures exercise each kind of line an offline run writes.
    assert kinds.get("flow", 0) > 500 and kinds.get("alert", 0) > 50 and kinds.get("campaign", 0) >= 2, kinds


def test_an_alerts_only_output_gets_the_same_alerts_in_every_view():
    for fmt in ("eve", "ecs"):
        alerts = os.path.join(TMP, f"alerts-{fmt}.json")
        lines = run_offline(fmt, ["--set", f'output.also=[{{"target":"{alerts}","events":"alerts"}}]'])
        want = [l for l in lines if event_kind(l) in ("alert", "campaign")]
        got = [json.loads(l) for l in open(alerts)]
        assert want and got == want, (fmt, len(got), len(want))


def fnv1a64(text):
    h = 14695981039346656037
    for byte in text.encode():
        h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h


def test_an_alerts_output_with_a_benign_sample_gets_that_share_of_the_benign_flows():
    # Issue 15 §1: "alerts plus a sampled share of benign flows, the sample
    # rate recorded in the record". The share is chosen by FNV-1a 64 of the
    # Community ID (below rate * 2^64), recomputed here: the output must be
    # exactly the alert events and the chosen flows' events, in order, each
    # chosen one marked flowscore.sample_rate and otherwise unchanged.
    rate = 0.25
    for fmt in ("eve", "ecs"):
        sampled = os.path.join(TMP, f"sampled-{fmt}.json")
        lines = run_offline(fmt, ["--set", f'output.also=[{{"target":"{sampled}","events":"alerts","benign_sample":{rate}}}]'])
        want, benign_flows, chosen = [], 0, 0
        for l in lines:
            kind = event_kind(l)
            if kind in ("alert", "campaign"):
                want.append(l)
                continue
            alerted = l["flow"]["alerted"] if fmt == "eve" else l["flowscore"]["flow"]["alerted"]
            cid = l.get("community_id") if fmt == "eve" else l["network"].get("community_id")
            if kind != "flow" or alerted:
                continue
            benign_flows += 1
            if cid and fnv1a64(cid) < rate * 2 ** 64:
                chosen += 1
                marked = json.loads(json.dumps(l))
                marked.setdefault("flowscore", {})["sample_rate"] = rate
                want.append(marked)
        got = [json.loads(l) for l in open(sampled)]
        assert got == want, (fmt, len(got), len(want))
        assert 0.15 * benign_flows < chosen < 0.35 * benign_flows, (chosen, benign_flows)  # FNV spreads them
        for l in got:
            if "sample_rate" in l.get("flowscore", {}):
                problems = eve_problems(l, "flow") if fmt == "eve" else ecs_problems(l, "flow")
                assert not problems, problems


def live_stats_lines(fmt):
    """A live run over a capture in `fmt` with a stats event each second,
    stopped once one was written; its lines."""
    pcap = captures()[0]
    out = os.path.join(TMP, f"live-{fmt}.json")
    if os.path.exists(out):
        os.unlink(out)
    prefix = f"flowscore-ecs-{os.getpid()}-{fmt.replace('+', '')}"
    proc = subprocess.Popen(
        [FLOWSCORE, "run", "-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--log-level=error",
         f"--file-prefix={prefix}", f"--vdev=net_pcap0,rx_pcap={pcap}", "--", "--out", out, "--model", "none",
         "--set", "output.stats_interval=1", "--set", f"output.format={fmt}", "--set", f"output.sensor_name={SENSOR}"],
        stderr=subprocess.PIPE, text=True)
    err = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 60
        while not (os.path.exists(out) and any(event_kind(json.loads(l)) == "stats" for l in open(out))):
            assert time.time() < deadline and proc.poll() is None, "".join(err)
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 0, "".join(err)
    return [json.loads(l) for l in open(out)]


def test_a_live_stats_event_in_the_ecs_view():
    for fmt in ("ecs", "eve+ecs"):
        stats = [l for l in live_stats_lines(fmt) if event_kind(l) == "stats"]
        assert len(stats) >= 2, stats  # one a second, and one at shutdown
        for line in stats:
            problems = ECS.problems(ecs_part(line))
            ev = line["event"]
            if (ev["kind"], ev["dataset"], ev["module"]) != ("metric", "flowscore.stats", "flowscore"):
                problems.append(f"event {ev}")
            if line["observer"].get("name") != SENSOR:
                problems.append(f"observer {line['observer']}")
            counters = line["flowscore"]["stats"] if fmt == "ecs" else line["stats"]
            if "capture" not in counters or "flowscore" not in counters:
                problems.append(f"stats counters missing: {sorted(counters)}")
            if fmt == "eve+ecs":
                eve = {k: v for k, v in line.items() if k not in ECS_MEMBERS}
                problems += [f"EVE stats schema: {e.message[:160]}" for e in SCHEMAS["stats"].iter_errors(eve)]
                if line["@timestamp"] != eve_time_as_ecs(line["timestamp"]):
                    problems.append("@timestamp is not the EVE timestamp")
            assert not problems, (fmt, problems, line)


if __name__ == "__main__":
    run_tests(globals())
