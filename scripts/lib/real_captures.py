"""What a model says about real captures it never saw (docs/MODEL.md).

For every capture in ../shared/data/pcaps/MANIFEST.tsv (group A benign or
protocol coverage, group B attack), runs `flowscore run` with the model and
counts flows and alerts. No threshold is tuned here: the model's configured
thresholds are used as they are.

usage: /usr/bin/python3 real_captures.py FLOWSCORE MODEL MANIFEST OUT.json
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor


def score(flowscore, model, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.run([flowscore, "run", "--pcap", path, "--model", model, "--out", out.name, "-q",
                            "--set", "flow.table_size=262144"], capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        labels = collections.Counter()
        alerts = 0
        for line in open(out.name):
            r = json.loads(line)
            labels[r.get("flowscore", {}).get("label", "?")] += 1
            alerts += r["event_type"] == "alert"
        return {"flows": sum(labels.values()), "alerts": alerts, "labels": dict(labels)}


def main():
    flowscore, model, manifest, out_path = sys.argv[1:5]
    root = os.path.dirname(manifest)
    rows = [line.rstrip("\n").split("\t") for line in open(manifest)][1:]
    jobs = [(r[0], r[1], r[6]) for r in rows if len(r) > 6]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda j: score(flowscore, model, os.path.join(root, j[1])), jobs))
    per_capture = []
    totals = {g: collections.Counter() for g in "AB"}
    for (group, path, notes), res in zip(jobs, results):
        per_capture.append({"group": group, "path": path, "notes": notes, **res})
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
    json.dump({"summary": summary, "captures": per_capture}, open(out_path, "w"), indent=1)
    for g, name in (("A", "benign / protocol coverage"), ("B", "attack")):
        t = totals[g]
        print(f"{g} ({name}): {t['captures']} captures ({t['refused']} refused), {t['flows']} flows, "
              f"{t['alert_flows']} alert flows ({100 * t['alert_flows'] / max(1, t['flows']):.2f}%), "
              f"{t['captures_with_alert']} captures with at least one alert "
              f"({100 * t['captures_with_alert'] / max(1, t['captures']):.1f}%)")


if __name__ == "__main__":
    main()
