"""The evaluation report: PNG plots and one HTML page that shows them."""
import html
import os

import matplotlib

matplotlib.use("Agg")  # files only: no display on a sensor or in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from metrics import binary_curves  # noqa: E402


def _save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)
    return name


def plot_confusion(confusion, class_names, out_dir):
    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = max(4.0, 0.5 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (row share; cell = flow count)")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, out_dir, "confusion_matrix.png")


def plot_curves(curves, metrics, out_dir):
    binary = metrics["benign_vs_attack"]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot(curves["fpr"], curves["tpr"], lw=1.5)
    ax.set_xscale("symlog", linthresh=1e-4)
    ax.set_xlim(0, 1)
    ax.set_xlabel("false-positive rate on benign flows (symlog)")
    ax.set_ylabel("attack detection rate")
    ax.set_title(f"ROC, benign vs attack (AUC {binary['roc_auc']:.4f})")
    ax.grid(alpha=0.3)
    roc = _save(fig, out_dir, "roc.png")
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot(curves["recall"], curves["precision"], lw=1.5)
    ax.set_xlabel("recall (attack)")
    ax.set_ylabel("precision (attack)")
    ax.set_title(f"Precision-recall (AP {binary['pr_auc']:.4f})")
    ax.grid(alpha=0.3)
    return roc, _save(fig, out_dir, "pr.png")


def plot_importance(gain, out_dir, top=30):
    items = sorted(gain.items(), key=lambda kv: kv[1], reverse=True)[:top]
    if not items:
        return None
    names, values = zip(*reversed(items))
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(items) + 1.2))
    ax.barh(range(len(items)), values)
    ax.set_yticks(range(len(items)), names, fontsize=7)
    ax.set_xlabel("total gain")
    ax.set_title(f"Feature importance (gain), top {len(items)}")
    return _save(fig, out_dir, "feature_importance.png")


def plot_scores(y_true, proba, class_names, benign_index, out_dir):
    score = 1.0 - proba[:, benign_index].astype(np.float64)
    bins = np.linspace(0, 1, 51)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c, name in enumerate(class_names):
        s = score[y_true == c]
        if len(s):
            ax.hist(s, bins=bins, histtype="step", lw=1.2, label=f"{name} ({len(s)})")
    unknown = score[y_true < 0]
    if len(unknown):
        ax.hist(unknown, bins=bins, histtype="step", lw=1.2, ls="--",
                label=f"(labels unknown to the model) ({len(unknown)})")
    ax.set_yscale("log")
    ax.set_xlabel("attack score = 1 - P(benign)")
    ax.set_ylabel("flows (log)")
    ax.set_title("Score distribution per true class")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out_dir, "score_distributions.png")


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def write_report(out_dir, title, metrics, y_true, proba, benign_index, gain, context):
    """Writes the PNGs and report.html into out_dir; returns the HTML path."""
    class_names = metrics["classes"]
    images = [plot_confusion(metrics["confusion_matrix"], class_names, out_dir)]
    curves = binary_curves(y_true, proba, benign_index)
    if curves is not None:
        images.extend(plot_curves(curves, metrics, out_dir))
    importance = plot_importance(gain, out_dir)
    if importance:
        images.append(importance)
    images.append(plot_scores(y_true, proba, class_names, benign_index, out_dir))

    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{fmt(m['precision'])}</td><td>{fmt(m['recall'])}</td>"
        f"<td>{fmt(m['f1'])}</td><td>{m['support']}</td></tr>"
        for name, m in metrics["per_class"].items())
    binary = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(v)}</td></tr>"
                     for k, v in metrics["benign_vs_attack"].items())
    ctx = "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
                  for k, v in context.items())
    imgs = "".join(f'<figure><img src="{esc(i)}" alt="{esc(i)}"></figure>' for i in images)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;
text-align:right}}td:first-child{{text-align:left}}figure{{display:inline-block;margin:.5em}}
img{{max-width:520px}}</style></head><body>
<h1>{esc(title)}</h1>
<p>{metrics['flows']} flows; macro F1 {fmt(metrics['macro_f1'])};
weighted F1 {fmt(metrics['weighted_f1'])}; accuracy {fmt(metrics['accuracy'])}.</p>
<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>
<th>support</th></tr>{rows}</table>
<h2>Benign vs attack (attack score = 1 - P(benign))</h2><table>{binary}</table>
<h2>Plots</h2>{imgs}
<h2>Run</h2><table>{ctx}</table>
</body></html>
"""
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path
