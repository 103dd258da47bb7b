"""Classification metrics for flow models (docs/TRAINING.md, "metrics.json").

Multi-class metrics use the predicted class (argmax of the probabilities).
Benign-vs-attack metrics use the attack score 1 - P(benign): attack is the
positive class, every non-benign class counts as attack.
"""
import numpy as np
from sklearn import metrics as skm

# The sensor alerts when a flow's class is not benign and its score passes the
# class threshold; 0.5 on the attack score is the shipped default.
DEFAULT_ATTACK_THRESHOLD = 0.5


def _rate(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else None


def compute_metrics(y_true, proba, class_names, benign_index=0, extra_attack=None):
    """y_true: class indices (or -1 for labels the model does not know, which
    count only in the benign-vs-attack metrics); proba: (n, K) probabilities."""
    y_true = np.asarray(y_true)
    k = len(class_names)
    known = y_true >= 0
    y_pred = proba.argmax(axis=1)
    p, r, f1, support = skm.precision_recall_fscore_support(
        y_true[known], y_pred[known], labels=list(range(k)), zero_division=0)
    present = support > 0
    per_class = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f1[i]),
               "support": int(support[i])}
        for i, name in enumerate(class_names)}
    # Macro F1 over the classes present in this data set: a class absent from
    # the test set has no defined recall and would drag the mean to 0.
    macro_f1 = float(f1[present].mean()) if present.any() else None
    weighted_f1 = float((f1 * support).sum() / support.sum()) if support.sum() else None
    confusion = skm.confusion_matrix(y_true[known], y_pred[known], labels=list(range(k)))

    is_attack = y_true != benign_index
    attack_score = 1.0 - proba[:, benign_index].astype(np.float64)
    benign_total = int((~is_attack).sum())
    attack_total = int(is_attack.sum())
    both = benign_total > 0 and attack_total > 0
    flagged_argmax = y_pred != benign_index
    flagged_threshold = attack_score >= DEFAULT_ATTACK_THRESHOLD
    binary = {
        "benign_flows": benign_total,
        "attack_flows": attack_total,
        "roc_auc": float(skm.roc_auc_score(is_attack, attack_score)) if both else None,
        "pr_auc": float(skm.average_precision_score(is_attack, attack_score)) if both else None,
        "threshold": DEFAULT_ATTACK_THRESHOLD,
        "benign_fpr": _rate((flagged_threshold & ~is_attack).sum(), benign_total),
        "attack_detection_rate": _rate((flagged_threshold & is_attack).sum(), attack_total),
        "benign_fpr_argmax": _rate((flagged_argmax & ~is_attack).sum(), benign_total),
        "attack_detection_rate_argmax": _rate((flagged_argmax & is_attack).sum(), attack_total),
    }
    return {
        "flows": int(len(y_true)),
        "classes": list(class_names),
        "accuracy": float((y_pred[known] == y_true[known]).mean()) if known.any() else None,
        "macro_f1": macro_f1,
        "weighted_f1": weighted_f1,
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "benign_vs_attack": binary,
        "unknown_labels": extra_attack or {},
    }


def binary_curves(y_true, proba, benign_index=0):
    """ROC and PR curve points for the report (None when one side is empty)."""
    is_attack = np.asarray(y_true) != benign_index
    if is_attack.all() or not is_attack.any():
        return None
    score = 1.0 - proba[:, benign_index].astype(np.float64)
    fpr, tpr, _ = skm.roc_curve(is_attack, score)
    precision, recall, _ = skm.precision_recall_curve(is_attack, score)
    return {"fpr": fpr, "tpr": tpr, "precision": precision, "recall": recall}
