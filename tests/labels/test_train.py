"""scripts/train and scripts/evaluate on synthetic feature tables.

Run by meson (tests/labels/meson.build) as:
    /usr/bin/python3 tests/labels/test_train.py SOURCE_ROOT
Synthetic tables have the `flowscore extract` layout, separable classes with
per-input shifts (each input is a "scenario"), and missing values.
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

import numpy as np

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
sys.argv[1:] = []
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))

import flowmodel  # noqa: E402
import flowtable  # noqa: E402
import splits  # noqa: E402
import train  # noqa: E402
import xgboost as xgb  # noqa: E402

METADATA = "flow_id,input,src_ip,src_port,dest_ip,dest_port,proto,start,end,label"
FEATURES = [f"f{i}_us" for i in range(10)]
CLASSES = ["benign", "syn_flood", "port_scan", "c2_beacon"]


def synthetic_rows(rng, input_name, per_class, classes=CLASSES):
    """Rows of one input: class c has mean 3*c on features c and c+4, noise 1."""
    shift = rng.normal(0, 0.3, len(FEATURES))  # the scenario's own offsets
    rows = []
    for c, name in enumerate(CLASSES):
        if name not in classes:
            continue
        for _ in range(per_class.get(name, 0)):
            x = rng.normal(0, 1, len(FEATURES)) + shift
            x[c] += 3.0 * c + 3.0
            x[c + 4] += 3.0 * c
            cells = [f"{v:.9g}" for v in x.astype(np.float32)]
            if rng.random() < 0.1:
                cells[9] = ""  # missing
            if rng.random() < 0.05:
                cells[8] = "nan"
            rows.append([str(len(rows)), input_name, "10.0.0.1", "1234", "10.0.0.2", "80", "6",
                         "1700000000.000001", "1700000001.000000", name] + cells)
    return rows


def write_csv(path, rows, features=FEATURES, metadata=METADATA):
    with open(path, "w", newline="") as f:
        f.write(metadata + "," + ",".join(features) + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def run(tool, *args):
    return subprocess.run([os.path.join(ROOT, "scripts", tool), *args], capture_output=True,
                          text=True, timeout=600)


class TrainEvaluate(unittest.TestCase):
    """One training run shared by the tests that read its outputs."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        rng = np.random.default_rng(5)
        counts = {"benign": 400, "syn_flood": 60, "port_scan": 40, "c2_beacon": 15}
        cls.train_csvs = []
        for i in range(8):
            rows = synthetic_rows(rng, f"train-{i}.pcap", counts)
            cls.train_csvs.append(write_csv(os.path.join(d, f"train-{i}.csv"), rows))
        test_rows = []
        for i in range(2):
            test_rows += synthetic_rows(rng, f"test-{i}.pcap", counts)
        cls.test_csv = write_csv(os.path.join(d, "test.csv"), test_rows)
        cls.model_dir = os.path.join(d, "model")
        cls.eval_dir = os.path.join(d, "eval")
        cls.train_args = ["--train", *cls.train_csvs, "--out", cls.model_dir, "--seed", "3",
                          "--n-estimators", "60", "--valid-fraction", "0.25", "--threads", "1"]
        cls.trained = run("train", *cls.train_args)
        cls.evaluated = run("evaluate", "--model", os.path.join(cls.model_dir, "model.json"),
                            "--test", cls.test_csv, "--out", cls.eval_dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_train_and_evaluate_succeed(self):
        self.assertEqual(self.trained.returncode, 0, self.trained.stderr)
        self.assertEqual(self.evaluated.returncode, 0, self.evaluated.stderr)
        for d in (self.model_dir, self.eval_dir):
            for name in ("metrics.json", "report.html", "confusion_matrix.png", "roc.png",
                         "pr.png", "feature_importance.png", "score_distributions.png"):
                self.assertTrue(os.path.getsize(os.path.join(d, name)) > 0, name)
        self.assertTrue(os.path.exists(os.path.join(self.model_dir, "model.classes.json")))

    def test_held_out_inputs_score_above_floor(self):
        with open(os.path.join(self.eval_dir, "metrics.json")) as f:
            m = json.load(f)
        self.assertEqual(m["classes"], CLASSES[:1] + sorted(CLASSES[1:]))
        self.assertGreater(m["macro_f1"], 0.9)
        b = m["benign_vs_attack"]
        self.assertGreater(b["roc_auc"], 0.98)
        self.assertLess(b["benign_fpr"], 0.05)
        self.assertEqual(b["benign_flows"], 800)
        self.assertEqual(sum(c["support"] for c in m["per_class"].values()), 1030)
        # The confusion matrix and the per-class support tell the same story.
        cm = np.array(m["confusion_matrix"])
        for i, name in enumerate(m["classes"]):
            self.assertEqual(cm[i].sum(), m["per_class"][name]["support"])

    def test_model_card_counts_false_alerts_and_stands_alone(self):
        # The expected false alerts per class, recounted from predictions.csv
        # with the shipped config's thresholds; the page carries its plots.
        with open(os.path.join(self.eval_dir, "metrics.json")) as f:
            m = json.load(f)
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf", "flowscore.json")) as f:
            model_cfg = json.load(f)["model"]
        with open(os.path.join(self.eval_dir, "predictions.csv")) as f:
            rows = list(csv.DictReader(f))
        classes = m["classes"]
        counts = {c: 0 for c in classes[1:]}
        for r in rows:
            if r["label"] != classes[0]:
                continue
            p = [float(r[f"p_{c}"]) for c in classes]
            best = max(range(len(p)), key=lambda i: (p[i], -i))
            if best == 0:
                continue
            cfg = model_cfg.get("classes", {}).get(classes[best], {})
            if p[best] >= cfg.get("threshold", model_cfg.get("default_threshold", 0.5)):
                counts[classes[best]] += 1
        fa = m["false_alerts"]
        self.assertEqual(fa["benign_flows"], 800)
        self.assertEqual({c: v["false_alerts"] for c, v in fa["per_class"].items()}, counts)
        for c, v in fa["per_class"].items():
            self.assertAlmostEqual(v["per_10k_benign"], 1e4 * counts[c] / 800)
        self.assertEqual(set(m["per_input"]), {"test-0.pcap", "test-1.pcap"})
        self.assertEqual(sum(v["flows"] for v in m["per_input"].values()), 1030)
        with open(os.path.join(self.eval_dir, "report.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("Expected false alerts", page)
        self.assertIn('class="confusion"', page)
        self.assertEqual(page.count("data:image/png;base64,"), 4)  # roc, pr, importance, scores
        self.assertNotIn('src="', page.replace('src="data:', ""))  # no file or URL the page depends on
        for field in ("model sha256", "flowscore", "date", "class thresholds"):
            self.assertIn(f"<td>{field}</td>", page)

    def test_split_never_shares_an_input(self):
        with open(os.path.join(self.model_dir, "metrics.json")) as f:
            m = json.load(f)
        trained_on = set(m["training"]["inputs"])
        validated_on = set(m["validation"]["inputs"])
        self.assertFalse(trained_on & validated_on)
        self.assertEqual(trained_on | validated_on, {f"train-{i}.pcap" for i in range(8)})
        self.assertEqual(len(validated_on), 2)  # 25% of 8 equal-sized inputs

    def test_saved_json_predicts_like_the_in_memory_booster(self):
        args = train.parse_args(self.train_args)
        with redirect_stderr(io.StringIO()):
            fitted = train.fit(args)
        table = flowtable.read_table(self.test_csv)
        # Adversarial rows on top: missing everywhere, extremes, above 2^24.
        # (XGBoost refuses infinities in a DMatrix, so tables never carry them.)
        extra = np.array([[np.nan] * 10, [3.4e38] * 10, [-3.4e38] * 10, [16777217.0] * 10,
                          [0.0] * 10], dtype=np.float32)
        x = np.concatenate([table.features, extra])
        dm = xgb.DMatrix(x, missing=np.nan, feature_names=table.feature_names)
        in_memory = fitted.booster.predict(dm)
        path = os.path.join(self.tmp.name, "roundtrip.json")
        flowmodel.save(fitted.booster, path, fitted.names, {})
        reloaded, names = flowmodel.load(path)
        self.assertEqual(names, fitted.names)
        self.assertEqual(reloaded.feature_names, FEATURES)
        self.assertTrue(np.array_equal(reloaded.predict(dm), in_memory))
        self.assertTrue(np.array_equal(reloaded.predict(dm, output_margin=True),
                                       fitted.booster.predict(dm, output_margin=True)))
        # The model scripts/train wrote is the same model (same seed, same data).
        written, _ = flowmodel.load(os.path.join(self.model_dir, "model.json"))
        self.assertTrue(np.array_equal(written.predict(dm), in_memory))
        # evaluate's predictions.csv round-trips float32 exactly.
        with open(os.path.join(self.eval_dir, "predictions.csv")) as f:
            next(f)
            printed = np.array([[np.float32(v) for v in line.rstrip("\n").split(",")[2:]]
                                for line in f], dtype=np.float32)
        self.assertTrue(np.array_equal(printed, in_memory[:len(table)]))

    def test_saved_model_holds_only_the_chosen_rounds(self):
        model, names = flowmodel.load(os.path.join(self.model_dir, "model.json"))
        with open(os.path.join(self.model_dir, "metrics.json")) as f:
            m = json.load(f)
        self.assertEqual(len(model.get_dump()), m["rounds"] * len(names))
        self.assertEqual(json.loads(model.attr("class_names")), names)


class GroupSplit(unittest.TestCase):
    def test_groups_stay_whole_and_classes_are_covered(self):
        rng = np.random.default_rng(1)
        for seed in range(30):
            n_groups = int(rng.integers(2, 12))
            inputs = rng.integers(0, n_groups, 2000).astype(str)
            labels = np.where(rng.random(2000) < 0.8, "benign",
                              rng.choice(["a", "b", "c"], 2000))
            tr, va, _ = splits.group_split(inputs, labels, 0.2, seed)
            self.assertTrue(np.array_equal(tr, ~va))
            self.assertFalse(set(inputs[tr]) & set(inputs[va]))
            self.assertTrue(va.any() and tr.any())
            self.assertEqual(set(labels[tr]), set(labels))

    def test_rare_class_in_one_input_stays_in_training(self):
        inputs = np.array(["a"] * 50 + ["b"] * 50 + ["c"] * 50 + ["d"] * 5)
        labels = np.array(["benign"] * 150 + ["exfil"] * 5)
        for seed in range(10):
            tr, va, notes = splits.group_split(inputs, labels, 0.3, seed)
            self.assertTrue(tr[-5:].all())
            self.assertTrue(any("'exfil' has no validation flows" in n for n in notes), notes)

    def test_seeded(self):
        inputs = np.repeat(np.arange(10).astype(str), 10)
        labels = np.array(["benign"] * 100)
        a = splits.group_split(inputs, labels, 0.3, 7)[1]
        b = splits.group_split(inputs, labels, 0.3, 7)[1]
        self.assertTrue(np.array_equal(a, b))


class ReadTable(unittest.TestCase):
    def test_empty_cells_are_missing_when_every_cell_is_short(self):
        # A table of one-packet flows: every feature cell is "", "0" or "1".
        # numpy sizes a string array to its longest cell, which once turned
        # "nan" into "na" and refused the table.
        with tempfile.TemporaryDirectory() as d:
            rows = [[0, "a.pcap", "10.0.0.1", 1, "10.0.0.2", 2, 17, 0, 0, "benign"] +
                    ["1", "", "0", "", "1", "0", "", "", "1", "0"],
                    [1, "a.pcap", "10.0.0.1", 3, "10.0.0.2", 4, 17, 0, 0, "benign"] +
                    ["", "1", "", "0", "", "", "1", "1", "", ""]]
            table = flowtable.read_table(write_csv(os.path.join(d, "short.csv"), rows))
        want = np.array([[1, np.nan, 0, np.nan, 1, 0, np.nan, np.nan, 1, 0],
                         [np.nan, 1, np.nan, 0, np.nan, np.nan, 1, 1, np.nan, np.nan]],
                        dtype=np.float32)
        self.assertTrue(np.array_equal(table.features, want, equal_nan=True))


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.rng = np.random.default_rng(9)

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.d, name)

    def good_csvs(self, n=3, counts=None):
        counts = counts or {"benign": 50, "syn_flood": 20}
        return [write_csv(self.path(f"in{i}.csv"),
                          synthetic_rows(self.rng, f"in{i}.pcap", counts)) for i in range(n)]

    def assert_fails(self, tool, args, *needles):
        r = run(tool, *args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for needle in needles:
            self.assertIn(needle, r.stderr)
        self.assertFalse(os.path.exists(self.path("out/model.json")))

    def test_empty_csv(self):
        open(self.path("empty.csv"), "w").close()
        self.assert_fails("train", ["--train", self.path("empty.csv"), "--out", self.path("out")],
                          "empty.csv: empty file")

    def test_header_only(self):
        p = write_csv(self.path("h.csv"), [])
        self.assert_fails("train", ["--train", p, "--out", self.path("out")],
                          "h.csv: header but no flows")

    def test_not_an_extract_table(self):
        with open(self.path("x.csv"), "w") as f:
            f.write("a,b,c\n1,2,3\n")
        self.assert_fails("train", ["--train", self.path("x.csv"), "--out", self.path("out")],
                          "x.csv:1: not a flowscore extract table", "flow_id")

    def test_bad_cell_names_line(self):
        rows = synthetic_rows(self.rng, "a.pcap", {"benign": 5})
        rows[3][12] = "12abc"
        p = write_csv(self.path("bad.csv"), rows)
        self.assert_fails("train", ["--train", p, "--out", self.path("out")],
                          "bad.csv:5: not a number: '12abc'")

    def test_infinite_value_names_line(self):
        rows = synthetic_rows(self.rng, "a.pcap", {"benign": 5})
        rows[2][15] = "inf"
        p = write_csv(self.path("inf.csv"), rows)
        self.assert_fails("train", ["--train", p, "--out", self.path("out")],
                          "inf.csv:4: infinite value 'inf'")

    def test_ragged_row(self):
        rows = synthetic_rows(self.rng, "a.pcap", {"benign": 5})
        rows[1] = rows[1][:-1]
        p = write_csv(self.path("r.csv"), rows)
        self.assert_fails("train", ["--train", p, "--out", self.path("out")],
                          "r.csv:3: 19 cells, the header has 20")

    def test_feature_spec_mismatch_lists_columns(self):
        csvs = self.good_csvs()
        with open(self.path("spec.txt"), "w") as f:
            f.write("# features v1\n" + "\n".join(FEATURES[:9] + ["g_new"]) + "\n")
        self.assert_fails("train", ["--train", *csvs, "--out", self.path("out"),
                                    "--feature-spec", self.path("spec.txt")],
                          "missing g_new", "unexpected f9_us")
        with open(self.path("spec.json"), "w") as f:
            json.dump({"version": "v1", "features": [{"name": n} for n in FEATURES]}, f)
        r = run("train", "--train", *csvs, "--out", self.path("ok"), "--feature-spec",
                self.path("spec.json"), "--n-estimators", "5", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        model, _ = flowmodel.load(self.path("ok/model.json"))
        self.assertEqual(model.attr("feature_spec_version"), "v1")

    def test_tables_with_different_columns(self):
        a = write_csv(self.path("a.csv"), synthetic_rows(self.rng, "a.pcap", {"benign": 5}))
        b = write_csv(self.path("b.csv"), synthetic_rows(self.rng, "b.pcap", {"benign": 5}),
                      features=FEATURES[:9] + ["other"])
        self.assert_fails("train", ["--train", a, b, "--out", self.path("out")],
                          "feature columns differ", "missing f9_us", "unexpected other")

    def test_one_class_only(self):
        csvs = self.good_csvs(counts={"benign": 30})
        self.assert_fails("train", ["--train", *csvs, "--out", self.path("out")],
                          "only one class (benign)")

    def test_no_benign(self):
        csvs = self.good_csvs(counts={"syn_flood": 30, "port_scan": 30})
        self.assert_fails("train", ["--train", *csvs, "--out", self.path("out")],
                          "no training flow is labelled 'benign'")

    def test_single_input_cannot_be_split(self):
        csvs = self.good_csvs(n=1)
        self.assert_fails("train", ["--train", *csvs, "--out", self.path("out")],
                          "come from one input", "--valid-fraction 0")
        r = run("train", "--train", *csvs, "--out", self.path("ok"), "--valid-fraction", "0",
                "--n-estimators", "5", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no validation split", r.stderr)

    def test_expected_class_without_flows_is_named(self):
        csvs = self.good_csvs()
        r = run("train", "--train", *csvs, "--out", self.path("ok"), "--n-estimators", "5",
                "--classes", "benign,syn_flood,udp_flood", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("class 'udp_flood' has no training flows: left out of the model", r.stderr)
        with open(self.path("ok/model.classes.json")) as f:
            self.assertEqual(json.load(f), ["benign", "syn_flood"])

    def test_table_weight_decides_between_tables_that_disagree(self):
        # The same 60 flows, called syn_flood in one table and benign in the
        # other: the table given more weight (--weight CSV=W) decides.
        rows = synthetic_rows(self.rng, "a.pcap", {"syn_flood": 60})
        flood = write_csv(self.path("flood.csv"), rows)
        benign = write_csv(self.path("benign.csv"), [r[:1] + ["b.pcap"] + r[2:9] + ["benign"] + r[10:]
                                                     for r in rows])
        table = flowtable.read_table(flood)

        def p_benign(weighted):
            out = self.path(f"w-{os.path.basename(weighted)}")
            r = run("train", "--train", flood, benign, "--out", out, "--valid-fraction", "0",
                    "--n-estimators", "20", "--class-weight", "none", "--threads", "1",
                    "--weight", f"{weighted}=9")
            self.assertEqual(r.returncode, 0, r.stderr)
            model, names = flowmodel.load(os.path.join(out, "model.json"))
            proba = flowmodel.predict_proba(model, table.features, table.feature_names, len(names))
            return float(proba[:, names.index("benign")].mean())

        self.assertGreater(p_benign(benign), 0.8)
        self.assertLess(p_benign(flood), 0.2)
        self.assert_fails("train", ["--train", flood, benign, "--out", self.path("out"), "--weight",
                                    "other.csv=2"], "--weight: 'other.csv' is not one of the --train tables")
        self.assert_fails("train", ["--train", flood, benign, "--out", self.path("out"), "--weight",
                                    f"{flood}=0"], "--weight wants CSV=W with W > 0")

    def test_attack_label_trains_benign_vs_attack(self):
        csvs = self.good_csvs(counts={"benign": 50, "syn_flood": 20, "port_scan": 20})
        r = run("train", "--train", *csvs, "--out", self.path("m"), "--n-estimators", "5",
                "--attack-label", "attack", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        model, names = flowmodel.load(self.path("m/model.json"))
        self.assertEqual(names, ["benign", "attack"])
        self.assertEqual(len(model.get_dump()), 5)  # binary:logistic: one tree per round
        r = run("evaluate", "--model", self.path("m/model.json"), "--test", *csvs, "--out",
                self.path("e"))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("e/metrics.json")) as f:
            m = json.load(f)
        self.assertEqual(m["per_class"]["attack"]["support"], 120)
        self.assertEqual(m["unknown_labels"], {})

    def test_class_only_in_validation_is_dropped_and_named(self):
        a = write_csv(self.path("a.csv"), synthetic_rows(self.rng, "a.pcap",
                                                         {"benign": 50, "syn_flood": 20}))
        b = write_csv(self.path("b.csv"), synthetic_rows(self.rng, "b.pcap",
                                                         {"benign": 50, "port_scan": 20}))
        r = run("train", "--train", a, "--valid", b, "--out", self.path("ok"),
                "--n-estimators", "5", "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("class 'port_scan' occurs only in validation flows: 20 flows dropped",
                      r.stderr)

    def test_evaluate_refuses_missing_features_and_warns_unknown_labels(self):
        csvs = self.good_csvs()
        r = run("train", "--train", *csvs, "--out", self.path("m"), "--n-estimators", "5",
                "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        model = self.path("m/model.json")
        short = write_csv(self.path("short.csv"),
                          [row[:-1] for row in synthetic_rows(self.rng, "t.pcap", {"benign": 5})],
                          features=FEATURES[:9])
        r = run("evaluate", "--model", model, "--test", short, "--out", self.path("e"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("feature columns do not match the model: missing f9_us", r.stderr)
        odd = write_csv(self.path("odd.csv"),
                        synthetic_rows(self.rng, "t.pcap", {"benign": 20, "port_scan": 7}))
        r = run("evaluate", "--model", model, "--test", odd, "--out", self.path("e"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("port_scan (7)", r.stderr)
        with open(self.path("e/metrics.json")) as f:
            m = json.load(f)
        self.assertEqual(m["benign_vs_attack"]["attack_flows"], 7)
        self.assertEqual(m["unknown_labels"], {"port_scan": 7})
        r = run("evaluate", "--model", self.path("nope.json"), "--test", odd, "--out",
                self.path("e"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such model file", r.stderr)

    def test_evaluate_warns_when_test_inputs_were_trained_on(self):
        csvs = self.good_csvs()
        r = run("train", "--train", *csvs, "--out", self.path("m"), "--n-estimators", "5",
                "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("evaluate", "--model", self.path("m/model.json"), "--test", *csvs, "--out",
                self.path("e"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("inputs the model used for training", r.stderr)
        self.assertIn("inputs the model used for validation", r.stderr)


class Metrics(unittest.TestCase):
    def test_against_hand_counted_example(self):
        from metrics import compute_metrics
        # 3 benign, 2 syn, 1 scan. Predictions: benign ok, ok, wrongly syn;
        # syn ok, wrongly benign; scan ok.
        proba = np.array([[.9, .05, .05], [.8, .1, .1], [.3, .6, .1],
                          [.1, .8, .1], [.6, .3, .1], [.2, .2, .6]], dtype=np.float32)
        y = np.array([0, 0, 0, 1, 1, 2])
        m = compute_metrics(y, proba, ["benign", "syn", "scan"])
        self.assertAlmostEqual(m["per_class"]["benign"]["precision"], 2 / 3)
        self.assertAlmostEqual(m["per_class"]["benign"]["recall"], 2 / 3)
        self.assertAlmostEqual(m["per_class"]["syn"]["precision"], 1 / 2)
        self.assertAlmostEqual(m["per_class"]["syn"]["recall"], 1 / 2)
        self.assertAlmostEqual(m["per_class"]["scan"]["f1"], 1.0)
        self.assertAlmostEqual(m["macro_f1"], (2 / 3 + 1 / 2 + 1) / 3)
        self.assertEqual(m["confusion_matrix"], [[2, 1, 0], [1, 1, 0], [0, 0, 1]])
        b = m["benign_vs_attack"]
        # attack scores: .1 .2 .7 | .9 .4 .8 -> at 0.5: 1 of 3 benign flagged, 2 of 3 attacks.
        self.assertAlmostEqual(b["benign_fpr"], 1 / 3)
        self.assertAlmostEqual(b["attack_detection_rate"], 2 / 3)
        # ROC AUC by pair counting: attack score beats benign score in 8 of 9 pairs.
        self.assertAlmostEqual(b["roc_auc"], 8 / 9, places=6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
