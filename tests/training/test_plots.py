"""Each plotting function writes a non-empty PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from deepfake_detect.training.plots import (
    plot_confusion_matrix,
    plot_roc,
    plot_score_histograms,
    plot_training_curves,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Y = np.array([0, 0, 0, 1, 1, 1])
P = np.array([0.1, 0.4, 0.55, 0.35, 0.8, 0.9])


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 100
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_plot_roc(tmp_path: Path) -> None:
    out = plot_roc(Y, P, tmp_path / "sub" / "roc.png", "val ROC")
    assert out == tmp_path / "sub" / "roc.png"
    _assert_png(out)
    _assert_png(plot_roc([1, 1], [0.3, 0.9], tmp_path / "roc1.png", "one class"))


def test_plot_score_histograms(tmp_path: Path) -> None:
    _assert_png(plot_score_histograms(Y, P, 0.5, tmp_path / "hist.png", "scores"))


def test_plot_confusion_matrix(tmp_path: Path) -> None:
    _assert_png(plot_confusion_matrix([[2, 1], [1, 2]], tmp_path / "cm.png", "cm"))
    _assert_png(plot_confusion_matrix([[0, 0], [0, 0]], tmp_path / "cm0.png", "empty"))


@pytest.mark.parametrize(
    "rows",
    [
        [
            {"epoch": 1, "train_loss": 0.7, "val_loss": 0.6, "val_auc": 0.7},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.55, "val_auc": 0.8},
        ],
        [{"epoch": 1, "train_loss": 0.7}, {"epoch": 2, "train_loss": 0.5, "val_loss": None}],
        [],
    ],
    ids=["full", "loss-only", "empty"],
)
def test_plot_training_curves(tmp_path: Path, rows: list[dict]) -> None:
    _assert_png(plot_training_curves(rows, tmp_path / "curves.png"))


def test_figures_are_closed(tmp_path: Path) -> None:
    before = len(plt.get_fignums())
    plot_roc(Y, P, tmp_path / "a.png", "t")
    plot_training_curves([{"epoch": 0, "val_auc": 0.5}], tmp_path / "b.png")
    assert len(plt.get_fignums()) == before
