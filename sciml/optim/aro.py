"""ARO: adaptive rotation optimizer (Gong et al. 2026, arXiv 2602.09006; REFERENCES §6).

A rotation ``R ∈ O(m)`` (initially ``I``) is kept per matrix. Each step
``M ← βM + (1−β)G``; ``C = M f(RᵀM)ᵀ``; ``R ←`` the Q factor of ``QR(C)`` (signs fixed so that the
triangular factor has a non-negative diagonal); ``W ← (1 − ηλ)W − η·s·R f(RᵀM)``.
``f`` is Sinkhorn normalisation (rows to norm ``√n`` and columns to norm ``√m``, alternately, 5 rounds),
row normalisation (rows to norm ``√n``) or ``sign``; each gives unit root-mean-square entries, so the
scale ``s = 0.2`` gives the update RMS of the ``0.2·√max(m, n)`` convention applied to an orthonormal
direction.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer
from sciml.optim.symmetric import col_normalize, row_normalize

POLICIES = ("sinkhorn", "row", "sign")


def sinkhorn(m: Tensor, rounds: int = 5) -> Tensor:
    """Alternate row scaling to norm ``√n`` and column scaling to norm ``√m`` (``rounds`` times each)."""
    rows, cols = m.shape
    for _ in range(rounds):
        m = row_normalize(m) * cols**0.5
        m = col_normalize(m) * rows**0.5
    return m


def policy(m: Tensor, kind: str, rounds: int = 5) -> Tensor:
    if kind == "sinkhorn":
        return sinkhorn(m, rounds)
    if kind == "row":
        return row_normalize(m) * m.shape[1] ** 0.5
    if kind == "sign":
        return torch.sign(m)
    raise ValueError(f"unknown policy {kind!r}; options: {', '.join(POLICIES)}")


def q_factor(c: Tensor) -> Tensor:
    """The orthogonal factor of ``QR(C)`` with a non-negative diagonal of ``R`` (unique for full rank)."""
    q, r = torch.linalg.qr(c)
    signs = torch.sign(torch.diagonal(r))
    return q * torch.where(signs == 0, torch.ones_like(signs), signs)


class ARO(MatrixOptimizer):
    """ARO with ``f = policy`` (``"sinkhorn"``, ``"row"`` or ``"sign"``) and update scale ``scale``."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.9, nesterov: bool = False,
                 weight_decay: float = 0.0, policy: str = "sinkhorn", scale: float = 0.2,
                 sinkhorn_rounds: int = 5) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; options: {', '.join(POLICIES)}")
        super().__init__(params, lr, momentum, nesterov, weight_decay, policy=policy, scale=scale,
                         sinkhorn_rounds=sinkhorn_rounds)

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        if "rotation" not in state:
            state["rotation"] = torch.eye(m.shape[0], dtype=m.dtype, device=m.device)
        kind, rounds = group["policy"], group["sinkhorn_rounds"]
        rot = state["rotation"]
        rot = q_factor(m @ policy(rot.mT @ m, kind, rounds).mT)
        state["rotation"] = rot
        return group["scale"] * (rot @ policy(rot.mT @ m, kind, rounds))
