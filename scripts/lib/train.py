"""scripts/train: trains a flowscore XGBoost model from `flowscore extract` tables.

See docs/TRAINING.md. Exit status: 0 success, 2 bad input (the message says
what and where), 1 anything else.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import xgboost as xgb

import flowmodel
import flowtable
import report
from metrics import compute_metrics
from splits import group_split


def default_flowscore():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get("FLOWSCORE") or os.path.join(root, "build", "src", "cli", "flowscore")


def default_feature_spec(flowscore, table_names):
    """The version to record without --feature-spec: flowscore's default
    configuration's, when the tables have exactly its columns. `run` refuses a
    model whose version differs from its own (docs/FEATURES.md), so tables
    extracted with other features.* settings need --feature-spec."""
    try:
        out = subprocess.run([flowscore, "feature-spec"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        spec = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        warn(f"cannot ask {flowscore} for the feature spec ({e}); the model records no "
             "feature_spec_version and `flowscore run` cannot check its feature settings "
             "(pass --feature-spec or --flowscore)")
        return None
    if list(table_names) != spec["features"]:
        warn("the tables' columns are not flowscore's default features; the model records no "
             "feature_spec_version (pass --feature-spec, from `flowscore feature-spec`)")
        return None
    print(f"train: feature spec {spec['version']!r} (flowscore's default configuration; "
          "pass --feature-spec if extract ran with other features.* settings)")
    return spec["version"]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/train", description=__doc__.splitlines()[0])
    p.add_argument("--train", nargs="+", required=True, metavar="CSV",
                   help="feature tables from flowscore extract")
    p.add_argument("--valid", nargs="+", metavar="CSV",
                   help="explicit validation tables (default: split --train by input)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--valid-fraction", type=float, default=0.2,
                   help="share of flows, in whole inputs, held out for early stopping; "
                        "0 = no validation, train --n-estimators rounds (default 0.2)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-depth", type=int, default=6)
    p.add_argument("--n-estimators", type=int, default=200, help="maximum boosting rounds")
    p.add_argument("--learning-rate", type=float, default=0.1)
    p.add_argument("--early-stopping", type=int, default=20, metavar="ROUNDS")
    p.add_argument("--class-weight", choices=("balanced", "sqrt", "none"), default="balanced",
                   help="per-flow weight against class imbalance (default balanced: "
                        "n / (k * n_class))")
    p.add_argument("--weight", action="append", default=[], metavar="CSV=W",
                   help="multiply the weight of every flow of the --train table CSV by W "
                        "(repeatable): real captures are few beside generated seeds")
    p.add_argument("--benign-label", default="benign", help="the label that is class 0")
    p.add_argument("--attack-label", metavar="NAME",
                   help="train benign vs NAME: every other label becomes NAME "
                        "(binary:logistic, one tree per round instead of one per class)")
    p.add_argument("--merge", action="append", default=[], metavar="FAMILY=A,B,...",
                   help="train labels A, B, ... as one class FAMILY (repeatable): for attacks "
                        "one flow cannot tell apart, e.g. a lone SYN of a scan or of a flood")
    p.add_argument("--classes", metavar="A,B,...",
                   help="expected attack/benign labels; any without training flows is "
                        "reported and left out of the model")
    p.add_argument("--feature-spec", metavar="FILE",
                   help="feature names the tables must have (JSON or one per line); its "
                        "\"version\" is recorded as the model's feature_spec_version. Default: "
                        "`flowscore feature-spec` of flowscore's default configuration")
    p.add_argument("--flowscore", metavar="BIN", default=default_flowscore(),
                   help="flowscore binary asked for the default feature spec "
                        "(default: $FLOWSCORE, else build/src/cli/flowscore)")
    p.add_argument("--threads", type=int, default=0, help="XGBoost threads (0 = all cores)")
    args = p.parse_args(argv)
    if not 0 <= args.valid_fraction < 1:
        p.error("--valid-fraction must be in [0, 1)")
    if args.max_depth < 1 or args.n_estimators < 1 or args.learning_rate <= 0:
        p.error("--max-depth and --n-estimators must be >= 1, --learning-rate > 0")
    return args


def parse_table_weights(specs, train_paths):
    """--weight CSV=W options -> {CSV: W}; CSV must be one of the --train tables."""
    weights = {}
    for spec in specs:
        path, sep, value = spec.rpartition("=")
        try:
            w = float(value)
        except ValueError:
            w = -1
        if not sep or not path or not w > 0:
            raise flowtable.TableError(f"--weight wants CSV=W with W > 0, got '{spec}'")
        if path not in train_paths:
            raise flowtable.TableError(f"--weight: '{path}' is not one of the --train tables")
        weights[path] = w
    return weights


def warn(msg):
    print(f"train: warning: {msg}", file=sys.stderr)


def class_weights(y, k, scheme):
    counts = np.bincount(y, minlength=k).astype(np.float64)
    if scheme == "none":
        per_class = np.ones(k)
    else:
        per_class = np.divide(len(y), k * counts, out=np.zeros(k), where=counts > 0)
        if scheme == "sqrt":
            per_class = np.sqrt(per_class)
    return per_class[y].astype(np.float32), per_class


def choose_classes(args, train, valid):
    """Class list with benign first; drops (and reports) labels without training flows."""
    present = sorted(set(train.labels))
    if args.benign_label not in present:
        raise flowtable.TableError(
            f"no training flow is labelled {args.benign_label!r} (labels: {', '.join(present)}); "
            "class 0 must be benign (see --benign-label)")
    expected = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else []
    for c in expected:
        if c not in present:
            warn(f"class {c!r} has no training flows: left out of the model")
    unexpected = [c for c in present if expected and c not in expected]
    if unexpected:
        warn(f"labels not in --classes, trained anyway: {', '.join(unexpected)}")
    if valid is not None:
        for c in sorted(set(valid.labels) - set(present)):
            warn(f"class {c!r} occurs only in validation flows: "
                 f"{int((valid.labels == c).sum())} flows dropped from validation")
    names = [args.benign_label] + [c for c in present if c != args.benign_label]
    if len(names) < 2:
        raise flowtable.TableError(f"only one class ({names[0]}) in the training flows: "
                                   "nothing to learn")
    return names


def parse_merges(specs):
    """--merge FAMILY=A,B,... options -> {label: family}."""
    label_map = {}
    for spec in specs:
        family, sep, members = spec.partition("=")
        if not sep or not family or not members:
            raise flowtable.TableError(f"--merge wants FAMILY=A,B,..., got '{spec}'")
        for label in members.split(","):
            if label in label_map:
                raise flowtable.TableError(f"--merge: label '{label}' is in two families")
            label_map[label] = family
    return label_map


def apply_label_map(table, label_map):
    if label_map:
        table.labels = np.array([label_map.get(l, l) for l in table.labels], dtype=object)


def collapse_attacks(table, benign_label, attack_label):
    table.labels = np.where(table.labels == benign_label, benign_label,
                            attack_label).astype(object)


def encode(table, names):
    index = {n: i for i, n in enumerate(names)}
    return np.array([index.get(label, -1) for label in table.labels], dtype=np.int64)


class Fit:
    """What training produced: the booster and everything the outputs describe."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def load_tables(args):
    """(train, valid or None, notes): the tables, validated and split by input."""
    table = flowtable.read_tables(args.train, parse_table_weights(args.weight, args.train))
    spec_version = None
    if args.feature_spec:
        spec_names, spec_version = flowtable.read_feature_spec(args.feature_spec)
        flowtable.check_feature_spec(table.feature_names, spec_names, args.train[0])
    else:
        spec_version = default_feature_spec(args.flowscore, table.feature_names)
    bad_names = [n for n in table.feature_names if any(ch in n for ch in "[]<,")]
    if bad_names:
        raise flowtable.TableError(f"feature names XGBoost cannot store: {', '.join(bad_names)}")
    notes = []
    label_map = parse_merges(args.merge)
    apply_label_map(table, label_map)
    if args.attack_label:
        collapse_attacks(table, args.benign_label, args.attack_label)
    if args.valid:
        train, valid = table, flowtable.read_tables(args.valid)
        apply_label_map(valid, label_map)
        if args.attack_label:
            collapse_attacks(valid, args.benign_label, args.attack_label)
        if valid.feature_names != train.feature_names:
            raise flowtable.TableError(
                f"{args.valid[0]}: feature columns differ from the training tables: "
                f"{flowtable.describe_difference(train.feature_names, valid.feature_names)}")
        shared = sorted(set(train.inputs) & set(valid.inputs))
        if shared:
            raise flowtable.TableError(f"inputs in both --train and --valid: {', '.join(shared)}")
    elif args.valid_fraction > 0:
        try:
            train_mask, valid_mask, notes = group_split(table.inputs, table.labels,
                                                        args.valid_fraction, args.seed)
        except ValueError as e:
            raise flowtable.TableError(str(e)) from None
        train, valid = table.subset(train_mask), table.subset(valid_mask)
    else:
        train, valid = table, None
    return train, valid, notes, spec_version


