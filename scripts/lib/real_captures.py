"""What a model says about real captures it never saw (docs/MODEL.md).

For every capture in ../shared/data/pcaps/MANIFEST.tsv (group A benign or
protocol coverage, group B attack), runs `flowscore run` with the model and
counts flows, alerts and campaigns. No threshold is tuned here: the
configured policy is used as it is.

usage: /usr/bin/python3 real_captures.py FLOWSCORE MODEL MANIFEST OUT.json

Environment:
  FLOWSCORE_EVAL_SET     extra config overrides, space-separated KEY=VALUE,
                         each passed as --set KEY=VALUE (to try thresholds)
  FLOWSCORE_EVAL_CONFIG  a config file passed as --config (default: the
                         binary's own default, conf/flowscore.json)
  FLOWSCORE_EVAL_JOBS    captures scored at once (default 2)

Every capture has a part (train / eval), a malformed flag and, in group B,
an expected family; capture_split.py defines all three and documents the
rules. Numbers are reported per part (train, eval, all):
- A: flows with flow.alerted true, as a share of A's flows, over all
  captures, without the malformed captures, and over the malformed alone;
- B in scope (family flood, amplification, scan, bruteforce): captures
  detected, i.e. at least half of their flow records either have
  flow.alerted true or carry a flowscore.campaign_id whose campaign event
  has the capture's family as its class; a capture flowscore refused counts
  as missed;
- B out of scope: the same, with a campaign of any class;
- B, secondary: "detected_by_packets", the same rule over packets instead
  of flows (half of the capture's packets in such flows), for captures where
  one flood flow sits among background flows;
- campaign events (lines with flowscore.campaign) and distinct campaigns.
A flow is its flow event (flow.alerted says whether it alerted); alert events,
which repeat an alerted flow's record as Suricata's do, are counted apart.
The old summary (group totals, all parts) is kept as "summary" and printed
first, as before.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import capture_split

IN_SCOPE = set(capture_split.FAMILIES)
PARTS = ("train", "eval", "all")


def extra_args():
    args = []
    config = os.environ.get("FLOWSCORE_EVAL_CONFIG", "").strip()
    if config:
        args += ["--config", config]
    for kv in os.environ.get("FLOWSCORE_EVAL_SET", "").split():
        if "=" not in kv:
            sys.exit(f"real_captures: FLOWSCORE_EVAL_SET item {kv!r} is not KEY=VALUE")
        args += ["--set", kv]
    return args


def score(flowscore, model, path, family, extra):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.run([flowscore, "run", "--pcap", path, "--model", model, "--out", out.name, "-q",
                            "--set", "flow.table_size=262144", *extra], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        labels, alert_labels = collections.Counter(), collections.Counter()
        alerts = event_alerts = 0
        flow_campaign = []  # (alerted, campaign_id or None, packets) per flow record
        campaigns, campaign_events = {}, 0
        for line in open(out.name):
            r = json.loads(line)
            fs = r.get("flowscore") or {}
            if "campaign" in fs:
                campaign_events += 1
                c = fs["campaign"]
                entry = campaigns.setdefault(c.get("id"), {"class": c.get("class"), "rule": c.get("rule"),
                                                           "events": 0, "flows": 0})
                entry["events"] += 1
                entry["flows"] = max(entry["flows"], c.get("flows") or 0)
                for side in ("target", "source"):
                    if c.get(side):
                        entry[side] = c[side]
                continue
            if "flow" not in r:
                continue  # stats events
            if r["event_type"] == "alert":  # the alert event of a flow whose flow event follows
                event_alerts += 1
                continue
            alerted = bool(r["flow"]["alerted"])
            labels[fs.get("label", "?")] += 1
            alerts += alerted
            if alerted:
                alert_labels[fs.get("label", "?")] += 1
            packets = r["flow"].get("pkts_toserver", 0) + r["flow"].get("pkts_toclient", 0)
            flow_campaign.append((alerted, fs.get("campaign_id"), packets))
        flows = len(flow_campaign)

        def covered(classes, weight):
            in_campaign = {i for i, c in campaigns.items() if classes is None or c["class"] in classes}
            return sum(weight(n) for a, cid, n in flow_campaign if a or (cid is not None and cid in in_campaign))

        def flows_of(_):
            return 1

        def packets_of(n):
            return n

        res = {"flows": flows, "alerts": alerts, "event_alerts": event_alerts, "labels": dict(labels),
               "alert_labels": dict(alert_labels), "campaign_events": campaign_events,
               "campaigns": {str(k): v for k, v in campaigns.items()},
               "campaign_flows": sum(1 for _, cid, _ in flow_campaign if cid is not None),
               "packets": sum(n for _, _, n in flow_campaign)}
        classes = {family} if family in IN_SCOPE else None if family == "out_of_scope" else ()
        if classes != ():
            res["covered"] = covered(classes, flows_of)
            res["covered_packets"] = covered(classes, packets_of)
            res["detected"] = flows > 0 and 2 * res["covered"] >= flows
            # Secondary: one flood flow among background flows is most of
            # the packets but few of the flows (docs/MODEL.md).
            res["detected_by_packets"] = res["packets"] > 0 and 2 * res["covered_packets"] >= res["packets"]
        return res


def pct(n, d):
    return round(100 * n / d, 3) if d else None


def part_metrics(caps):
    """Metrics over a list of per-capture results."""
    m = {}
    a = [c for c in caps if c["group"] == "A"]
    a_ok = [c for c in a if "error" not in c]
    for name, sel in (("all", a_ok), ("without_malformed", [c for c in a_ok if not c["malformed"]]),
                      ("malformed_only", [c for c in a_ok if c["malformed"]])):
        flows, alerted = sum(c["flows"] for c in sel), sum(c["alerts"] for c in sel)
        m[f"A_{name}"] = {"captures": len(sel), "flows": flows, "alerted": alerted, "alerted_pct": pct(alerted, flows),
                          "captures_with_alert": sum(c["alerts"] > 0 for c in sel)}
    m["A_all"]["refused"] = len(a) - len(a_ok)
    for name, sel in (("B_in_scope", [c for c in caps if c["family"] in IN_SCOPE]),
                      ("B_out_of_scope", [c for c in caps if c["family"] == "out_of_scope"])):
        det = [c for c in sel if c.get("detected")]
        m[name] = {"captures": len(sel), "detected": len(det), "detected_pct": pct(len(det), len(sel)),
                   "detected_by_packets": sum(1 for c in sel if c.get("detected_by_packets")),
                   "refused": sum("error" in c for c in sel),
                   "missed": sorted(c["path"] for c in sel if not c.get("detected"))}
        if name == "B_in_scope":
            m[name]["by_family"] = {f: f"{sum(1 for c in det if c['family'] == f)}/"
                                       f"{sum(1 for c in sel if c['family'] == f)}" for f in capture_split.FAMILIES}
    for g in "AB":
        sel = [c for c in caps if c["group"] == g and "error" not in c]
        m[f"{g}_campaigns"] = {"events": sum(c["campaign_events"] for c in sel),
                               "campaigns": sum(len(c["campaigns"]) for c in sel),
                               "by_class": dict(collections.Counter(v["class"] for c in sel
                                                                    for v in c["campaigns"].values()))}
    return m


def main():
    flowscore, model, manifest, out_path = sys.argv[1:5]
    root = os.path.dirname(manifest)
    extra = extra_args()
    rows = capture_split.read_manifest(manifest)
    jobs = int(os.environ.get("FLOWSCORE_EVAL_JOBS", "2"))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda d: score(flowscore, model, os.path.join(root, d["local_path"]), d["family"], extra),
                                rows))
    per_capture = []
    totals = {g: collections.Counter() for g in "AB"}
    for d, res in zip(rows, results):
        group = d["group"]
        per_capture.append({"group": group, "path": d["local_path"], "notes": d["label_notes"], "part": d["part"],
                            "malformed": d["malformed"], "malformed_reason": d["malformed_reason"],
                            "family": d["family"], **res})
        t = totals[group]
        if "error" in res:
            t["refused"] += 1
            continue
        t["captures"] += 1
        t["flows"] += res["flows"]
        t["alert_flows"] += res["alerts"]
        t["captures_with_alert"] += res["alerts"] > 0
        for label, n in res["labels"].items():
            t[f"label:{label}"] += n
    summary = {g: dict(t) for g, t in totals.items()}
    parts = {p: part_metrics([c for c in per_capture if p == "all" or c["part"] == p]) for p in PARTS}
    settings = {"flowscore": flowscore, "model": model, "manifest": manifest, "extra_args": extra,
                "split_rule": "eval if sha256(local_path)[0] < 128 (scripts/lib/capture_split.py)"}
    with open(out_path, "w") as f:
        json.dump({"settings": settings, "summary": summary, "parts": parts, "captures": per_capture}, f, indent=1)

    for g, name in (("A", "benign / protocol coverage"), ("B", "attack")):
        t = totals[g]
        print(f"{g} ({name}): {t['captures']} captures ({t['refused']} refused), {t['flows']} flows, "
              f"{t['alert_flows']} alert flows ({100 * t['alert_flows'] / max(1, t['flows']):.2f}%), "
              f"{t['captures_with_alert']} captures with at least one alert "
              f"({100 * t['captures_with_alert'] / max(1, t['captures']):.1f}%)")
    print()
    print(f"{'part':6} {'A alerted (all)':>22} {'A w/o malformed':>22} {'A malformed only':>20} "
          f"{'B in scope det.':>16} {'B out of scope det.':>20} {'campaigns A/B':>14}")
    for p in PARTS:
        m = parts[p]

        def a(k):
            x = m[k]
            return f"{x['alerted']}/{x['flows']} ({x['alerted_pct'] if x['alerted_pct'] is not None else 0:.2f}%)"

        print(f"{p:6} {a('A_all'):>22} {a('A_without_malformed'):>22} {a('A_malformed_only'):>20} "
              f"{m['B_in_scope']['detected']:>7}/{m['B_in_scope']['captures']:<8} "
              f"{m['B_out_of_scope']['detected']:>9}/{m['B_out_of_scope']['captures']:<10} "
              f"{m['A_campaigns']['campaigns']:>6}/{m['B_campaigns']['campaigns']:<7}")
    errors = collections.Counter(c["error"] for c in per_capture if "error" in c)
    for err, n in errors.most_common(3):
        print(f"refused {n}: {err}", file=sys.stderr)
    if errors and sum(errors.values()) == len(per_capture):
        sys.exit("real_captures: flowscore refused every capture")
    for p in PARTS:
        m = parts[p]["B_in_scope"]
        print(f"{p}: B in scope by family {m['by_family']}; by packets {m['detected_by_packets']}/{m['captures']}; missed: "
              + (", ".join("/".join(x.split("/")[-2:]) for x in m["missed"]) or "none"))


if __name__ == "__main__":
    main()
