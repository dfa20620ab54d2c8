"""Sine and cosine of single-precision arguments in ``[−π, π]`` by polynomials, for compiled elementwise loops.

Inside a ``torch.compile``-d loop, ``torch.sin`` and ``torch.cos`` become vectorised library calls that
handle any argument (range reduction, special values). Where the argument is known to lie in ``[−π, π]`` — a
uniform angle of the Box-Muller transform, a coordinate of a point of the unit ball, the phase of a bounded
sum of such terms — two short polynomials do the same work in a few fused multiply-adds: with ``h = t/2``
(``|h| ≤ π/2``),

    sin h ≈ Σ_{k=0}^{6} (−1)^k h^{2k+1} / (2k+1)!,    cos h ≈ Σ_{k=0}^{7} (−1)^k h^{2k} / (2k)!,

truncated where the next Taylor term is below ``7·10⁻¹⁰`` at ``|h| = π/2`` (the series alternate with
decreasing terms there, so the truncation error is below the first omitted term), and the double-angle formulas
``sin t = 2 sin h cos h``, ``cos t = (cos h − sin h)(cos h + sin h)``.
Evaluated in float32 the results are within 4·10⁻⁷ of the exact values (a few units in the last place of
numbers near 1; tested against float64 over the interval), which is what every consumer here needs. Other
dtypes take ``torch.sin`` and ``torch.cos`` unchanged: double precision is never traded.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: the Taylor coefficients of sin h (odd powers h¹ … h¹³) and cos h (even powers h⁰ … h¹⁴)
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(7))
_COS = tuple((-1) ** k / math.factorial(2 * k) for k in range(8))


def _series(coefficients: tuple[float, ...], h2: Tensor) -> Tensor:
    """``Σ_k c_k h^{2k}`` by Horner's rule in ``h²``."""
    acc = torch.full_like(h2, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc = acc * h2 + c
    return acc


def bounded_sincos(t: Tensor, bound: float = math.pi) -> tuple[Tensor, Tensor]:
    """``(sin t, cos t)`` for ``|t| ≤ bound ≤ π``: by the polynomials of the module docstring in float32 (for
    ``bound ≤ 1`` the series in ``t`` itself, without the double angle: there the first omitted terms are
    ``1/15!`` and ``1/16!``), by ``torch.sin``/``torch.cos`` in any other dtype. Arguments are not reduced: the
    caller guarantees the bound."""
    if not 0 < bound <= math.pi:
        raise ValueError(f"bound must lie in (0, π], got {bound!r}")
    if t.dtype != torch.float32:
        return torch.sin(t), torch.cos(t)
    if bound <= 1.0:
        t2 = t * t
        return _series(_SIN, t2) * t, _series(_COS, t2)
    h = 0.5 * t
    h2 = h * h
    sin_h = _series(_SIN, h2) * h
    cos_h = _series(_COS, h2)
    return 2.0 * sin_h * cos_h, (cos_h - sin_h) * (cos_h + sin_h)


__all__ = ["bounded_sincos"]
