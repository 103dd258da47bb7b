"""The evaluation report (model card): PNG plots, and one self-contained HTML
page with the plots embedded, a confusion matrix as a colour-scaled table
(row shares, counts on hover), weak classes flagged, and the false alerts a
SOC should expect at the configured thresholds."""
import base64
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
    fig, ax = plt.subplots(figsize=(9, 4.5))
    colours = plt.get_cmap("tab20").colors
    for c, name in enumerate(class_names):
        s = score[y_true == c]
        if len(s):
            ax.hist(s, bins=bins, histtype="step", lw=1.2, color=colours[c % len(colours)],
                    label=f"{name} ({len(s)})")
    unknown = score[y_true < 0]
    if len(unknown):
        ax.hist(unknown, bins=bins, histtype="step", lw=1.2, ls="--",
                label=f"(labels unknown to the model) ({len(unknown)})")
    ax.set_yscale("log")
    ax.set_xlabel("attack score = 1 - P(benign)")
    ax.set_ylabel("flows (log)")
    ax.set_title("Score distribution per true class")
    # Outside the axes, so it covers no data; tab20 gives 20 distinct colours.
    ax.legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, out_dir, "score_distributions.png")


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


# A class a reader should not trust: recall or precision under this.
WEAK = 0.5


def confusion_table(confusion, class_names):
    """The confusion matrix as an HTML table: each cell shaded by its share of
    the true class's flows (rows sum to 1), the count written in it, and the
    whole sentence on hover."""
    esc = html.escape
    cm = [[int(v) for v in row] for row in confusion]
    head = "".join(f'<th class="rot"><div>{esc(n)}</div></th>' for n in class_names)
    rows = []
    for i, row in enumerate(cm):
        total = sum(row)
        cells = []
        for j, n in enumerate(row):
            share = n / total if total else 0.0
            shade = f"background:rgba(31,119,180,{share:.3f});color:{'#fff' if share > 0.5 else '#000'}"
            tip = f"true {class_names[i]}, predicted {class_names[j]}: {n} flows ({100 * share:.1f}% of {total})"
            cells.append(f'<td class="cm" style="{shade}" title="{esc(tip)}">{n if n else ""}</td>')
        rows.append(f"<tr><th>{esc(class_names[i])}</th>{''.join(cells)}<td>{total}</td></tr>")
    return (f'<table class="confusion"><tr><th>true \\ predicted</th>{head}<th>flows</th></tr>'
            f"{''.join(rows)}</table>")


def embedded(out_dir, name):
    with open(os.path.join(out_dir, name), "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(name)}"></figure>'


def write_report(out_dir, title, metrics, y_true, proba, benign_index, gain, context):
    """Writes the PNGs and report.html (the PNGs embedded) into out_dir;
    returns the HTML path."""
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
    weak = [n for n, m in metrics["per_class"].items()
            if m["support"] and (m["recall"] < WEAK or m["precision"] < WEAK)]
    rows = "".join(
        f'<tr{" class=weak" if name in weak else ""}><td>{esc(name)}{" (weak)" if name in weak else ""}</td>'
        f"<td>{fmt(m['precision'])}</td><td>{fmt(m['recall'])}</td>"
        f"<td>{fmt(m['f1'])}</td><td>{m['support']}</td></tr>"
        for name, m in metrics["per_class"].items())
    binary = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(v)}</td></tr>"
                     for k, v in metrics["benign_vs_attack"].items())
    fa = metrics.get("false_alerts")
    false_alerts = ""
    if fa:
        fa_rows = "".join(
            f"<tr><td>{esc(c)}</td><td>{v['threshold']:g}</td><td>{v['false_alerts']}</td>"
            f"<td>{fmt(v['per_10k_benign'])}</td></tr>" for c, v in fa["per_class"].items())
        false_alerts = (f"<h2>Expected false alerts</h2><p>Benign flows each class would alert on at its "
                        f"configured threshold, per 10,000 benign flows ({fa['benign_flows']} benign flows; "
                        f"all classes: {fmt(fa['total_per_10k_benign'])} per 10,000). The threshold policy "
                        f"alone: the evidence policy (docs/OUTPUT.md) alerts on fewer.</p>"
                        f"<table><tr><th>class</th><th>threshold</th><th>benign flows alerted</th>"
                        f"<th>per 10,000 benign</th></tr>{fa_rows}</table>")
    pi = metrics.get("per_input") or {}
    per_input = ""
    if pi:
        pi_rows = "".join(
            f"<tr><td>{esc(name)}</td><td>{v['flows']}</td>"
            f"<td>{esc(', '.join(f'{k} {n}' for k, n in sorted(v['labels'].items())))}</td>"
            f"<td>{v['benign_alerted']} of {v['benign']}</td><td>{v['attack_detected']} of {v['attack']}</td></tr>"
            for name, v in pi.items())
        per_input = ("<h2>Per capture</h2><table><tr><th>input</th><th>flows</th><th>labels</th>"
                     f"<th>benign alerted</th><th>attack detected</th></tr>{pi_rows}</table>")
    ctx = "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
                  for k, v in context.items())
    imgs = "".join(embedded(out_dir, i) for i in images[1:])
    weak_note = (f'<p class="warn">Weak classes (recall or precision under {WEAK}): {esc(", ".join(weak))}.</p>'
                 if weak else "")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;
text-align:right}}td:first-child,th:first-child{{text-align:left}}figure{{display:inline-block;margin:.5em}}
img{{max-width:560px}}tr.weak td{{color:#b00;font-weight:bold}}.warn{{color:#b00}}
table.confusion td.cm{{min-width:2.2em;text-align:center;font-size:12px}}
table.confusion th.rot{{height:8em;vertical-align:bottom;padding:0}}
table.confusion th.rot div{{writing-mode:vertical-rl;transform:rotate(180deg);font-size:12px;padding:2px}}</style>
</head><body>
<h1>{esc(title)}</h1>
<p>{metrics['flows']} flows; macro F1 {fmt(metrics['macro_f1'])};
weighted F1 {fmt(metrics['weighted_f1'])}; accuracy {fmt(metrics['accuracy'])}.</p>
{weak_note}
<h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>
<th>support</th></tr>{rows}</table>
{false_alerts}
<h2>Confusion matrix</h2><p>Cells shaded by their share of the true class (each row sums to 1); hover for the sentence.</p>
{confusion_table(metrics["confusion_matrix"], class_names)}
<h2>Benign vs attack (attack score = 1 - P(benign))</h2><table>{binary}</table>
{per_input}
<h2>Plots</h2>{imgs}
<h2>Run</h2><table>{ctx}</table>
</body></html>
"""
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path
