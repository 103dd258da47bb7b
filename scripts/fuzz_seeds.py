#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets in tests/fuzz, from the project's
own files, so every run starts from inputs that reach deep paths.

    scripts/fuzz_seeds.py OUT_DIR FLOWSCORE_BINARY

Writes OUT_DIR/<target>/ for each target:
  parse_frame:    every frame of tests/data/*/*.pcap[ng], prefixed with the
                  byte that selects its link type in fuzz_parse_frame.cpp
  xgboost_json:   small XGBoost models trained here (binary, multi-class,
                  with missing values), saved as JSON
  compiled_model: the same models compiled by `flowscore compile`, without
                  the trailing SHA-256 the target appends itself
  config:         conf/flowscore.json and --set overrides
  labels:         the examples of docs/LABELS.md, in both formats
  features, flow_table: seeded random bytes (the targets decode any bytes
                  into packet sequences)
  eve_report:     EVE lines `flowscore run` writes for a bundled capture
                  (flow and alert events)
  feature_cell:   numbers as extract writes them, and strtof's odd cases
"""
import pathlib
import subprocess
import sys

import dpkt
import numpy as np
import xgboost as xgb

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Index of each pcap link type in fuzz_parse_frame.cpp's kLinks.
LINK_INDEX = {0: 0, 1: 1, 101: 2, 108: 3, 113: 4, 228: 5, 229: 6, 276: 7}
MAX_FRAMES_PER_FILE = 200


def frames(path):
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        reader = dpkt.pcapng.Reader(f) if head == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)
        link = reader.datalink()
        for n, (_, buf) in enumerate(reader):
            if n >= MAX_FRAMES_PER_FILE:
                break
            yield link, buf


def parse_frame_seeds(out):
    n = 0
    for path in sorted(ROOT.glob("tests/data/*/*.pcap*")):
        try:
            for link, buf in frames(path):
                if link in LINK_INDEX:
                    (out / f"{path.stem}-{n}").write_bytes(bytes([LINK_INDEX[link]]) + buf)
                    n += 1
        except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError):
            continue  # the corpus holds deliberately broken captures
    return n


def model_seeds(json_out, compiled_out, flowscore):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    specs = {
        "binary": ({"objective": "binary:logistic", "max_depth": 3}, (x[:, 0] > 0).astype(int), 4, ""),
        "multi": ({"objective": "multi:softprob", "num_class": 3, "max_depth": 4},
                  (np.nan_to_num(x[:, 1]) > 0).astype(int) + (np.nan_to_num(x[:, 2]) > 1).astype(int), 3,
                  "a,b,c"),
        "regression": ({"objective": "reg:squarederror", "max_depth": 2}, np.nan_to_num(x[:, 3]), 3, ""),
    }
    for name, (params, y, rounds, classes) in specs.items():
        booster = xgb.train({**params, "nthread": 1, "seed": 1}, xgb.DMatrix(x, label=y), num_boost_round=rounds)
        if name == "binary":  # what scripts/train records, for compile to take from the JSON
            booster.set_attr(class_names='["benign", "attack"]', feature_spec_version="flowscore-features v2 seed")
        path = json_out / f"{name}.json"
        booster.save_model(str(path))
        fsm = compiled_out / f"{name}.fsm"
        cmd = [flowscore, "compile", str(path), "-o", str(fsm)] + (["--class-names", classes] if classes else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        fsm.write_bytes(fsm.read_bytes()[:-32])  # the target appends the digest


def config_seeds(out):
    (out / "default.json").write_bytes((ROOT / "conf/flowscore.json").read_bytes())
    for n, line in enumerate(["flow.idle_timeout=30", "model.classes.scan.threshold=0.9",
                              "dpdk.read_on=main", "output.stats_interval=0", "features.first_packets=32"]):
        (out / f"set{n}").write_text(line)


def label_seeds(out):
    (out / "rules.csv").write_text("# file,label per capture; first match wins\n"
                                   "file,src,label\na.pcap,10.9.9.9,portscan\na.pcap,*,benign\n")
    (out / "rules-full.csv").write_text("label,src,dst,src_port,dst_port,proto,start,end,bidirectional\n"
                                        "scan,10.0.0.0/8,192.168.1.1,1024-65535,22,tcp,1700000000,1700000100,1\n"
                                        "dns,2001:db8::/32,*,*,53,17,*,*,0\n")
    (out / "generator.csv").write_text(
        "label,class,proto,src_ip,src_port,dst_ip,dst_port,start,end\n"
        "benign,web_tls,6,10.1.0.5,40112,203.0.113.9,443,1700000000.125000,1700000003.882113\n"
        "syn_flood,syn_flood,6,198.51.100.77,5123,10.1.0.20,80,1700000010.000001,1700000010.000001\n")


def random_seeds(out, seed):
    rng = np.random.default_rng(seed)
    for n, size in enumerate([16, 120, 1200, 9000]):
        (out / f"random-{n}").write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())


def eve_seeds(out, flowscore):
    eve = out / "all.json"
    subprocess.run([flowscore, "run", "--pcap", str(ROOT / "tests/data/packet/zeek-icmp-ping.pcap"),
                    "--out", str(eve), "-q", "--set", "model.default_threshold=0", "--set", "alerting.policy=threshold"],
                   check=True, timeout=120)
    for n, line in enumerate(eve.read_text().splitlines()):
        (out / f"line-{n}").write_text(line + "\n")


def main():
    out, flowscore = pathlib.Path(sys.argv[1]), sys.argv[2]
    dirs = {t: out / t for t in ("parse_frame", "xgboost_json", "compiled_model", "config", "labels", "features", "flow_table",
                                 "eve_report", "feature_cell")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    frames_written = parse_frame_seeds(dirs["parse_frame"])
    model_seeds(dirs["xgboost_json"], dirs["compiled_model"], flowscore)
    config_seeds(dirs["config"])
    label_seeds(dirs["labels"])
    random_seeds(dirs["features"], 11)
    random_seeds(dirs["flow_table"], 12)
    eve_seeds(dirs["eve_report"], flowscore)
    for n, cell in enumerate(["0", "1234", "0.5", "-3.25e-05", "1e39", "+inf", "NaN", "", "0x1p3", " 7", "1.5.2",
                              "16777217", "1.17549435e-38"]):
        (dirs["feature_cell"] / f"cell-{n}").write_text(cell)
    print(f"fuzz seeds: {frames_written} frames, 3 models, configs and label files in {out}")


if __name__ == "__main__":
    main()
