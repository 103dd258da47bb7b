"""Reads the feature tables that `flowscore extract` writes (docs/TRAINING.md).

Contract: a header row; the metadata columns below, then the feature
columns, whose names are the model's feature names in order. An empty cell
or `nan` is a missing value. Rows are read in chunks so memory stays
proportional to the float32 matrix, not to the text.
"""
import csv
import json
import os

import numpy as np

METADATA_COLUMNS = ("flow_id", "input", "src_ip", "src_port", "dest_ip", "dest_port",
                    "proto", "start", "end", "label")
_CHUNK_ROWS = 65536


class TableError(Exception):
    """A feature table or feature spec the tools cannot use; the message says why."""


class FlowTable:
    """Flows of one or more extracted CSVs: X (float32, NaN = missing), labels, inputs."""

    def __init__(self, feature_names, features, labels, inputs, sample_weight=None):
        self.feature_names = list(feature_names)
        self.features = features
        self.labels = labels
        self.inputs = inputs
        # Per-flow weight from the table's origin (scripts/train --weight), 1 by default.
        self.sample_weight = (np.ones(features.shape[0], dtype=np.float32) if sample_weight is None
                              else sample_weight)

    def __len__(self):
        return self.features.shape[0]

    def subset(self, mask):
        return FlowTable(self.feature_names, self.features[mask], self.labels[mask],
                         self.inputs[mask], self.sample_weight[mask])


def _parse_chunk(rows, path, first_line):
    """Converts feature strings to float32; names the first bad cell on failure."""
    cells = np.array(rows, dtype=str)
    # numpy sizes the string dtype to the longest cell: a chunk whose cells
    # are all one or two characters would store "nan" as "na".
    cells = cells.astype(f"<U{max(3, cells.dtype.itemsize // 4)}")
    missing = (cells == "") | (np.char.lower(cells) == "nan")
    cells[missing] = "nan"
    try:
        values = cells.astype(np.float64).astype(np.float32)
    except ValueError:
        for i, row in enumerate(rows):
            for value in row:
                try:
                    float(value or "nan")
                except ValueError:
                    raise TableError(f"{path}:{first_line + i}: not a number: {value!r}") from None
        raise
    # XGBoost refuses infinities in a DMatrix; flowscore never writes them
    # (docs/FEATURES.md), so one means the table is not what it claims.
    bad = np.argwhere(np.isinf(values))
    if len(bad):
        i, j = bad[0]
        raise TableError(f"{path}:{first_line + i}: infinite value {rows[i][j]!r} "
                         "(features are finite or missing)")
    return values


def read_table(path):
    """Reads one extracted CSV. Raises TableError with the file and line on bad input."""
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise TableError(f"{path}: cannot open: {e.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or header == []:
            raise TableError(f"{path}: empty file (expected a header row from flowscore extract)")
        header = [h.strip() for h in header]
        absent = [c for c in METADATA_COLUMNS if c not in header]
        if absent:
            raise TableError(f"{path}:1: not a flowscore extract table: missing column(s) "
                             f"{', '.join(absent)}")
        if len(set(header)) != len(header):
            dup = sorted({h for h in header if header.count(h) > 1})
            raise TableError(f"{path}:1: repeated column(s) {', '.join(dup)}")
        feature_cols = [i for i, h in enumerate(header) if h not in METADATA_COLUMNS]
        if not feature_cols:
            raise TableError(f"{path}:1: no feature columns after the metadata columns")
        label_col, input_col = header.index("label"), header.index("input")
        chunks, labels, inputs, rows = [], [], [], []
        line = 1
        chunk_line = 2
        for row in reader:
            line += 1
            if len(row) != len(header):
                raise TableError(f"{path}:{line}: {len(row)} cells, the header has {len(header)}")
            label = row[label_col].strip()
            if not label:
                raise TableError(f"{path}:{line}: empty label")
            labels.append(label)
            inputs.append(row[input_col].strip() or os.path.basename(path))
            rows.append([row[i].strip() for i in feature_cols])
            if len(rows) == _CHUNK_ROWS:
                chunks.append(_parse_chunk(rows, path, chunk_line))
                rows, chunk_line = [], line + 1
        if rows:
            chunks.append(_parse_chunk(rows, path, chunk_line))
    if not labels:
        raise TableError(f"{path}: header but no flows (was the capture empty?)")
    names = [header[i] for i in feature_cols]
    return FlowTable(names, np.concatenate(chunks), np.array(labels, dtype=object),
                     np.array(inputs, dtype=object))


def read_tables(paths, weights=None):
    """Reads and concatenates CSVs that must share one feature header; the
    flows of paths[i] get sample weight weights.get(paths[i], 1)."""
    tables = [read_table(p) for p in paths]
    for path, t in zip(paths, tables):
        t.sample_weight[:] = (weights or {}).get(path, 1.0)
    first = tables[0]
    for path, t in zip(paths[1:], tables[1:]):
        if t.feature_names != first.feature_names:
            raise TableError(f"{path}: feature columns differ from {paths[0]}: "
                             f"{describe_difference(first.feature_names, t.feature_names)}")
    return FlowTable(first.feature_names,
                     np.concatenate([t.features for t in tables]),
                     np.concatenate([t.labels for t in tables]),
                     np.concatenate([t.inputs for t in tables]),
                     np.concatenate([t.sample_weight for t in tables]))


def describe_difference(expected, actual):
    missing = [n for n in expected if n not in actual]
    extra = [n for n in actual if n not in expected]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    if not parts:
        parts.append("same names in another order")
    return "; ".join(parts)


def read_feature_spec(path):
    """Feature names (and a version string, if any) from a spec file.

    Accepted: JSON — a list of names, or an object with "features" (names or
    objects with "name") and optionally "version"; or text with one name per
    line ('#' comments)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise TableError(f"{path}: cannot open feature spec: {e.strerror}") from None
    version = None
    if text.lstrip().startswith(("[", "{")):
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise TableError(f"{path}:{e.lineno}: bad JSON: {e.msg}") from None
        if isinstance(spec, dict):
            version = spec.get("version")
            spec = spec.get("features", spec.get("names"))
        if not isinstance(spec, list):
            raise TableError(f"{path}: expected a list of feature names or "
                             "{\"features\": [...]}")
        names = [s.get("name") if isinstance(s, dict) else s for s in spec]
    else:
        names = [ln.strip() for ln in text.splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TableError(f"{path}: no feature names, or a name that is not a string")
    return names, version


def check_feature_spec(table_names, spec_names, source):
    if list(table_names) != list(spec_names):
        raise TableError(f"{source}: feature columns do not match the feature spec: "
                         f"{describe_difference(spec_names, table_names)}")
