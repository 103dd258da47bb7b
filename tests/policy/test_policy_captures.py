"""The alert policy on crafted captures (issue 13, section 4), end to end.

usage: /usr/bin/python3 test_policy_captures.py SOURCE_DIR BUILD_DIR [--keep DIR] [--config FILE]
                                                [--set KEY=VALUE ...]

Generates the captures of make_policy_captures.py into a temporary directory
(or --keep DIR), runs `flowscore run --pcap X --out Y -q` on each with the
default configuration (extra --set options are passed on, e.g. to try a
threshold), and checks the output against the generator's ground truth,
never against flowscore's own reading of the capture:

- the capture holds every ground-truth flow with its packet count (read here
  with dpkt, so a generator bug is not blamed on flowscore);
- every flow record of the item (the lone flow, or each attack flow) is in
  the output exactly once, matched by its 5-tuple in either direction, and
  its packets add up to the ground truth;
- the output keeps the contract: a per-flow line has a `flow` object and no
  `flowscore.campaign`; a campaign line (`flowscore.campaign`) is an alert
  with no `flow` and no `flow_id`; every line validates against its JSON
  Schema (docs/schema/eve-flow, eve-campaign) and, with `flowscore`
  removed, against Suricata's own EVE schema (python3-jsonschema);
- lone captures: the lone flow has `flow.alerted` false and no campaign
  event names either of its hosts (target, source, top_sources, top_targets);
- attack captures: a campaign event of the expected class names the
  attacker as source or the victim as target, or at least half of the
  attack flows have `flow.alerted` true.

Prints one table row per capture and exits non-zero if any check fails.
"""
import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile

import dpkt

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("build")
ap.add_argument("--keep", help="write the captures and outputs here and keep them")
ap.add_argument("--config", help="passed on to flowscore run (default: its own default config)")
ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed on to flowscore run")
ARGS = ap.parse_args()
FLOWSCORE = os.path.join(ARGS.build, "src/cli/flowscore")
GENERATOR = os.path.join(ARGS.src, "tests/policy/make_policy_captures.py")
PROTO = {6: "TCP", 17: "UDP"}


def key(proto, a, ap_, b, bp):
    return (proto, frozenset([(a, ap_), (b, bp)]))


def conversations(path):
    """Packets per bidirectional 5-tuple, read from the capture with dpkt."""
    count = collections.Counter()
    with open(path, "rb") as f:
        for _, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP) or ip.p not in PROTO:
                continue
            l4 = ip.data
            count[key(PROTO[ip.p], socket.inet_ntoa(ip.src), l4.sport, socket.inet_ntoa(ip.dst), l4.dport)] += 1
    return count


def validators():
    """Every line against its own schema (docs/schema), and against Suricata's
    EVE schema (../shared/data/suricata-eve, when present) with flowscore's
    own member removed, as that schema's README says."""
    import jsonschema
    load = lambda *p: json.load(open(os.path.join(*p)))
    ours = {kind: jsonschema.Draft202012Validator(load(ARGS.src, "docs/schema", f"eve-{kind}.schema.json"))
            for kind in ("flow", "campaign")}
    suricata_path = os.path.join(ARGS.src, "..", "shared", "data", "suricata-eve", "schema.json")
    suricata = jsonschema.Draft202012Validator(load(suricata_path)) if os.path.exists(suricata_path) else None
    if suricata is None:
        print(f"note: {suricata_path} not found: lines checked against flowscore's own schemas only")
    return ours, suricata


OURS, SURICATA = validators()


def schema_problems(n, r, kind):
    out = [f"line {n}: {kind} schema: {e.message[:160]}" for e in OURS[kind].iter_errors(r)]
    if SURICATA is not None:
        shared = {k: v for k, v in r.items() if k != "flowscore"}
        out += [f"line {n}: Suricata's EVE schema: {e.message[:160]}" for e in SURICATA.iter_errors(shared)]
    return out


