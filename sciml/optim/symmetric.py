"""Symmetry-compatible matrix updates (arXiv 2605.18106; REFERENCES §6).

The update of a weight block must be equivariant under the block's symmetry group. For an MLP the
hidden neurons can be permuted (and sign-flipped for odd activations): a neuron is a *row* of the layer
that feeds it and a *column* of the layer that reads it. Updates, each on the momentum ``M ∈ ℝ^{m×n}``:

- row-norm: every row divided by its norm (equivariant to row permutations, any column rotation);
- column-norm: every column divided by its norm (equivariant to column permutations);
- left-spectral ``(M Mᵀ + εI)^{-½} M`` and right-spectral ``M (MᵀM + εI)^{-½}`` (both equal ``polar(M)``
  at ``ε = 0``);
- hybrid: row-norm, then the right polar factor;
- ``center=True`` subtracts each row's mean first (for a softmax-like shift symmetry);
- ``alpha``: the direction is multiplied by ``ν^α`` with ``ν = ⟨M, D⟩ / ‖D‖_F²``.

Every direction is scaled to unit root-mean-square entry (the size of ``sign(M)`` and of Adam's first
steps), so learning rates are comparable across these rules. ``ε`` is relative: ``ε · tr(MᵀM) / n``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from sciml.optim.matrix import MatrixOptimizer, dual_scale


def row_normalize(m: Tensor) -> Tensor:
    """Each row scaled to unit Euclidean norm (zero rows stay zero)."""
    return m / m.norm(dim=1, keepdim=True).clamp_min(torch.finfo(m.dtype).tiny)


def col_normalize(m: Tensor) -> Tensor:
    """Each column scaled to unit Euclidean norm (zero columns stay zero)."""
    return m / m.norm(dim=0, keepdim=True).clamp_min(torch.finfo(m.dtype).tiny)


def inverse_sqrt_psd(a: Tensor, eps: float) -> Tensor:
    """``(A + ε' I)^{-½}`` for a symmetric positive semi-definite ``A``, ``ε' = ε · tr(A) / dim``."""
    vals, vecs = torch.linalg.eigh(a)
    shift = eps * vals.clamp_min(0).mean()
    floor = torch.finfo(a.dtype).tiny
    return (vecs * (vals.clamp_min(0) + shift).clamp_min(floor).rsqrt()) @ vecs.mT


def left_spectral(m: Tensor, eps: float = 0.0) -> Tensor:
    """``(M Mᵀ + εI)^{-½} M``; the pseudo-inverse square root on exact zero eigenvalues at ``ε = 0``."""
    if eps == 0.0:
        return _polar_pinv(m)
    return inverse_sqrt_psd(m @ m.mT, eps) @ m


def right_spectral(m: Tensor, eps: float = 0.0) -> Tensor:
    """``M (MᵀM + εI)^{-½}``."""
    if eps == 0.0:
        return _polar_pinv(m)
    return m @ inverse_sqrt_psd(m.mT @ m, eps)


def _polar_pinv(m: Tensor) -> Tensor:
    """``U Vᵀ`` over the nonzero singular values (the ``ε → 0`` limit of both spectral updates)."""
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    keep = (s > s.max() * m.shape[0] * torch.finfo(m.dtype).eps).to(m.dtype)
    return (u * keep) @ vh


def unit_rms(d: Tensor) -> Tensor:
    """``D`` scaled to unit root-mean-square entry (a zero ``D`` stays zero)."""
    square = (d * d).sum()
    return d * torch.where(square > 0, d.numel() / square, torch.zeros_like(square)).sqrt()


class SymmetricUpdate(MatrixOptimizer):
    """Base of the symmetry-compatible updates: centring, unit-RMS scaling and the ``ν^α`` factor."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.9, nesterov: bool = True,
                 weight_decay: float = 0.0, center: bool = False, alpha: float = 0.0, **defaults) -> None:
        super().__init__(params, lr, momentum, nesterov, weight_decay, center=center, alpha=alpha, **defaults)

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        raise NotImplementedError

    def direction(self, m: Tensor, state: dict, group: dict) -> Tensor:
        if group["center"]:
            m = m - m.mean(dim=1, keepdim=True)
        d = unit_rms(self.raw_direction(m, group))
        if group["alpha"]:
            d = d * dual_scale(m, d).clamp_min(0) ** group["alpha"]
        return d


class RowNorm(SymmetricUpdate):
    """Row-normalised momentum: each neuron's incoming weights move by the same amount."""

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        return row_normalize(m)


class ColNorm(SymmetricUpdate):
    """Column-normalised momentum; for a one-row output layer this is ``sign(M)``."""

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        return col_normalize(m)


class LeftSpectral(SymmetricUpdate):
    """``(M Mᵀ + εI)^{-½} M``: equivariant to orthogonal maps on the left, permutations on the right."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.9, nesterov: bool = True,
                 weight_decay: float = 0.0, center: bool = False, alpha: float = 0.0, eps: float = 0.0) -> None:
        super().__init__(params, lr, momentum, nesterov, weight_decay, center, alpha, eps=eps)

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        return left_spectral(m, group["eps"])


class RightSpectral(LeftSpectral):
    """``M (MᵀM + εI)^{-½}``."""

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        return right_spectral(m, group["eps"])


class HybridSymmetric(LeftSpectral):
    """Row-norm, then the right spectral (polar) factor: ``R (RᵀR + εI)^{-½}`` with ``R = rownorm(M)``."""

    def raw_direction(self, m: Tensor, group: dict) -> Tensor:
        return right_spectral(row_normalize(m), group["eps"])
