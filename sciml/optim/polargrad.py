"""PolarGrad (Lau, Long & Su 2025, arXiv 2505.21799): momentum-first and polar-first variants.

Momentum-first: ``M ← βM + (1−β)G``, ``U = polar(M)``, ``ν = ⟨M, U⟩ = ‖M‖_*`` (nuclear norm),
``W ← (1 − ηλ)W − η ν U``. Polar-first: ``U = polar(G)``, ``ν = ⟨G, U⟩``, momentum on ``U``, step ``ν M``.
The nuclear-norm factor makes the step shrink with the gradient, so learning rates live on a different
scale from Muon's. The polar factor is computed by QDWH (default), Newton-Schulz or SVD.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer
from sciml.optim.polar import METHODS, polar

VARIANTS = ("momentum_first", "polar_first")


def nuclear_scaled_polar(m: Tensor, method: str, ns_steps: int) -> tuple[Tensor, Tensor]:
    """``(U, ν)`` with ``U = polar(M)`` and ``ν = ⟨M, U⟩`` (equal to ``‖M‖_*`` for an exact polar factor)."""
    u = polar(m, method, ns_steps)
    return u, (m * u).sum()


class PolarGrad(MatrixOptimizer):
    """PolarGrad; ``variant`` is ``"momentum_first"`` (default) or ``"polar_first"``."""

    def __init__(self, params: Iterable, lr: float = 0.05, momentum: float = 0.9, nesterov: bool = False,
                 weight_decay: float = 0.0, variant: str = "momentum_first", polar: str = "qdwh",
                 ns_steps: int = 5) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; options: {', '.join(VARIANTS)}")
        if polar not in METHODS:
            raise ValueError(f"unknown polar method {polar!r}; options: {', '.join(METHODS)}")
        super().__init__(params, lr, momentum, nesterov, weight_decay, variant=variant, polar=polar,
                         ns_steps=ns_steps)

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        u, nu = nuclear_scaled_polar(m, group["polar"], group["ns_steps"])
        return nu * u

    def update(self, g: Tensor, state: dict, group: dict) -> Tensor:
        if group["variant"] == "momentum_first":
            return super().update(g, state, group)
        u, nu = nuclear_scaled_polar(g, group["polar"], group["ns_steps"])
        return nu * self.momentum(u, state, group)
