"""Polar factors ``polar(X) = U Vᵀ`` of ``X = U Σ Vᵀ`` in the working precision (float32 / float64).

- :func:`newton_schulz`: the odd polynomial iteration ``X ← a X + (b A + c A²) X``, ``A = X Xᵀ``, started
  from ``X / ‖X‖_F``. With Jordan's quintic coefficients ``(3.4445, −4.7750, 2.0315)`` (Muon, K. Jordan
  2024) five steps push every singular value into a band around 1 without converging to it; the cubic
  coefficients ``(1.5, −0.5, 0)`` (Higham, *Functions of Matrices*, 2008, ch. 8) converge to the exact
  polar factor for singular values in ``(0, √3)``.
- :func:`polar_qdwh`: the QR-based dynamically weighted Halley iteration (Nakatsukasa, Bai & Gygi,
  SIAM J. Matrix Anal. Appl. 31 (2010)), converging cubically from any
  lower bound ``ℓ₀ ≤ σ_min(X / α)``.
- :func:`polar_svd`: the exact factor from a thin SVD (small matrices).

Each works on the last two axes of the input and keeps its dtype and device; none drops to bf16.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.errors import ConfigError

JORDAN = (3.4445, -4.7750, 2.0315)
CUBIC = (1.5, -0.5, 0.0)
METHODS = ("newton_schulz", "qdwh", "svd")


def _tall(fn):
    """Apply ``fn`` to ``X`` with at least as many rows as columns, transposing back if needed."""

    def wrapped(x: Tensor, *args, **kwargs) -> Tensor:
        if x.shape[-2] < x.shape[-1]:
            return fn(x.mT, *args, **kwargs).mT
        return fn(x, *args, **kwargs)

    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


def newton_schulz(x: Tensor, steps: int = 5, coefficients: tuple[float, float, float] = JORDAN,
                  refine: int = 0) -> Tensor:
    """``steps`` Newton-Schulz iterations on ``X / ‖X‖_F``, then ``refine`` cubic steps.

    The iteration acts on each singular value as the scalar map ``σ ← a σ + b σ³ + c σ⁵``, so the
    singular vectors are those of ``X`` (orthogonal equivariance is exact).
    """
    tall = x.shape[-2] > x.shape[-1]
    y = x.mT if tall else x  # iterate on the short side: A = X Xᵀ is the smaller Gram matrix
    y = y / y.norm(dim=(-2, -1), keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    for k in range(steps + refine):
        a, b, c = coefficients if k < steps else CUBIC
        gram = y @ y.mT
        y = a * y + (b * gram + c * (gram @ gram)) @ y if c else a * y + b * (gram @ y)
    return y.mT if tall else y


@_tall
def polar_svd(x: Tensor) -> Tensor:
    """Exact polar factor ``U Vᵀ`` from the thin SVD."""
    u, _, vh = torch.linalg.svd(x, full_matrices=False)
    return u @ vh


def _qdwh_weights(ell: float) -> tuple[float, float, float]:
    """Dynamically weighted Halley weights ``(a, b, c)`` for the lower bound ``ℓ`` (Nakatsukasa et al. 2010)."""
    ell2 = ell * ell
    gamma = (4.0 * (1.0 - ell2) / (ell2 * ell2)) ** (1.0 / 3.0)
    root = math.sqrt(1.0 + gamma)
    a = root + 0.5 * math.sqrt(8.0 - 4.0 * gamma + 8.0 * (2.0 - ell2) / (ell2 * root))
    b = (a - 1.0) ** 2 / 4.0
    return a, b, a + b - 1.0


@_tall
def polar_qdwh(x: Tensor, max_iter: int = 12, lower: float | None = None) -> Tensor:
    """Polar factor by QDWH: ``X ← (b/c) X + (a − b/c)/√c · Q₁ Q₂ᵀ`` with ``[√c X; I] = [Q₁; Q₂] R``.

    ``lower`` is a lower bound on ``σ_min(X) / ‖X‖_F``; the default (machine epsilon) is safe for any
    full-rank input and costs at most six iterations in float64.
    """
    if x.ndim != 2:
        return torch.stack([polar_qdwh(m, max_iter, lower) for m in x.reshape(-1, *x.shape[-2:])]).reshape(x.shape)
    m, n = x.shape
    eps = torch.finfo(x.dtype).eps
    alpha = x.norm().clamp_min(torch.finfo(x.dtype).tiny)
    y = x / alpha
    ell = float(lower) if lower is not None else eps
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    for _ in range(max_iter):
        if abs(1.0 - ell) <= 10 * eps:
            break
        a, b, c = _qdwh_weights(ell)
        q, _ = torch.linalg.qr(torch.cat([math.sqrt(c) * y, eye]))
        y = (b / c) * y + ((a - b / c) / math.sqrt(c)) * (q[:m] @ q[m:].mT)
        ell = min(1.0, ell * (a + b * ell * ell) / (1.0 + c * ell * ell))
    # one Newton-Schulz step removes the last rounding-level deviation from orthogonality
    return 1.5 * y - 0.5 * y @ (y.mT @ y)


def polar(x: Tensor, method: str = "qdwh", steps: int = 5) -> Tensor:
    """Polar factor by ``method``: ``qdwh``, ``svd`` or ``newton_schulz`` (quintic steps + cubic refinement)."""
    if method == "qdwh":
        return polar_qdwh(x)
    if method == "svd":
        return polar_svd(x)
    if method == "newton_schulz":
        return newton_schulz(x, steps, JORDAN, refine=10)
    raise ConfigError("polar", f"unknown polar method {method!r}; options: {', '.join(METHODS)}")
