"""Scion-style steps: steepest descent as the linear minimisation oracle (LMO) of a layer norm
(Bernstein & Newhouse 2024, "Old optimizer, new norm"; Pethick et al. 2025, "Training deep learning
models with norm-constrained LMOs").

``D ← βD + (1−β)G``; ``W ← (1 − γ)W − γρ·LMO(D)`` (constrained) or ``W ← W − γρ·LMO(D)``. Oracles
(each the maximiser of ``⟨D, X⟩`` over the unit ball of the named operator norm, sign flipped by the step):

- ``spectral`` (RMS→RMS): ``√(d_out/d_in)·polar(D)`` (Muon's direction);
- ``sign`` (ℓ1→ℓ∞, scaled as in Scion's output layer): ``sign(D) / d_in``;
- ``row`` (the max row norm, ℓ2→ℓ∞): every row scaled to unit norm;
- ``col`` (the max column norm, ℓ1→ℓ2): every column scaled to unit norm.

Scion's MLP recipe: input and hidden spectral, output sign with ``ρ`` large (``2¹⁰`` in the paper).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer
from sciml.optim.muon import orthogonalize
from sciml.optim.symmetric import col_normalize, row_normalize

NORMS = ("spectral", "sign", "row", "col")


def lmo(d: Tensor, norm: str, polar: str = "newton_schulz", ns_steps: int = 5) -> Tensor:
    """``argmax_{‖X‖ ≤ 1} ⟨D, X⟩`` for ``norm``."""
    rows, cols = d.shape
    if norm == "spectral":
        return orthogonalize(d, polar, ns_steps) * (rows / cols) ** 0.5
    if norm == "sign":
        return torch.sign(d) / cols
    if norm == "row":
        return row_normalize(d)
    if norm == "col":
        return col_normalize(d)
    raise ValueError(f"unknown norm {norm!r}; options: {', '.join(NORMS)}")


class Scion(MatrixOptimizer):
    """LMO step for ``norm`` with radius ``radius``; ``constrained=True`` adds the ``(1 − γ)W`` shrinkage."""

    def __init__(self, params: Iterable, lr: float = 1e-2, momentum: float = 0.9, nesterov: bool = False,
                 norm: str = "spectral", radius: float = 1.0, constrained: bool = False,
                 polar: str = "newton_schulz", ns_steps: int = 5) -> None:
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; options: {', '.join(NORMS)}")
        super().__init__(params, lr, momentum, nesterov, 1.0 if constrained else 0.0, norm=norm, radius=radius,
                         constrained=constrained, polar=polar, ns_steps=ns_steps)

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        return group["radius"] * lmo(m, group["norm"], group["polar"], group["ns_steps"])
