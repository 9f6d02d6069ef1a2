"""Sharpness-aware minimisation (SAM; Foret et al., ICLR 2021), the optimiser the Self-Blended Images paper
trains with (`--sam 0.05`, its rho).

SAM steps with the gradient taken at the worst nearby weights, w + rho * g / ||g||, rather than at w, which
favours flat minima; flat minima are the usual explanation of why it transfers better off-domain. It wraps
any optimiser (here AdamW) and costs a second forward and backward per step: ~2x the step time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


def sam_gradient(model: nn.Module, rho: float, loss_fn: Callable[[], torch.Tensor]) -> None:
    """Turn the gradients of a first `backward()` at w into SAM's: perturb to w + e (e = rho g / ||g||),
    back-propagate `loss_fn()` there, restore w. The optimiser then steps from w with those gradients."""
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
    scale = rho / (norm + 1e-12)
    saved = [p.detach().clone() for p in params]  # restored exactly: w + e - e is not w in floats
    with torch.no_grad():
        for p in params:
            p.add_(p.grad * scale)
    model.zero_grad(set_to_none=True)
    with _frozen_batchnorm_stats(model):  # the perturbed pass must not move the running statistics
        loss_fn().backward()
    with torch.no_grad():
        for p, w in zip(params, saved, strict=True):
            p.copy_(w)


@contextmanager
def _frozen_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """BatchNorm layers keep normalising by the batch but leave their running mean / var as they are
    (momentum 0: running = 1 * running + 0 * batch)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum
