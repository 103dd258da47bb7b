#!/usr/bin/python3
"""Self-test of compare_features.py: it must notice every kind of difference.

Runs the reference on a capture in tests/data, then feeds the comparator
perturbed copies of that CSV: one value off by one float32 ulp, a number
turned into NaN, a missing row, a row with src/dest swapped, a renamed
column. An identical copy must pass; each perturbation must be caught.

    test_compare_features.py SOURCE_ROOT
"""
import csv
import os
import struct
import subprocess
import sys
import tempfile
import unittest

SOURCE_ROOT = None
PY = "/usr/bin/python3"


def here(*parts):
    return os.path.join(SOURCE_ROOT, *parts)


def next_float32_up(text):
    bits = struct.unpack("<I", struct.pack("<f", float(text)))[0]
    return "%.9g" % struct.unpack("<f", struct.pack("<I", bits + 1))[0]


class CompareFeaturesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ref = os.path.join(cls.tmp.name, "ref.csv")
        subprocess.run([PY, here("scripts", "reference_features.py"), "-q",
                        "--pcap", here("tests", "data", "output", "sctp-keywords-prefilter.pcap"),
                        "--out", cls.ref], check=True)
        with open(cls.ref, newline="") as f:
            cls.header, *cls.rows = list(csv.reader(f))
        assert len(cls.rows) >= 2, "need a capture with at least two flows"

    def write(self, header, rows):
        path = os.path.join(self.tmp.name, "perturbed.csv")
        with open(path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([header] + rows)
        return path

    def compare(self, path, *extra):
        return subprocess.run([PY, here("tests", "reference", "compare_features.py"),
                               "--pair", path, self.ref, "--min-match", "1.0", *extra],
                              capture_output=True, text=True)

    def copy_rows(self):
        return [list(r) for r in self.rows]

    def test_identical_copy_passes(self):
        result = self.compare(self.write(self.header, self.copy_rows()))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_one_ulp_is_a_mismatch_unless_tolerated(self):
        rows = self.copy_rows()
        col = self.header.index("len_both_mean")
        rows[0][col] = next_float32_up(rows[0][col])
        path = self.write(self.header, rows)
        strict = self.compare(path)
        self.assertEqual(strict.returncode, 1)
        self.assertIn("len_both_mean", strict.stdout)
        self.assertEqual(self.compare(path, "--ulp", "1").returncode, 0)

    def test_nan_versus_number_is_a_mismatch(self):
        rows = self.copy_rows()
        col = self.header.index("pkts_fwd")
        rows[-1][col] = "nan"
        result = self.compare(self.write(self.header, rows), "--ulp", "1000")
        self.assertEqual(result.returncode, 1)
        self.assertIn("pkts_fwd", result.stdout)

    def test_missing_flow_is_counted(self):
        result = self.compare(self.write(self.header, self.copy_rows()[1:]))
        self.assertEqual(result.returncode, 1)
        self.assertIn("1 reference-only", result.stdout)

    def test_swapped_orientation_is_not_a_match(self):
        rows = self.copy_rows()
        h = self.header.index
        r = rows[0]
        r[h("src_ip")], r[h("dest_ip")] = r[h("dest_ip")], r[h("src_ip")]
        r[h("src_port")], r[h("dest_port")] = r[h("dest_port")], r[h("src_port")]
        result = self.compare(self.write(self.header, rows))
        self.assertEqual(result.returncode, 1)
        self.assertIn("1 of those with src/dest swapped", result.stdout)

    def test_renamed_column_fails_the_header_contract(self):
        header = list(self.header)
        header[header.index("idle_std_us")] = "idle_stdev_us"
        result = self.compare(self.write(header, self.copy_rows()))
        self.assertEqual(result.returncode, 1)
        self.assertIn("HEADER", result.stdout)


if __name__ == "__main__":
    SOURCE_ROOT = os.path.abspath(sys.argv.pop(1))
    unittest.main()
