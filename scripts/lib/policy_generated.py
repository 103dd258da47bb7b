"""The alert policy on generated seeds: recall per attack class and campaign size.

usage: /usr/bin/python3 policy_generated.py WORK OUT.json SEED...

WORK holds, per seed, the label table `seed-S.csv` (flowscore extract: one
row per flow with its generator label) and the EVE output `seed-S.json`
(flowscore run, same capture, one worker, so flow ids match). Each flow is
joined by flow_id and checked by 5-tuple. Per generator class:
- model: flows whose EVE label (the model's argmax) is the class's family;
- alerted: flows the alert policy alerted (flow.alerted);
- covered: flows alerted, or counted in a campaign of the class's family;
and for benign flows, how many alerted. A seed's attack class is one
campaign, so its flow count is the campaign's size.
"""
import collections
import csv
import json
import sys

# The default model's families (docs/MODEL.md, scripts/pipeline --merge).
FAMILY = {
    "syn_flood": "flood", "udp_flood": "flood", "icmp_flood": "flood",
    "dns_amplification": "amplification", "ntp_amplification": "amplification",
    "ssdp_amplification": "amplification", "tcp_reflection": "amplification",
    "ssh_bruteforce": "bruteforce", "http_bruteforce": "bruteforce",
}


def family(label):
    if label.startswith("port_scan_"):
        return "scan"
    return FAMILY.get(label, label)


def main():
    work, out_path, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
    per_class = collections.defaultdict(lambda: collections.Counter())
    campaigns = []  # (seed, class, flows, covered)
    benign = collections.Counter()
    for seed in seeds:
        labels = {}
        with open(f"{work}/seed-{seed}.csv") as f:
            for row in csv.DictReader(f):
                labels[int(row["flow_id"])] = (row["label"], row["src_ip"], row["dest_ip"])
        campaign_class = {}
        records = []
        with open(f"{work}/seed-{seed}.json") as f:
            for line in f:
                r = json.loads(line)
                fs = r.get("flowscore", {})
                if "campaign" in fs:
                    campaign_class[fs["campaign"]["id"]] = fs["campaign"]["class"]
                elif r.get("event_type") == "flow":  # one per flow; alert events repeat alerted ones
                    records.append(r)
        seed_class = collections.Counter()
        seed_covered = collections.Counter()
        for r in records:
            label, src, dst = labels[r["flow_id"]]
            if {src, dst} != {r["src_ip"], r["dest_ip"]}:
                raise SystemExit(f"seed {seed}: flow {r['flow_id']} is not the same flow in run and extract")
            fs = r.get("flowscore", {})
            alerted = r["flow"]["alerted"]
            if label == "benign":
                benign["flows"] += 1
                benign["alerted"] += alerted
                benign["model"] += fs.get("label") not in (None, "benign")
                continue
            fam = family(label)
            in_campaign = campaign_class.get(fs.get("campaign_id")) == fam
            c = per_class[label]
            c["flows"] += 1
            c["model"] += fs.get("label") == fam
            c["alerted"] += alerted
            c["covered"] += alerted or in_campaign
            seed_class[label] += 1
            seed_covered[label] += alerted or in_campaign
        for label, n in seed_class.items():
            campaigns.append({"seed": seed, "class": label, "flows": n, "covered": seed_covered[label]})

    def pct(a, b):
        return f"{100 * a / b:.1f}%" if b else "-"

    print(f"| class | flows | model calls its family | policy alerts | alerted or in a campaign of its family |")
    print("|---|---|---|---|---|")
    total = collections.Counter()
    for label in sorted(per_class):
        c = per_class[label]
        total.update(c)
        print(f"| {label} | {c['flows']} | {pct(c['model'], c['flows'])} | {pct(c['alerted'], c['flows'])} | "
              f"{pct(c['covered'], c['flows'])} |")
    print(f"| all attacks | {total['flows']} | {pct(total['model'], total['flows'])} | "
          f"{pct(total['alerted'], total['flows'])} | {pct(total['covered'], total['flows'])} |")
    print(f"| benign | {benign['flows']} | {pct(benign['model'], benign['flows'])} called an attack | "
          f"{pct(benign['alerted'], benign['flows'])} alerted | |")
    small = [c for c in campaigns if 10 <= c["flows"] <= 50]
    covered = sum(c["covered"] for c in small)
    flows = sum(c["flows"] for c in small)
    detected = sum(c["covered"] * 2 >= c["flows"] for c in small)
    print(f"small campaigns (10-50 flows): {len(small)}, {detected} with at least half their flows covered; "
          f"flows covered {covered} of {flows} ({pct(covered, flows)})")
    json.dump({"per_class": {k: dict(v) for k, v in per_class.items()}, "benign": dict(benign),
               "campaigns": campaigns,
               "small_campaigns": {"campaigns": len(small), "detected": detected, "flows": flows,
                                   "covered": covered}},
              open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
