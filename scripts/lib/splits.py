"""Validation split by capture: all flows of one `input` fall on one side.

Flows of one capture (or one generator seed) share hosts, timing and the
attack instance itself; splitting them at random across train and validation
leaks the scenario and makes early stopping and the reported scores
optimistic. So whole inputs are assigned, like scikit-learn's
GroupShuffleSplit, with one addition: among seeded random assignments, the
one that leaves the fewest classes without training flows (then without
validation flows, then closest to the requested fraction) is chosen.
"""
import numpy as np

_TRIES = 256


def group_split(inputs, labels, valid_fraction, seed):
    """Returns (train_mask, valid_mask, notes). notes: list of warnings to print."""
    groups, group_of_row = np.unique(inputs, return_inverse=True)
    classes, class_of_row = np.unique(labels, return_inverse=True)
    if len(groups) < 2:
        raise ValueError(
            f"all {len(inputs)} flows come from one input ({groups[0]}); a validation split "
            "by capture needs at least two. Pass more captures, --valid CSV, or "
            "--valid-fraction 0 (no early stopping)")
    # counts[g, c]: flows of class c in group g.
    counts = np.zeros((len(groups), len(classes)), dtype=np.int64)
    np.add.at(counts, (group_of_row, class_of_row), 1)
    total = counts.sum()
    rng = np.random.default_rng(seed)
    best_key, best_valid = None, None
    for _ in range(_TRIES):
        order = rng.permutation(len(groups))
        in_valid = np.zeros(len(groups), dtype=bool)
        taken = 0
        for g in order:
            if taken >= valid_fraction * total or in_valid.sum() == len(groups) - 1:
                break
            in_valid[g] = True
            taken += counts[g].sum()
        train_classes = counts[~in_valid].sum(axis=0) > 0
        valid_classes = counts[in_valid].sum(axis=0) > 0
        key = (int((~train_classes).sum()), int((~valid_classes).sum()),
               abs(taken / total - valid_fraction))
        if best_key is None or key < best_key:
            best_key, best_valid = key, in_valid
    valid_mask = best_valid[group_of_row]
    notes = []
    train_counts = counts[~best_valid].sum(axis=0)
    valid_counts = counts[best_valid].sum(axis=0)
    for c, name in enumerate(classes):
        if valid_counts[c] == 0:
            holders = ", ".join(str(g) for g in groups[counts[:, c] > 0])
            notes.append(f"class {name!r} has no validation flows (all in {holders}); "
                         "early stopping cannot see it")
        if train_counts[c] == 0:
            notes.append(f"class {name!r} has no training flows after the split")
    return ~valid_mask, valid_mask, notes
