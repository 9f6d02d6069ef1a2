"""Evaluation plots (headless, Agg backend); each function writes one PNG and returns its path.

Example::

    png = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], out_dir / "roc.png", "val ROC")
    plot_confusion_matrix(metrics["confusion_matrix"], out_dir / "cm.png", "val confusion")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from deepfake_detect.training.metrics import equal_error_rate  # noqa: E402

_DPI = 110


def _save(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (creating parent folders), close it and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.tight_layout()
        fig.savefig(out, dpi=_DPI, format="png")
    finally:
        plt.close(fig)
    return out


def plot_roc(labels: Any, probs: Any, path: str | Path, title: str = "ROC") -> Path:
    """ROC curve with the AUC in the legend and the equal-error-rate point marked."""
    y = np.asarray(labels).astype(int).ravel()
    p = np.asarray(probs, dtype=float).ravel()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="chance")
    if y.size and y.min() != y.max():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, lw=2, label=f"ROC (AUC = {roc_auc_score(y, p):.3f})")
        eer, eer_thr = equal_error_rate(y, p)
        if eer is not None:
            ax.scatter([eer], [1 - eer], c="red", zorder=3, label=f"EER = {eer:.3f} @ t = {eer_thr:.3f}")
    else:
        ax.text(0.5, 0.5, "ROC undefined: one class only", ha="center", va="center")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="False positive rate (REAL flagged)",
        ylabel="True positive rate (FAKE caught)",
        title=title,
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_score_histograms(
    labels: Any, probs: Any, threshold: float, path: str | Path, title: str = "Scores"
) -> Path:
    """Overlapped histograms of P(FAKE) for REAL and FAKE samples with the decision threshold."""
    y = np.asarray(labels).astype(int).ravel()
    p = np.asarray(probs, dtype=float).ravel()
    bins = np.linspace(0.0, 1.0, 41).tolist()
    fig, ax = plt.subplots(figsize=(6, 4))
    for cls, name, color in ((0, "REAL", "tab:blue"), (1, "FAKE", "tab:red")):
        sel = p[y == cls]
        if sel.size:
            ax.hist(np.clip(sel, 0, 1), bins=bins, alpha=0.5, color=color, label=f"{name} (n={sel.size})")
    ax.axvline(threshold, c="black", ls="--", lw=1.5, label=f"threshold = {threshold:.3f}")
    ax.set(xlim=(0, 1), xlabel="P(FAKE)", ylabel="count", title=title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_confusion_matrix(cm: Any, path: str | Path, title: str = "Confusion matrix") -> Path:
    """Annotated 2x2 confusion matrix ``[[tn, fp], [fn, tp]]`` (rows: true, columns: predicted)."""
    m = np.asarray(cm, dtype=float)
    names = ["REAL", "FAKE"][: m.shape[0]]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    im = ax.imshow(m, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046)
    half = m.max() / 2 if m.size and m.max() > 0 else 0.5
    total = m.sum() or 1.0
    for (i, j), v in np.ndenumerate(m):
        ax.text(
            j,
            i,
            f"{int(v)}\n({v / total:.1%})",
            ha="center",
            va="center",
            color="white" if v > half else "black",
        )
    ax.set(
        xticks=range(len(names)),
        yticks=range(len(names)),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    return _save(fig, path)


def _series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) for rows where ``key`` holds a number; epoch falls back to the row index."""
    xs, ys = [], []
    for i, row in enumerate(rows):
        v = row.get(key)
        if isinstance(v, int | float) and np.isfinite(v):
            xs.append(float(row.get("epoch", i)))
            ys.append(float(v))
    return xs, ys


def plot_training_curves(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "Training") -> Path:
    """Loss curves (train_loss, val_loss) and val_auc per epoch; only the series present are drawn."""
    losses = {k: _series(rows, k) for k in ("train_loss", "val_loss")}
    auc = _series(rows, "val_auc")
    has_auc = bool(auc[0])
    fig, axes = plt.subplots(1, 2 if has_auc else 1, figsize=(10 if has_auc else 5.5, 4), squeeze=False)
    ax = axes[0][0]
    drawn = False
    for key, (xs, ys) in losses.items():
        if xs:
            ax.plot(xs, ys, marker="o", ms=3, label=key)
            drawn = True
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no loss values", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax.grid(alpha=0.3)
    if has_auc:
        ax2 = axes[0][1]
        ax2.plot(*auc, marker="o", ms=3, c="tab:green", label="val_auc")
        ax2.set(xlabel="epoch", ylabel="AUC", title=f"{title}: val AUC")
        ax2.legend(fontsize=8)
        ax2.grid(alpha=0.3)
    return _save(fig, path)


def plot_auc_by_origin(table: dict[str, dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Horizontal bars: ROC AUC of each dataset / method's fakes against all reals (`against_reals`),
    labelled with the fake and real counts; the dashed line is chance. Rows that pool others ("all", a
    family such as "frames") are grey; a method is named by its provenance label alone, when it has one."""
    names = list(table)
    aucs = [table[n]["auc"] or 0.0 for n in names]
    pools = {"all"} | {n for n in names if any(m.startswith(n + "/") for m in names)}
    fig = Figure(figsize=(9, 0.4 * len(names) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(names))[::-1]
    ax.barh(y, aucs, color=["#444" if n == "all" else "#888" if n in pools else "#3a7" for n in names])
    for yi, n, a in zip(y, names, aucs, strict=True):
        ax.text(
            min(a, 0.98),
            yi,
            f" {a:.3f} ({table[n]['n_fake']} fake / {table[n]['n_real']} real)",
            va="center",
            ha="right" if a > 0.6 else "left",
            fontsize=8,
            color="white" if a > 0.6 else "black",
        )
    ax.axvline(0.5, ls="--", color="grey")
    labels = [n.split(":", 1)[-1] for n in names]  # "talking_heads/fake:Wav2Lip lip-sync" -> the method
    ax.set_yticks(y, [t if len(t) <= 64 else t[:63] + "…" for t in labels], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("ROC AUC, fakes of the row vs every real")
    ax.set_title(title or "AUC by dataset / method")
    fig.tight_layout()
    return _save(fig, path)
