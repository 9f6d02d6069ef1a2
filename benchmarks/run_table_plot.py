"""Does any figure measured on our own held-out data predict `dev/`? Issue 10's runs, one point each.

    .venv/bin/python benchmarks/run_table_plot.py          # docs/issue10_runs.csv -> docs/issue10_runs.png

Reads the run table (`docs/issue10_runs.csv`: each run's shipped-candidate checkpoint, figures as in
docs/training.md) and plots `dev/` AUC against the validation AUC and against the SBI-copies AUC, with
Spearman's rho and a bootstrap 95 % interval over runs. Only the EfficientNet-Lite runs count (the
ResNet18 default before them is on another scale). Why it matters: a figure that predicted `dev/` could
choose checkpoints without looking at `dev/`. Over 31 runs: validation weakly (rho +0.41), SBI copies
weakly the other way (rho -0.33): learning the blend better is no sign of catching unseen fakes.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
MARK = {"imagenet": ("o", "#0072B2", "from ImageNet"), "continued": ("s", "#D55E00", "continued from B or M")}


def rho_interval(x: np.ndarray, y: np.ndarray, n: int = 4000) -> tuple[float, float, float]:
    """(Spearman's rho, 2.5 and 97.5 percentiles over `n` bootstrap resamples of the runs)."""
    rng = np.random.default_rng(0)
    boot = [spearmanr(x[i], y[i]).statistic for i in (rng.integers(0, len(x), len(x)) for _ in range(n))]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return float(spearmanr(x, y).statistic), float(lo), float(hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", type=Path, default=DOCS / "issue10_runs.csv")
    parser.add_argument("--out", type=Path, default=DOCS / "issue10_runs.png")
    args = parser.parse_args()
    with open(args.table, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["start"] in MARK and r["val_auc"] and r["dev_auc"]]
    dev = np.array([float(r["dev_auc"]) for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, column, name in zip(
        axes, ("sbi_copies_auc", "val_auc"), ("SBI-copies AUC", "validation AUC"), strict=True
    ):
        x = np.array([float(r[column]) for r in rows])
        for start, (marker, colour, label) in MARK.items():
            i = [k for k, r in enumerate(rows) if r["start"] == start]
            ax.scatter(x[i], dev[i], marker=marker, c=colour, s=36, label=label, zorder=3)
        for r, xi, yi in zip(rows, x, dev, strict=True):
            ax.annotate(r["run"].split()[0], (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
        rho, lo, hi = rho_interval(x, dev)
        ax.set_title(f"{name}: Spearman rho {rho:+.2f} (95 %: {lo:+.2f} to {hi:+.2f})", fontsize=9)
        ax.set_xlabel(f"{name} (held-out people of our own data)")
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
        print(f"{name}: rho {rho:+.3f} ({lo:+.3f} to {hi:+.3f}) over {len(x)} runs")
    axes[0].set_ylabel("dev/ AUC (other datasets and generators)")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        f"Issue 10's {len(rows)} EfficientNet-Lite runs: what on our own data predicts dev/?", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
