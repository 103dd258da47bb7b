"""Checks that `flowscore predict` with the compiled model gives XGBoost's own
scores, bit for bit, on feature tables (the last step of scripts/pipeline).

Reference: XGBoost's in-place prediction from a dense float32 matrix (the
Python face of XGBoosterPredictFromDense), one thread, on model.json.
Both margins and probabilities are compared as float32 bit patterns.
Exit status: 0 identical, 1 any difference, 2 bad input.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

import flowmodel
import flowtable


def read_scores(path, rows, outputs):
    # The first line names the columns (the classes).
    values = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2, skiprows=1)
    if values.shape != (rows, outputs):
        raise flowtable.TableError(f"{path}: {values.shape[0]} rows of {values.shape[1]} values, "
                                   f"expected {rows} of {outputs}")
    return values


def compare(name, ours, reference):
    differs = ours.view(np.uint32) != reference.view(np.uint32)
    rows = np.flatnonzero(differs.any(axis=1))
    if len(rows):
        r = rows[0]
        print(f"verify: {name}: {len(rows)} of {len(ours)} rows differ; first row {r}: "
              f"flowscore {ours[r].tolist()} xgboost {reference[r].tolist()}", file=sys.stderr)
    return len(rows)


def main(argv):
    p = argparse.ArgumentParser(prog="verify_predict", description=__doc__.splitlines()[0])
    p.add_argument("--flowscore", required=True, help="the flowscore binary")
    p.add_argument("--model", required=True, help="model.json (the reference)")
    p.add_argument("--compiled", required=True, help="its compiled form")
    p.add_argument("--test", nargs="+", required=True, metavar="CSV")
    p.add_argument("--work", required=True, metavar="DIR", help="where score files go")
    args = p.parse_args(argv)
    try:
        booster, names = flowmodel.load(args.model)
    except ValueError as e:
        raise flowtable.TableError(str(e)) from None
    booster.set_param({"nthread": 1})
    os.makedirs(args.work, exist_ok=True)
    mismatched = 0
    for csv_path in args.test:
        table = flowtable.read_table(csv_path)
        missing = [n for n in booster.feature_names if n not in table.feature_names]
        if missing:
            raise flowtable.TableError(f"{csv_path}: no column for model feature(s) "
                                       f"{', '.join(missing)}")
        x = table.features[:, [table.feature_names.index(n) for n in booster.feature_names]]
        x = np.ascontiguousarray(x, dtype=np.float32)
        base = os.path.join(args.work, os.path.splitext(os.path.basename(csv_path))[0])
        for kind, flag in (("margin", ["--margin"]), ("value", [])):
            out = f"{base}.{kind}.csv"
            run = subprocess.run([args.flowscore, "predict", "--model", args.compiled, "--in",
                                  csv_path, "--out", out, *flag], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"verify: flowscore predict failed: {run.stderr.strip()}", file=sys.stderr)
                return 1
            reference = booster.inplace_predict(x, predict_type=kind, missing=np.nan)
            reference = np.asarray(reference, dtype=np.float32).reshape(len(table), -1)
            ours = read_scores(out, len(table), reference.shape[1])
            bad = compare(f"{os.path.basename(csv_path)} {kind}", ours, reference)
            mismatched += bad
            print(f"verify: {os.path.basename(csv_path)}: {kind}s of {len(table)} flows x "
                  f"{reference.shape[1]} outputs: {'identical' if bad == 0 else 'DIFFERENT'}")
    return 1 if mismatched else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except flowtable.TableError as e:
        print(f"verify: error: {e}", file=sys.stderr)
        sys.exit(2)
