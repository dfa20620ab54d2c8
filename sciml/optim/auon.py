"""AuON and Hybrid-AuON (arXiv 2509.24320; REFERENCES §6).

AuON: momentum as in Muon; ``X = U / ‖U‖_F``; ``r = √mean(cosh(X)²)``;
``W ← (1 − ηλ)W − η·max(1, m/n)^½·X / r``. Hybrid-AuON runs ``ns_steps`` Newton-Schulz steps on ``U``
first and applies the same hyperbolic-cosine scaling to the result. Since ``Σ X² = 1`` for AuON,
``r ≈ 1 + 1/(2mn)``: AuON is close to Frobenius-normalised momentum SGD.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer
from sciml.optim.polar import newton_schulz


def cosh_rms(x: Tensor) -> Tensor:
    """``r = √mean(cosh(X)²)``."""
    return torch.cosh(x).square().mean().sqrt()


class AuON(MatrixOptimizer):
    """AuON: Frobenius-normalised momentum divided by its hyperbolic-cosine RMS."""

    def __init__(self, params: Iterable, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, **defaults) -> None:
        super().__init__(params, lr, momentum, nesterov, weight_decay, **defaults)

    def normalize(self, m: Tensor, group: dict) -> Tensor:
        return m / m.norm().clamp_min(torch.finfo(m.dtype).tiny)

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        x = self.normalize(m, group)
        rows, cols = m.shape
        return x * (max(1.0, rows / cols) ** 0.5 / cosh_rms(x))


class HybridAuON(AuON):
    """Hybrid-AuON: ``ns_steps`` quintic Newton-Schulz steps, then AuON's scaling."""

    def __init__(self, params: Iterable, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, ns_steps: int = 2) -> None:
        if not 1 <= ns_steps <= 5:
            raise ValueError(f"ns_steps must lie in 1..5, got {ns_steps}")
        super().__init__(params, lr, momentum, nesterov, weight_decay, ns_steps=ns_steps)

    def normalize(self, m: Tensor, group: dict) -> Tensor:
        return newton_schulz(m, group["ns_steps"])
