"""Muon: momentum orthogonalised by Newton-Schulz (K. Jordan et al. 2024, "Muon: an optimizer for hidden
layers in neural networks"; REFERENCES §6).

``M ← βM + (1−β)G``; Nesterov ``U = (1−β)G + βM``; ``X ≈ polar(U)`` by five quintic Newton-Schulz steps in
the working precision (or exactly, by SVD or QDWH, for the small matrices of a PINN);
``W ← (1 − ηλ)W − η·max(1, m/n)^½·X``. ``torch.optim.Muon`` runs Newton-Schulz in bf16, too coarse for
second-derivative losses; this one keeps float32 / float64 throughout.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer
from sciml.optim.polar import JORDAN, METHODS, newton_schulz, polar_qdwh, polar_svd


def orthogonalize(m: Tensor, method: str, ns_steps: int) -> Tensor:
    """``polar(M)``: approximately by Newton-Schulz, or exactly by ``svd`` / ``qdwh``."""
    if method == "newton_schulz":
        return newton_schulz(m, ns_steps, JORDAN)
    if method == "svd":
        return polar_svd(m)
    if method == "qdwh":
        return polar_qdwh(m)
    raise ValueError(f"unknown polar method {method!r}; options: {', '.join(METHODS)}")


class Muon(MatrixOptimizer):
    """Muon with ``polar = "newton_schulz"`` (default, ``ns_steps`` quintic steps), ``"svd"`` or ``"qdwh"``."""

    def __init__(self, params: Iterable, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, polar: str = "newton_schulz", ns_steps: int = 5) -> None:
        if polar not in METHODS:
            raise ValueError(f"unknown polar method {polar!r}; options: {', '.join(METHODS)}")
        super().__init__(params, lr, momentum, nesterov, weight_decay, polar=polar, ns_steps=ns_steps)

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        rows, cols = m.shape
        return orthogonalize(m, group["polar"], group["ns_steps"]) * max(1.0, rows / cols) ** 0.5