def read_output(path):
    flows, campaigns, problems, alert_ids = [], [], [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            camp = r.get("flowscore", {}).get("campaign")
            if camp is not None or "flow" in r:
                problems += schema_problems(n, r, "campaign" if camp is not None else "flow")
            if camp is not None:
                if "flow" in r or "flow_id" in r or r.get("event_type") != "alert":
                    problems.append(f"line {n}: campaign event with flow/flow_id or not an alert")
                campaigns.append(camp)
            elif "flow" in r:
                # Every flow has one flow event; an alert has an alert event
                # too, before it, with the same flow_id (as Suricata).
                if r.get("event_type") == "flow":
                    flows.append(r)
                elif r.get("event_type") == "alert":
                    alert_ids.append(r["flow_id"])
                else:
                    problems.append(f"line {n}: flow record with event_type {r.get('event_type')!r}")
            elif r.get("event_type") != "stats":
                problems.append(f"line {n}: neither a flow record nor a campaign event")
    # Each alert event has its flow's flow event, alerted, and not rate-limited.
    alerted_ids = {r["flow_id"] for r in flows if r["flow"]["alerted"] and "alert_limited" not in r.get("flowscore", {})}
    if sorted(alert_ids) != sorted(alerted_ids):
        problems.append(f"{len(alert_ids)} alert events for {len(alerted_ids)} alerted, unlimited flow events")
    return flows, campaigns, problems


def alerted(r):
    return bool(r["flow"]["alerted"])


def named_hosts(camp):
    hosts = {camp.get("target"), camp.get("source")}
    for member in ("top_sources", "top_targets"):
        hosts |= {e.get("ip") for e in camp.get(member) or []}
    return hosts - {None}


def check(name, truth, workdir):
    """Returns (table row, list of failures)."""
    fails = []
    pcap = os.path.join(workdir, name)
    conv = conversations(pcap)
    item = {key(p, a, ap_, b, bp): pk for p, a, ap_, b, bp, pk in truth["flows"]}
    for k, pk in item.items():
        if conv.get(k) != pk:
            fails.append(f"capture itself: {sorted(k[1])} has {conv.get(k)} packets, ground truth {pk}")

    out = os.path.join(workdir, name.replace(".pcap", ".eve.json"))
    cmd = [FLOWSCORE, "run", "--pcap", pcap, "--out", out, "-q", "--set", "flow.table_size=65535"]
    if ARGS.config:
        cmd += ["--config", ARGS.config]
    for kv in ARGS.set:
        cmd += ["--set", kv]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return [name, "run failed"] + [""] * 6, fails + [f"flowscore exit {p.returncode}: {p.stderr.strip()[-500:]}"]
    flows, campaigns, problems = read_output(out)
    fails += problems[:5]

    by_key = collections.defaultdict(list)
    for r in flows:
        by_key[key(r["proto"], r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"))].append(r)
    once = 0
    for k, pk in item.items():
        recs = by_key.get(k, [])
        if len(recs) != 1:
            fails.append(f"{sorted(k[1])}: {len(recs)} records, want exactly 1")
            continue
        got = recs[0]["flow"]["pkts_toserver"] + recs[0]["flow"]["pkts_toclient"]
        if got != pk:
            fails.append(f"{sorted(k[1])}: record has {got} packets, ground truth {pk}")
        once += 1
    item_recs = [by_key[k][0] for k in item if len(by_key.get(k, [])) == 1]
    n_alerted = sum(alerted(r) for r in item_recs)
    background = [r for r in flows if key(r["proto"], r["src_ip"], r.get("src_port"), r["dest_ip"], r.get("dest_port"))
                  not in item]
    bg_alerted = sum(alerted(r) for r in background)
    ids = {c.get("id") for c in campaigns}

    if not truth["expect_alert"]:
        (p_, a, ap_, b, bp, _), = truth["flows"]
        if n_alerted:
            r = item_recs[0]
            fails.append(f"lone flow alerted: label {r.get('flowscore', {}).get('label')}, "
                         f"evidence {json.dumps(r.get('flowscore', {}).get('evidence'))}")
        naming = [c for c in campaigns if named_hosts(c) & {a, b}]
        if naming:
            fails.append(f"{len(naming)} campaign event(s) name {a} or {b}: {json.dumps(naming[0])[:300]}")
        verdict = f"no campaign naming {a}/{b}: {'ok' if not naming else len(naming)}"
    else:
        want = truth["class"]
        right = [c for c in campaigns if c.get("class") == want and
                 ((truth["attacker"] and c.get("source") == truth["attacker"]) or c.get("target") == truth["victim"])]
        half = 2 * n_alerted >= len(item)
        if not right and not half:
            classes = collections.Counter(c.get("class") for c in campaigns)
            labels = collections.Counter(r.get("flowscore", {}).get("label") for r in item_recs)
            fails.append(f"attack not reported: no {want} campaign naming {truth['attacker']} as source or "
                         f"{truth['victim']} as target (campaign classes seen: {dict(classes)}), and "
                         f"{n_alerted} of {len(item)} attack flows alerted (labels {dict(labels)})")
        verdict = (f"{want} campaign: {len({c.get('id') for c in right})} ({len(right)} events); "
                   f"alerted >= half: {'yes' if half else 'no'}")
    row = [name, "alert" if truth["expect_alert"] else "no alert", f"{once}/{len(item)}",
           f"{n_alerted}/{len(item)}", f"{bg_alerted}/{len(background)}", f"{len(ids)} ({len(campaigns)} ev)",
           verdict, "PASS" if not fails else "FAIL"]
    return row, fails


def main():
    workdir = ARGS.keep or tempfile.mkdtemp(prefix="flowscore-policy-")
    os.makedirs(workdir, exist_ok=True)
    subprocess.run(["/usr/bin/python3", GENERATOR, workdir], check=True, capture_output=True, timeout=300)
    manifest = json.load(open(os.path.join(workdir, "MANIFEST.json")))
    header = ["capture", "expect", "item records once", "item alerted", "background alerted", "campaigns", "evidence",
              "result"]
    rows, failures = [], {}
    for name, truth in manifest.items():
        try:
            row, fails = check(name, truth, workdir)
        except Exception as e:  # a crash or timeout fails this capture, not the whole table
            row, fails = [name, "error", "", "", "", "", "", "FAIL"], [f"{type(e).__name__}: {e}"]
        rows.append(row)
        if fails:
            failures[name] = fails
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    for name, fails in failures.items():
        print(f"\nFAIL {name}:")
        for f in fails[:12]:
            print(f"  - {f}")
        if len(fails) > 12:
            print(f"  ... and {len(fails) - 12} more")
    print(f"\n{len(rows) - len(failures)} passed, {len(failures)} failed" + (f" (outputs in {workdir})" if ARGS.keep else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
