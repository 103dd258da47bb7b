#!/usr/bin/python3
"""`flowscore predict` against XGBoost's own predictors on one feature table,
whole process, side by side in one run (issue 17).

The table: ROWS rows x 40 float columns of heavy-tailed flow-like values
(about 91 MB at 200,000 rows), a 300-tree depth-6 binary:logistic model
trained on a sample of it. Contenders, in rotated order each round:

  flowscore      flowscore predict (oneTBB, every core) --out FILE
  flowscore-1t   the same with --threads 1
  xgboost-cli    XGBoost 1.7's CLI (Debian `xgboost`), task=pred, nthread=1,
                 reading the same CSV without its header line
  xgboost-cli-2t the same with nthread=2
  python         /usr/bin/python3: numpy.loadtxt of the same CSV, then
                 Booster.inplace_predict (nthread=1), then numpy.savetxt;
                 the whole process, and its load/predict phases apart

Each time is the wall time of the whole process (exec to exit), median of
ROUNDS. Ratios are each contender's median over XGBoost CLI's median (and
over python's). Prints a Markdown table for docs/BENCHMARKS.md.

usage: bench/predict_vs_xgboost.py FLOWSCORE [--rows N] [--rounds N] [--work DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import xgboost as xgb

FEATURES = 40
TREES = 300

PYTHON_PREDICT = r"""
import sys, time, numpy as np, xgboost as xgb
t0 = time.perf_counter()
x = np.loadtxt(sys.argv[2], delimiter=",", dtype=np.float32, skiprows=1)
x = np.ascontiguousarray(x[:, 1:])  # the label column
t1 = time.perf_counter()
b = xgb.Booster(model_file=sys.argv[1]); b.set_param({"nthread": 1})
p = b.inplace_predict(x, predict_type="value")
t2 = time.perf_counter()
np.savetxt(sys.argv[3], p, fmt="%.9g")
t3 = time.perf_counter()
print(f"{t1 - t0} {t2 - t1} {t3 - t2}")
"""


def make_table(rows, seed):
    rng = np.random.default_rng(seed)
    cols = []
    for j in range(FEATURES):
        kind = j % 4
        if kind == 0:
            cols.append(rng.lognormal(6, 2, rows))              # byte counts
        elif kind == 1:
            cols.append(np.floor(rng.pareto(1.2, rows) * 3))    # packet counts
        elif kind == 2:
            cols.append(rng.exponential(0.5, rows))             # durations
        else:
            cols.append(rng.normal(0, 1, rows))                 # signed ratios
    x = np.stack(cols, axis=1).astype(np.float32)
    # A label the trees have to work for.
    y = ((np.log1p(np.abs(x[:, 0])) + x[:, 3] * 2 - np.log1p(x[:, 1]) + x[:, 7]) > 7).astype(np.float32)
    return x, y


def timed(cmd, **kwargs):
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({run.returncode}): {run.stderr.strip()}")
    return elapsed, run.stdout


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("flowscore")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--work", default=None, help="scratch directory (default: a new one in /dev/shm)")
    args = p.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="predict-bench-", dir="/dev/shm")
    os.makedirs(work, exist_ok=True)

    x, y = make_table(args.rows, 1)
    names = [f"f{j}" for j in range(FEATURES)]
    with_header, headerless = os.path.join(work, "table.csv"), os.path.join(work, "table.noheader.csv")
    # XGBoost's CLI reads CSV without a header and wants a label column.
    table = np.column_stack([y, x])
    np.savetxt(headerless, table, fmt="%.9g", delimiter=",")
    with open(with_header, "w") as out:
        out.write("label," + ",".join(names) + "\n")
        with open(headerless) as rest:
            while chunk := rest.read(1 << 24):
                out.write(chunk)
    size_mb = os.path.getsize(with_header) / 1e6

    sample = slice(0, min(args.rows, 50_000))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
                         "nthread": 2, "seed": 1},
                        xgb.DMatrix(x[sample], label=y[sample], feature_names=names), num_boost_round=TREES)
    model_json = os.path.join(work, "model.json")
    booster.save_model(model_json)
    compiled = os.path.join(work, "model.fsm")
    timed([args.flowscore, "compile", model_json, "-o", compiled, "--class-names", "benign,attack"])

    def cli_conf(threads):
        conf = os.path.join(work, f"pred{threads}.conf")
        with open(conf, "w") as c:
            c.write(f"task = pred\nmodel_in = {model_json}\nnthread = {threads}\n"
                    f"test:data = \"{headerless}?format=csv&label_column=0\"\n"
                    f"name_pred = {os.path.join(work, 'xgb_pred.txt')}\n")
        return conf

    ours_out = os.path.join(work, "scores.csv")
    contenders = {
        "flowscore": lambda: timed([args.flowscore, "predict", "--model", compiled, "--in", with_header,
                                    "--out", ours_out])[0],
        "flowscore-1t": lambda: timed([args.flowscore, "predict", "--model", compiled, "--in", with_header,
                                       "--out", ours_out, "--threads", "1"])[0],
        "xgboost-cli": lambda: timed(["xgboost", cli_conf(1)], cwd=work)[0],
        "xgboost-cli-2t": lambda: timed(["xgboost", cli_conf(2)], cwd=work)[0],
    }
    phases = {"load": [], "predict": [], "write": []}

    def python_run():
        elapsed, out = timed(["/usr/bin/python3", "-c", PYTHON_PREDICT, model_json, with_header,
                              os.path.join(work, "py_pred.txt")])
        for key, value in zip(("load", "predict", "write"), out.split()):
            phases[key].append(float(value))
        return elapsed

    contenders["python"] = python_run
    times = {name: [] for name in contenders}
    order = list(contenders)
    for r in range(args.rounds):
        rotated = order[r % len(order):] + order[:r % len(order)]
        for name in rotated:
            times[name].append(contenders[name]())

    # The same scores: ours are XGBoost's float32 values; the CLI prints
    # them rounded, so compare within that print precision.
    ours = np.loadtxt(ours_out, delimiter=",", skiprows=1, dtype=np.float32)
    cli = np.loadtxt(os.path.join(work, "xgb_pred.txt"), dtype=np.float32)
    reference = booster.inplace_predict(x, predict_type="value")
    identical = bool(np.array_equal(ours.view(np.uint32), np.asarray(reference, np.float32).view(np.uint32)))
    cli_close = float(np.max(np.abs(cli - ours)))

    median = {name: statistics.median(t) for name, t in times.items()}
    base, py = median["xgboost-cli"], median["python"]
    print(f"table: {args.rows} rows x {FEATURES} features, {size_mb:.1f} MB; model: {TREES} trees depth 6, "
          f"binary:logistic; {args.rounds} rounds")
    print(f"scores: flowscore == XGBoost inplace_predict bit for bit: {identical}; "
          f"max |flowscore - xgboost CLI| = {cli_close:.2g} (the CLI prints rounded)")
    print()
    print("| contender | median s | × XGBoost CLI (nthread=1) | × python load+predict+write |")
    print("|---|---:|---:|---:|")
    for name, m in median.items():
        print(f"| {name} | {m:.3f} | {m / base:.3f} | {m / py:.3f} |")
    print()
    print("python phases, median s: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in phases.items()))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