def fit(args):
    """Reads the tables and trains; writes nothing."""
    train, valid, notes, spec_version = load_tables(args)
    for n in notes:
        warn(n)
    names = choose_classes(args, train, valid)
    k = len(names)
    y_train = encode(train, names)
    w_train, per_class_weight = class_weights(y_train, k, args.class_weight)
    w_train *= train.sample_weight
    dtrain = xgb.DMatrix(train.features, label=y_train, weight=w_train, missing=np.nan,
                         feature_names=train.feature_names)
    params = {
        "objective": "binary:logistic" if k == 2 else "multi:softprob",
        "eval_metric": "logloss" if k == 2 else "mlogloss",
        "tree_method": "hist",
        "max_depth": args.max_depth,
        "eta": args.learning_rate,
        "seed": args.seed,
        "nthread": args.threads,
    }
    if k > 2:
        params["num_class"] = k
    evals, y_valid = [(dtrain, "train")], None
    if valid is not None:
        y_valid = encode(valid, names)
        known = y_valid >= 0
        valid, y_valid = valid.subset(known), y_valid[known]
        if len(valid) == 0:
            raise flowtable.TableError("no validation flow has a class the model trains on")
        w_valid, _ = class_weights(y_valid, k, args.class_weight)
        w_valid *= valid.sample_weight
        dvalid = xgb.DMatrix(valid.features, label=y_valid, weight=w_valid, missing=np.nan,
                             feature_names=valid.feature_names)
        evals.append((dvalid, "valid"))
    booster = xgb.train(params, dtrain, num_boost_round=args.n_estimators, evals=evals,
                        verbose_eval=False,
                        early_stopping_rounds=args.early_stopping if valid is not None else None)
    rounds = booster.best_iteration + 1 if valid is not None else args.n_estimators
    # Keep only the rounds early stopping chose, so model.json holds exactly
    # the trees that are evaluated here and compiled later.
    booster = booster[:rounds]
    return Fit(booster=booster, names=names, train=train, y_train=y_train, valid=valid,
               y_valid=y_valid, notes=notes, params=params, rounds=rounds,
               per_class_weight=per_class_weight, spec_version=spec_version)


