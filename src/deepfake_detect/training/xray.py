"""`train --xray W`: a Face X-ray auxiliary loss, so the features that decide REAL/FAKE must also say
where on the face the blend runs.

Face X-ray (Li et al., CVPR 2020) trains a detector to draw the blending boundary of a blended face,
B = 4 m (1 - m) for the blend mask m, and nothing on a real one; LAA-Net (Nguyen et al., CVPR 2024) adds
such a map to SBI training. Why here: every run so far learned SBI's blend as one score per crop, and
which cue it keeps is left to chance (`dev/` 0.37-0.65 over seeds of one recipe, docs/training.md); a map
asks for the seam itself, the one trace every face swap shares.

Training only: a 1x1 convolution reads the CNN's last feature map ([N, C, h, w], 7 x 7 for Lite0 at
224 px) before pooling; the checkpoint holds no head, so serving, its cost and its file are unchanged.
Targets: a real crop's map is 0; an SBI copy's is its boundary, cut and flipped with its crop
(`samples.TrackDataset.finish`) and averaged over each cell; a genuine fake's is unknown and left out.

Measured (run AI of docs/training.md, M's recipe with `--xray 1`, 2 epochs): the map was learned (its loss
0.29 -> 0.24) but did not transfer: SBI copies 0.79, `dev/` 0.50, validation 0.60, against M's 0.76, 0.65
and 0.66; read as the detector itself (check AJ) the map ranks lower still (`dev/` 0.48). At weight 10
(run AK) the seam is seen on unseen faces (SBI copies 0.86, TIMIT 0.965, the map alone 0.991) but not in
the unseen methods (`dev/` 0.61, one real video FAKE). Over three seeds on M's people (AK, AL, AM against
M, T, V) it lowered validation on every seed (mean 0.56 against 0.60) and left `dev/` within the seed
spread (mean 0.53 against 0.50). Off by default.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def boundary_map(masks: np.ndarray) -> np.ndarray:
    """Blend masks [..., H, W] float in [0, 1] -> Face X-ray boundaries [..., H, W] uint8, 255 * 4 m (1 - m):
    0 where the crop is wholly target or wholly source, 255 where the two are mixed half and half."""
    m = np.clip(masks, 0, 1)
    return np.rint(1020 * m * (1 - m)).astype(np.uint8)


class XrayHead(nn.Module):
    """[N, C, h, w] feature maps -> [N, h, w] boundary logits: one 1x1 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)
        self.losses: list[float] = []  # `xray_loss` of each step, for the epoch's log row

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.conv(maps).squeeze(1)

    def loss(self, maps: torch.Tensor, boundary: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """`xray_loss` of these maps [N, C, h, w] against boundary crops [N, S, S], recorded in `losses`."""
        loss = xray_loss(self(maps), boundary, known)
        self.losses.append(loss.item())
        return loss

    def epoch_loss(self) -> float | None:
        """The mean of `losses` (the epoch's log row), which starts over."""
        losses, self.losses = self.losses, []
        return float(np.mean(losses)) if losses else None


def xray_loss(logits: torch.Tensor, boundary: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Mean BCE of boundary logits [N, h, w] against boundary crops [N, S, S] uint8, averaged down to the
    logits' cells; only crops whose boundary is `known` [N] bool count (0 when none does)."""
    if not bool(known.any()):
        return logits.sum() * 0.0  # keeps the graph (and the head's gradient, zero) without a NaN
    target = F.adaptive_avg_pool2d(boundary[known, None].float() / 255, (logits.shape[-2], logits.shape[-1]))[
        :, 0
    ]  # [K, h, w]
    return F.binary_cross_entropy_with_logits(logits[known].float(), target)


class XrayTerm(NamedTuple):
    """One batch's boundary term, as `train._loss` adds it: weight x `head.loss(maps, boundary, known)`."""

    head: XrayHead
    weight: float
    boundary: torch.Tensor  # [N, S, S] uint8, every crop's
    known: torch.Tensor  # [N] bool: which crops' boundaries count
