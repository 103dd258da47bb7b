"""scripts/evaluate: scores held-out `flowscore extract` tables with a trained model.

Writes metrics.json, report.html with its plots, and predictions.csv (the
model's class probabilities per flow, float32 printed to round-trip). See
docs/TRAINING.md. Exit status: 0 success, 2 bad input, 1 anything else.
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np

import flowmodel
import flowtable
import report
from metrics import class_thresholds, compute_metrics, false_alerts_per_10k, per_input


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, metavar="MODEL_JSON")
    p.add_argument("--test", nargs="+", required=True, metavar="CSV")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--feature-spec", metavar="FILE",
                   help="feature names the tables must have (JSON or one per line)")
    p.add_argument("--no-predictions", action="store_true", help="do not write predictions.csv")
    p.add_argument("--config", metavar="FILE", default=default_config(),
                   help="flowscore config whose class thresholds give the expected false alerts "
                        "(default: %(default)s)")
    return p.parse_args(argv)


def default_config():
    """The config flowscore itself would read: $FLOWSCORE_CONFIG, the source
    tree's conf/ beside these scripts, or the installed /etc/flowscore."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get("FLOWSCORE_CONFIG"), os.path.join(here, "..", "..", "conf", "flowscore.json"),
                 "/etc/flowscore/flowscore.json"):
        if path and os.path.exists(path):
            return os.path.normpath(path)
    return None


def flowscore_version():
    here = os.path.dirname(os.path.abspath(__file__))
    for exe in (os.path.join(here, "..", "..", "build", "src", "cli", "flowscore"), shutil.which("flowscore")):
        if exe and os.path.exists(exe):
            try:
                out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
                return out.splitlines()[0] if out else "unknown"
            except (OSError, subprocess.SubprocessError):
                pass
    return "unknown"


def warn(msg):
    print(f"evaluate: warning: {msg}", file=sys.stderr)


def align_features(table, model_names, source):
    """The table's columns in the model's order; missing ones are an error."""
    missing = [n for n in model_names if n not in table.feature_names]
    if missing:
        raise flowtable.TableError(
            f"{source}: feature columns do not match the model: "
            f"{flowtable.describe_difference(model_names, table.feature_names)}")
    extra = [n for n in table.feature_names if n not in model_names]
    if extra:
        warn(f"{source}: columns the model does not use are ignored: {', '.join(extra)}")
    index = [table.feature_names.index(n) for n in model_names]
    return table.features[:, index]


def write_predictions(path, table, y_true, proba, class_names):
    with open(path, "w", encoding="utf-8") as f:
        f.write("input,label," + ",".join(f"p_{n}" for n in class_names) + "\n")
        for i in range(len(table)):
            # %.9g round-trips a float32 exactly.
            f.write(f"{table.inputs[i]},{table.labels[i]}," +
                    ",".join(f"{v:.9g}" for v in proba[i].tolist()) + "\n")


def main(argv):
    args = parse_args(argv)
    try:
        booster, names = flowmodel.load(args.model)
    except ValueError as e:
        raise flowtable.TableError(str(e)) from None
    table = flowtable.read_tables(args.test)
    if args.feature_spec:
        spec_names, _ = flowtable.read_feature_spec(args.feature_spec)
        flowtable.check_feature_spec(table.feature_names, spec_names, args.test[0])
    features = align_features(table, booster.feature_names, args.test[0])
    for role in ("training", "validation"):
        seen = set(json.loads(booster.attr(f"{role}_inputs") or "[]"))
        overlap = sorted(seen & set(table.inputs))
        if overlap:
            warn(f"the test set has inputs the model used for {role}: {', '.join(overlap)}; "
                 "these metrics are not held-out")
    if booster.attr("label_map"):
        # Labels the model was trained to see as one family (train --merge).
        label_map = json.loads(booster.attr("label_map"))
        table.labels = np.array([label_map.get(l, l) for l in table.labels], dtype=object)
    if booster.attr("attack_label"):
        # A benign-vs-attack model: every attack label is its one attack class.
        table.labels = np.where(table.labels == names[0], names[0],
                                booster.attr("attack_label")).astype(object)
    index = {n: i for i, n in enumerate(names)}
    y_true = np.array([index.get(label, -1) for label in table.labels], dtype=np.int64)
    unknown = {}
    for label in table.labels[y_true < 0]:
        unknown[label] = unknown.get(label, 0) + 1
    if unknown:
        warn("labels the model has no class for (counted as attack in benign-vs-attack "
             "metrics only): " + ", ".join(f"{k} ({v})" for k, v in sorted(unknown.items())))
    proba = flowmodel.predict_proba(booster, features, booster.feature_names, len(names))
    metrics = compute_metrics(y_true, proba, names, extra_attack=unknown)
    metrics["inputs"] = sorted(set(table.inputs))
    metrics["model"] = os.path.abspath(args.model)
    config = None
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as e:
            raise flowtable.TableError(f"--config {args.config}: {e}") from None
    thresholds = class_thresholds(config, names)
    metrics["false_alerts"] = false_alerts_per_10k(y_true, proba, names, thresholds)
    metrics["per_input"] = per_input(table.inputs, table.labels, y_true, proba, names, thresholds)
    with open(args.model, "rb") as f:
        model_hash = hashlib.sha256(f.read()).hexdigest()[:12]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    if not args.no_predictions:
        write_predictions(os.path.join(args.out, "predictions.csv"), table, y_true, proba, names)
    context = {"model": args.model, "model sha256": model_hash, "flowscore": flowscore_version(),
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "thresholds from": args.config or "(defaults: 0.5)",
               "class thresholds": ", ".join(f"{k} {v:g}" for k, v in thresholds.items()),
               "test tables": " ".join(args.test), "test inputs": " ".join(metrics["inputs"])}
    report.write_report(args.out, "flowscore evaluation report (held-out tables)", metrics,
                        y_true, proba, 0, booster.get_score(importance_type="gain"), context)
    b = metrics["benign_vs_attack"]
    print(f"evaluate: {len(table)} flows; macro F1 {report.fmt(metrics['macro_f1'])}; "
          f"benign FPR {report.fmt(b['benign_fpr'])}; "
          f"attack detection {report.fmt(b['attack_detection_rate'])} -> {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except flowtable.TableError as e:
        print(f"evaluate: error: {e}", file=sys.stderr)
        sys.exit(2)