def main(argv):
    args = parse_args(argv)
    started = time.time()
    r = fit(args)
    booster, names, train, valid, params, rounds = (r.booster, r.names, r.train, r.valid,
                                                    r.params, r.rounds)
    k, y_train, y_valid, notes = len(names), r.y_train, r.y_valid, r.notes
    per_class_weight, spec_version = r.per_class_weight, r.spec_version

    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "model.json")
    attributes = {"objective_classes": str(k), "trained_rounds": str(rounds),
                  "training_inputs": json.dumps(sorted(set(train.inputs))),
                  "validation_inputs": json.dumps([] if valid is None else sorted(set(valid.inputs)))}
    if spec_version:
        attributes["feature_spec_version"] = spec_version
    if args.attack_label:
        attributes["attack_label"] = args.attack_label
    if args.merge:
        attributes["label_map"] = json.dumps(parse_merges(args.merge), sort_keys=True)
    flowmodel.save(booster, model_path, names, attributes)

    # Metrics on the validation split only: held-out inputs. In-sample scores
    # on the training split say nothing about a new scenario.
    context = {
        "train tables": " ".join(args.train),
        "training inputs": len(set(train.inputs)),
        "training flows": len(train),
        "validation inputs": "none" if valid is None else " ".join(sorted(set(valid.inputs))),
        "validation flows": 0 if valid is None else len(valid),
        "classes": ", ".join(names),
        "class weights": ", ".join(f"{n}={w:.3g}" for n, w in zip(names, per_class_weight)),
        "boosting rounds": rounds,
        "trees": rounds * (1 if k == 2 else k),
        "params": json.dumps(params),
        "seconds": round(time.time() - started, 1),
    }
    gain = booster.get_score(importance_type="gain")
    result = {"model": "model.json", "classes": names, "rounds": rounds,
              "trees": rounds * (1 if k == 2 else k), "params": params,
              "training": {"inputs": sorted(set(train.inputs)), "flows": len(train),
                           "per_class": {n: int((y_train == i).sum()) for i, n in enumerate(names)}},
              "warnings": notes}
    if valid is not None:
        proba = flowmodel.predict_proba(booster, valid.features, valid.feature_names, k)
        result["validation"] = compute_metrics(y_valid, proba, names)
        result["validation"]["inputs"] = sorted(set(valid.inputs))
        title = "flowscore training report (validation split: held-out inputs)"
        report.write_report(args.out, title, result["validation"], y_valid, proba, 0, gain, context)
    else:
        warn("no validation split: metrics.json has no held-out metrics; run scripts/evaluate")
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    summary = result.get("validation")
    if summary:
        b = summary["benign_vs_attack"]
        print(f"train: {len(train)} flows, {k} classes, {rounds} rounds -> {model_path}; "
              f"validation macro F1 {summary['macro_f1']:.4f}, benign FPR "
              f"{report.fmt(b['benign_fpr'])}")
    else:
        print(f"train: {len(train)} flows, {k} classes, {rounds} rounds -> {model_path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except flowtable.TableError as e:
        print(f"train: error: {e}", file=sys.stderr)
        sys.exit(2)
