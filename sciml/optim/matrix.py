"""Shared machinery of the matrix optimizers: momentum, weight decay and the 2-D view of a parameter.

A matrix optimizer turns the (momentum-averaged) gradient ``M`` of a weight ``W ∈ ℝ^{m×n}`` into a
direction ``D = direction(M)`` and steps ``W ← (1 − ηλ) W − η D`` (decoupled weight decay,
Loshchilov & Hutter 2019). Momentum follows Muon's convention (REFERENCES §6): ``M ← βM + (1 − β)G``,
and with Nesterov the direction is taken of ``(1 − β)G + βM``.

A parameter with more than two axes is seen as ``(shape[0], rest)``; a vector of length ``n`` as an
``n × 1`` matrix (one entry per neuron, like a bias), so every optimizer also runs on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer


def as_matrix(t: Tensor) -> Tensor:
    """The 2-D view the update rules act on (vectors as columns)."""
    if t.ndim == 0:
        return t.reshape(1, 1)
    if t.ndim == 1:
        return t.reshape(-1, 1)
    return t.reshape(t.shape[0], -1)


def dual_scale(m: Tensor, d: Tensor) -> Tensor:
    """``ν = ⟨M, D⟩ / ‖D‖_F²``: the least-squares size of ``M`` along the direction ``D``."""
    return (m * d).sum() / (d * d).sum().clamp_min(torch.finfo(d.dtype).tiny)


class MatrixOptimizer(Optimizer):
    """Base class: subclasses implement :meth:`direction` on the 2-D view of the momentum."""

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, **defaults) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                                      **defaults))

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        """The update direction ``D`` (same shape as ``m``) for the 2-D momentum ``m``."""
        raise NotImplementedError

    def momentum(self, g: Tensor, state: dict, group: dict) -> Tensor:
        """Update the momentum buffer with ``g`` and return what the direction is taken of."""
        beta = group["momentum"]
        if beta == 0:
            return g
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(g)
        buf = state["momentum_buffer"]
        buf.lerp_(g, 1.0 - beta)
        return torch.lerp(g, buf, beta) if group["nesterov"] else buf

    def update(self, g: Tensor, state: dict, group: dict) -> Tensor:
        """``D`` from the 2-D gradient ``g`` (momentum, then :meth:`direction`)."""
        return self.direction(self.momentum(g, state, group), state, group)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = self.update(as_matrix(p.grad), self.state[p], group)
                if wd:
                    p.mul_(1.0 - lr * wd)
                p.add_(d.reshape(p.shape), alpha=-lr)
        return loss
