"""`flowscore report` end to end: every number in the report equals the same
count computed here, independently, from the EVE files it read; the page
draws every chart in a real browser (Debian's chromium, headless) without a
console error or a network request; bad input is counted or refused.

usage: /usr/bin/python3 test_report.py SOURCE_DIR BUILD_DIR
A screenshot of the report is kept as BUILD_DIR/tests/report/report.png.
"""
import collections
import datetime
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

import jsonschema

SRC, BUILD = sys.argv[1], sys.argv[2]
FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
GEN = os.path.join(BUILD, "src/gen/flowscore-gen")
TMP = tempfile.mkdtemp(prefix="flowscore-report-")
ARTEFACTS = os.path.join(BUILD, "tests", "report")
METRICS = os.path.join(SRC, "conf/models/default.heldout-metrics.json")


def run(*args, expect=0):
    p = subprocess.run([FLOWSCORE, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == expect, f"exit {p.returncode} (wanted {expect}) for {args}:\n{p.stderr}"
    return p


def eve_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def stats_lines(host, start):
    """Live stats events as flowscore writes them (checked against its schema):
    cumulative counters that grow, one model reload."""
    schema = json.load(open(os.path.join(SRC, "docs/schema/eve-stats.schema.json")))
    lines = []
    for i in range(5):
        t = datetime.datetime.fromtimestamp(start + 60 * i, datetime.timezone.utc)
        event = {
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "host": host, "event_type": "stats",
            "stats": {
                "uptime": 60 * i,
                "capture": {"kernel_packets": 1000 * i, "kernel_drops": 7 * i, "errors": 0, "ring_drops": 0,
                            "ports": [{"port": 0, "packets": 1000 * i, "bytes": 64000 * i, "imissed": 7 * i,
                                       "ierrors": 0, "rx_nombuf": 0, "queues": [600 * i, 400 * i]}]},
                "decoder": {"pkts": 1000 * i, "bytes": 64000 * i, "invalid": i,
                            "not_flowed": {"truncated": i, "unsupported_link": 2 * i},
                            "fragments": {"first": 0, "attributed": 0, "overwritten": 0}},
                "flow": {"active": 10, "created": 100 * i, "table_bytes": 1 << 20,
                         "ended": {"timeout": 90 * i, "active_timeout": 0, "tcp_close": 10 * i, "forced": 0,
                                   "shutdown": 0},
                         "tcp_port_reuse": 0, "insert_failed": 0, "pairs_forgotten": 0},
                "flowscore": {"records": 100 * i, "records_dropped": i // 2, "write_failures": 0,
                              "workers": [{"id": 0, "packets": 1000 * i, "bursts": 40 * i, "empty_polls": 5,
                                           "flows_active": 10, "records_waited": 0}],
                              "model": {"name": "flowscore-default-5", "hash": "29e2515c2bd8",
                                        "reloads": 1 if i >= 3 else 0, "refusals": 0}},
            }}
        lines.append(event)
    for e in lines:
        try:
            jsonschema.validate(e, schema)
        except jsonschema.ValidationError as err:
            raise AssertionError(f"test stats event does not match eve-stats.schema.json: {err.message}")
    return lines


class Twin:
    """The report's numbers, the slow obvious way."""

    def __init__(self, bin_seconds):
        self.bin = bin_seconds
        self.totals = collections.Counter()
        self.by_proto = collections.Counter()
        self.per_class = collections.defaultdict(collections.Counter)
        self.src = collections.defaultdict(collections.Counter)
        self.dst = collections.defaultdict(collections.Counter)
        self.series = collections.defaultdict(collections.Counter)
        self.hist = collections.defaultdict(lambda: [0] * 20)
        self.inputs = []
        self.interfaces = collections.defaultdict(collections.Counter)  # in_iface ("" when absent) -> counts

    def add_file(self, name, lines):
        counts = collections.Counter()
        for line in lines:
            self.totals["lines"] += 1
            try:
                e = json.loads(line)
                t = eve_time(e["timestamp"])
            except ValueError:
                self.totals["unparsed_lines"] += 1
                continue
            fs = e.get("flowscore", {})
            if e["event_type"] == "stats":
                self.totals["stats_events"] += 1
                continue
            if "campaign" in fs:
                if fs["campaign"]["phase"] == "open":
                    self.totals["campaigns"] += 1
                    counts["campaigns"] += 1
                continue
            k = math.floor(t / self.bin)
            label = fs.get("label")
            if e["event_type"] == "alert":  # an alert event; its flow has a flow event too
                self.totals["alerts"] += 1
                counts["alerts"] += 1
                self.per_class[label]["alerts"] += 1
                self.series[k][("alerts", label)] += 1
                self.src[e["src_ip"]]["alerts"] += 1
                self.dst[e["dest_ip"]]["alerts"] += 1
                self.interfaces[e.get("in_iface", "")]["alerts"] += 1
                continue
            f = e["flow"]
            proto = {"TCP": "TCP", "UDP": "UDP", "ICMP": "ICMP", "IPv6-ICMP": "ICMP"}.get(e["proto"], "other")
            packets = f["pkts_toserver"] + f["pkts_toclient"]
            nbytes = f["bytes_toserver"] + f["bytes_toclient"]
            self.totals.update(flows=1, packets=packets, bytes=nbytes)
            counts.update(flows=1)
            self.by_proto[proto] += 1
            self.interfaces[e.get("in_iface", "")].update(flows=1, packets=packets, bytes=nbytes)
            self.series[k].update({("flows", proto): 1, ("packets", proto): packets, ("bytes", proto): nbytes})
            if label:
                self.per_class[label]["flows"] += 1
                self.hist[label][min(19, int(fs["score"] * 20))] += 1
                self.series[k].update({"scored": 1, "benign": int(label == "benign")})
            for table, ip in ((self.src, e["src_ip"]), (self.dst, e["dest_ip"])):
                table[ip].update(flows=1, bytes=nbytes)
        self.inputs.append((name, counts))


def report_data(html):
    m = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no report-data element"
    return json.loads(m.group(1))


def top_rows(table, measure, n):
    rows = [(ip, c[measure]) for ip, c in table.items() if c[measure]]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return [{"key": k, "count": v} for k, v in rows[:n]]


def make_inputs():
    """A generated capture with floods and scans (alerts and campaigns), the
    bundled real captures gzip-compressed as logrotate leaves them, live
    stats events, and lines that are not EVE."""
    pcap = os.path.join(TMP, "bench.pcap")
    subprocess.run([GEN, "--profile", "bench", "--packets", "150000", "--seed", "5", "--out", pcap, "--quiet"],
                   check=True, timeout=120)
    eve1 = os.path.join(TMP, "generated.json")
    run("run", "--pcap", pcap, "--out", eve1, "-q")
    real = sorted(os.path.join(SRC, "tests/data/output", f) for f in os.listdir(os.path.join(SRC, "tests/data/output"))
                  if f.endswith(".pcap"))
    eve2 = os.path.join(TMP, "real.json")
    args = ["run", "--out", eve2, "-q"]
    for f in real:
        args += ["--pcap", f]
    run(*args)
    with open(eve2, "rb") as f, gzip.open(eve2 + ".gz", "wb") as g:
        g.write(f.read())
    stats = os.path.join(TMP, "stats.json")
    first = eve_time(json.loads(open(eve1).readline())["timestamp"])
    with open(stats, "w") as f:
        for e in stats_lines("sensor-a", first):
            f.write(json.dumps(e) + "\n")
        f.write("not json at all\n")
        f.write('{"timestamp": "yesterday", "event_type": "flow"}\n')
    return eve1, eve2, eve2 + ".gz", stats


def test_every_number_equals_an_independent_count_of_the_eve_files():
    eve1, eve2, eve2_gz, stats = make_inputs()
    out = os.path.join(TMP, "report.html")
    p = run("report", eve1, eve2_gz, stats, "-o", out, "--model-card", METRICS, "--top", "15")
    assert "not EVE events" in p.stderr, p.stderr
    html = open(out, encoding="utf-8").read()
    data = report_data(html)
    assert len(html) < 1_000_000, f"the report is {len(html)} bytes"

    twin = Twin(data["series"]["bin_seconds"])
    twin.add_file(eve1, open(eve1))
    twin.add_file(eve2_gz, gzip.open(eve2_gz, "rt"))
    twin.add_file(stats, open(stats))

    T = data["totals"]
    for k in ("flows", "packets", "bytes", "alerts", "campaigns", "stats_events"):
        assert T[k] == twin.totals[k], (k, T[k], twin.totals[k])
    assert T["unparsed_lines"] == twin.totals["unparsed_lines"] == 2 and T["lines"] == twin.totals["lines"], T
    assert T["alerts"] > 0 and T["campaigns"] > 0, T  # the input exercises both
    assert dict(zip(data["protocols"], data["flows_by_protocol"])) == {p: twin.by_proto[p] for p in data["protocols"]}

    per_class = {c["class"]: c for c in data["per_class"]}
    assert set(per_class) == set(twin.per_class), (set(per_class), set(twin.per_class))
    for c, counts in twin.per_class.items():
        assert per_class[c]["flows"] == counts["flows"] and per_class[c]["alerts"] == counts["alerts"], c
        assert per_class[c]["score_histogram"] == twin.hist[c], c

    # Time series: the same intervals, dense from first to last.
    S = data["series"]
    keys = sorted(twin.series)
    assert [round(s / S["bin_seconds"]) for s in S["start"]] == list(range(keys[0], keys[-1] + 1))
    for i, k in enumerate(range(keys[0], keys[-1] + 1)):
        b = twin.series.get(k, collections.Counter())
        for j, proto in enumerate(data["protocols"]):
            for measure in ("flows", "packets", "bytes"):
                assert S[measure][j][i] == b[(measure, proto)], (k, measure, proto)
        for j, c in enumerate(data["classes"]):
            assert S["alerts"][j][i] == b[("alerts", c)], (k, c)
        share = S["benign_share"][i]
        assert (share is None) == (b["scored"] == 0) and (share is None or abs(share - b["benign"] / b["scored"]) < 1e-12)

    top = data["top"]
    for role, table in (("sources", twin.src), ("targets", twin.dst)):
        for measure in ("flows", "bytes", "alerts"):
            got = top[f"{role}_by_{measure}"]
            assert got["exact"], (role, measure)  # fewer hosts than the counters keep
            assert [{"key": r["key"], "count": r["count"]} for r in got["rows"]] == top_rows(table, measure, 15), (role, measure)

    names = [i["name"] for i in data["inputs"]]
    assert names == [eve1, eve2_gz, stats], names
    for got, (name, counts) in zip(data["inputs"], twin.inputs):
        assert got["flows"] == counts["flows"] and got["alerts"] == counts["alerts"], name
    # Per in_iface: the generated capture and each real one is its own.
    listed = {i["name"]: i for i in data["interfaces"]["listed"]}
    assert set(listed) == set(twin.interfaces), (set(listed), set(twin.interfaces))
    assert len([n for n in listed if n]) > 2, listed  # the input exercises several
    for name, counts in twin.interfaces.items():
        for k in ("flows", "alerts", "packets", "bytes"):
            assert listed[name][k] == counts[k], (name, k, listed[name][k], counts[k])
    assert data["interfaces"]["unlisted"]["flows"] == data["interfaces"]["unlisted"]["alerts"] == 0
    health = data["health"]["points"]
    assert [p["kernel_drops"] for p in health] == [7 * i for i in range(5)], health
    assert data["health"]["not_flowed_by_reason"] == {"sensor-a": {"truncated": 4, "unsupported_link": 8}}
    assert data["model_card"]["per_class"] == json.load(open(METRICS))["per_class"]

    # Plain and gzip input read the same.
    plain = report_data(open(out, encoding="utf-8").read())
    run("report", eve1, eve2, stats, "-o", out + ".plain.html", "--model-card", METRICS, "--top", "15")
    again = report_data(open(out + ".plain.html", encoding="utf-8").read())
    for d in (plain, again):
        d.pop("report")
        d.pop("inputs")
    assert plain == again
    return out


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    return None


def test_the_page_draws_every_chart_in_a_browser_with_no_error_and_no_request():
    out = test_every_number_equals_an_independent_count_of_the_eve_files()
    browser = chromium()
    assert browser, "chromium is not installed (scripts/setup.sh installs it)"
    html = open(out, encoding="utf-8").read()
    # Nothing may load from elsewhere: no src/href to a URL, and a CSP that forbids it.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html), "a remote reference"
    assert "default-src 'none'" in html
    flags = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--virtual-time-budget=10000", "--user-data-dir=" + os.path.join(TMP, "chromium-profile")]
    dom = subprocess.run(flags + ["--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + out],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert 'data-ready="true"' in page, "the script did not finish"
    boxes = re.findall(r'<div class="chart" id="([^"]+)"([^>]*)>', page)
    assert len(boxes) >= 6, boxes  # traffic x3, verdicts, scores, health
    assert f'data-charts="{len(boxes)}"' in page
    for chart_id, attrs in boxes:
        assert 'data-rendered="true"' in attrs, chart_id
        points = int(re.search(r'data-points="(\d+)"', attrs).group(1))
        assert points > 0, chart_id
    for section in ("coverage", "traffic", "verdicts", "scores", "top", "inputs", "health", "model-card"):
        assert f'<section id="{section}"' in page, section
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
               or "Refused to" in line or "Content Security Policy" in line]
    assert not console, "\n".join(console)
    os.makedirs(ARTEFACTS, exist_ok=True)
    shot = os.path.join(ARTEFACTS, "report.png")
    subprocess.run(flags + ["--window-size=1400,4000", "--screenshot=" + shot, "file://" + out],
                   capture_output=True, timeout=120, check=True)
    assert os.path.getsize(shot) > 50_000, "an empty screenshot"


def test_text_from_the_input_stays_text():
    # A hostile "address" must not end the data element or become markup.
    line = {"timestamp": "2024-01-01T00:00:00.000000+0000", "event_type": "alert",
            "src_ip": "</script><script>document.title='pwned'</script>", "dest_ip": "10.0.0.1", "proto": "TCP",
            "community_id": "1:x", "flow": {"pkts_toserver": 1, "pkts_toclient": 0, "bytes_toserver": 60,
                                              "bytes_toclient": 0},
            "flowscore": {"label": "scan", "score": 0.99}}
    path = os.path.join(TMP, "hostile.json")
    with open(path, "w") as f:
        f.write(json.dumps(line) + "\n")
    out = os.path.join(TMP, "hostile.html")
    run("report", path, "-o", out, "-q")
    html = open(out, encoding="utf-8").read()
    assert "</script><script>document.title" not in html
    data = report_data(html)
    assert data["top"]["sources_by_alerts"]["rows"][0]["key"] == line["src_ip"]


def test_interfaces_past_the_listed_ones_are_summed_not_dropped():
    path = os.path.join(TMP, "many-ifaces.json")
    with open(path, "w") as f:
        for i in range(70):
            f.write(json.dumps({"timestamp": "2024-01-01T00:00:%02d.000000+0000" % (i % 60), "event_type": "flow",
                                "in_iface": f"capture-{i}.pcap", "src_ip": "10.0.0.1", "dest_ip": "10.0.0.2",
                                "proto": "UDP", "flow": {"pkts_toserver": 1, "pkts_toclient": 1,
                                                         "bytes_toserver": 60, "bytes_toclient": 40}}) + "\n")
    out = os.path.join(TMP, "many-ifaces.html")
    run("report", path, "-o", out, "-q")
    I = report_data(open(out, encoding="utf-8").read())["interfaces"]
    assert [i["name"] for i in I["listed"]] == [f"capture-{i}.pcap" for i in range(64)], I["listed"]
    assert all(i["flows"] == 1 and i["bytes"] == 100 for i in I["listed"])
    assert I["unlisted"]["flows"] == 6 and I["unlisted"]["packets"] == 12, I["unlisted"]


def test_bad_input_is_refused_or_counted():
    out = os.path.join(TMP, "bad.html")
    p = run("report", os.path.join(TMP, "absent.json"), "-o", out, expect=2)
    assert "cannot open" in p.stderr and not os.path.exists(out), p.stderr
    run("report", "-o", out, expect=2)  # no input
    run("report", os.path.join(TMP, "x.json"), expect=2)  # no -o
    # A gzip file cut in the middle: what was read is reported, the input marked.
    eve = os.path.join(TMP, "cut.json")
    run("run", "--pcap", os.path.join(SRC, "tests/data/packet/zeek-icmp-ping.pcap"), "--out", eve, "-q")
    body = gzip.compress(open(eve, "rb").read() * 200)
    cut = os.path.join(TMP, "cut.json.gz")
    with open(cut, "wb") as f:
        f.write(body[: len(body) // 2])
    p = run("report", cut, "-o", out)
    assert "read up to there" in p.stderr, p.stderr
    data = report_data(open(out, encoding="utf-8").read())
    assert data["inputs"][0]["truncated"] and 0 < data["totals"]["flows"] < 200, data["inputs"]
    # An unwritable report: exit 1, no partial file left.
    p = run("report", eve, "-o", os.path.join(TMP, "no", "such", "dir", "r.html"), expect=1)
    assert "cannot write" in p.stderr


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    failed = 0
    for t in tests:
        try:
            t()
            print(f"ok   {t.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc()
    print(f"{len(tests) - failed} passed, {failed} failed")
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
