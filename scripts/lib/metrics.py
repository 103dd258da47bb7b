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


def class_thresholds(config, class_names, benign_index=0):
    """Each attack class's alert threshold from a flowscore config (the
    "threshold" policy: a flow alerts when its predicted class is not benign
    and that class's probability reaches the class's threshold)."""
    model = (config or {}).get("model", {})
    default = float(model.get("default_threshold", 0.5))
    classes = model.get("classes", {})
    return {name: float(classes.get(name, {}).get("threshold", default))
            for i, name in enumerate(class_names) if i != benign_index}


def threshold_alerts(proba, thresholds, class_names, benign_index=0):
    """Which flows alert under the class thresholds: predicted class not
    benign, and its probability at least that class's threshold."""
    y_pred = proba.argmax(axis=1)
    limit = np.array([thresholds.get(n, np.inf) if i != benign_index else np.inf
                      for i, n in enumerate(class_names)], dtype=np.float64)
    winning = proba[np.arange(len(proba)), y_pred].astype(np.float64)
    return (y_pred != benign_index) & (winning >= limit[y_pred]), y_pred


def false_alerts_per_10k(y_true, proba, class_names, thresholds, benign_index=0):
    """Per attack class: the benign flows it would alert on, per 10,000 benign
    flows, at the configured thresholds (what a SOC asks first)."""
    y_true = np.asarray(y_true)
    benign = y_true == benign_index
    n = int(benign.sum())
    alerts, y_pred = threshold_alerts(proba, thresholds, class_names, benign_index)
    out = {}
    for i, name in enumerate(class_names):
        if i == benign_index:
            continue
        count = int((benign & alerts & (y_pred == i)).sum())
        out[name] = {"threshold": thresholds[name], "false_alerts": count,
                     "per_10k_benign": 1e4 * count / n if n else None}
    return {"benign_flows": n, "per_class": out,
            "total_per_10k_benign": 1e4 * int((benign & alerts).sum()) / n if n else None}


def per_input(inputs, labels, y_true, proba, class_names, thresholds, benign_index=0):
    """Per capture (input): flows, their labels, and what the thresholds did:
    benign flows alerted on, attack flows detected."""
    alerts, _ = threshold_alerts(proba, thresholds, class_names, benign_index)
    y_true = np.asarray(y_true)
    out = {}
    for name in sorted(set(inputs)):
        rows = np.asarray(inputs) == name
        benign = rows & (y_true == benign_index)
        attack = rows & (y_true != benign_index)
        label_counts = {}
        for label in np.asarray(labels, dtype=object)[rows]:
            label_counts[label] = label_counts.get(label, 0) + 1
        out[name] = {"flows": int(rows.sum()), "labels": label_counts,
                     "benign_alerted": int((benign & alerts).sum()), "benign": int(benign.sum()),
                     "attack_detected": int((attack & alerts).sum()), "attack": int(attack.sum())}
    return out
