"""Logistic reaction ``u_t = ρ u (1 − u)`` on ``x ∈ [0, 2π)`` periodic, ``t ∈ [0, 1]``.

Krishnapriyan et al. (NeurIPS 2021, Sec. 3.3) with ``u₀ = exp(−(x − π)² / (2 (π/4)²))``; the ODE at each
``x`` gives ``u = u₀ e^{ρt} / (u₀ e^{ρt} + 1 − u₀)``. Rathore et al. (ICML 2024) report 9.92e-3 for ρ = 5.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._evolution import Evolution1D
from sciml.fields import Field


class Reaction(Evolution1D):
    name = "reaction"
    lo, hi = 0.0, 2 * math.pi
    periodic_slope = False  # the Gaussian u₀ matches its values, not its slopes, at 0 and 2π

    def __init__(self, rho: float = 5.0, batch_size: int | dict[str, int] | None = None,
                 periodic_bc: bool = True, hard_ic: bool = False) -> None:
        self.rho = float(rho)
        super().__init__(batch_size, periodic_bc, hard_ic)

    def initial(self, x: Tensor) -> Tensor:
        return torch.exp(-((x - math.pi) ** 2) / (2 * (math.pi / 4) ** 2)).unsqueeze(1)

    def exact(self, x: Tensor) -> Tensor:
        u0 = self.initial(x[:, 0])
        growth = torch.exp(self.rho * x[:, 1:2])
        return u0 * growth / (u0 * growth + 1 - u0)

    def pde_residual(self, u: Field) -> Tensor:
        v = u.value
        return u.d("t") - self.rho * v * (1 - v)
