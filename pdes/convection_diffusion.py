"""Convection-diffusion ``u_t + c u_x = ν u_xx`` on ``x ∈ [0, 2π)`` periodic, ``t ∈ [0, 1]``, ``u₀ = sin x``.

Exact solution ``u = exp(−ν t) sin(x − c t)``. The plain PINN fails for large ``c`` (Krishnapriyan et al.,
NeurIPS 2021); the LPINN of Mojgani, Balajewicz & Hassanzadeh (CMAME 2023, Eq. 10–12) solves it on
characteristics ``dX/dt = c`` with ``dU/dt = ν ∂²U/∂X²`` (see :mod:`sciml.train.lpinn`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._evolution import Evolution1D
from sciml.errors import ConfigError
from sciml.fields import Field


class ConvectionDiffusion(Evolution1D):
    name = "convection_diffusion"
    lo, hi = 0.0, 2 * math.pi

    def __init__(self, speed: float = 10.0, viscosity: float = 0.01, t1: float = 1.0,
                 batch_size: int | dict[str, int] | None = None, periodic_bc: bool = True,
                 hard_ic: bool = False) -> None:
        if viscosity < 0:
            raise ConfigError("viscosity", f"must be non-negative, got {viscosity}")
        if not t1 > 0:
            raise ConfigError("t1", f"must be positive, got {t1}")
        self.speed, self.viscosity, self.t1 = float(speed), float(viscosity), float(t1)
        super().__init__(batch_size, periodic_bc, hard_ic)

    def initial(self, x: Tensor) -> Tensor:
        return torch.sin(x).unsqueeze(1)

    def exact(self, x: Tensor) -> Tensor:
        xs, t = x[:, 0], x[:, 1]
        return (torch.exp(-self.viscosity * t) * torch.sin(xs - self.speed * t)).unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        r = u.d("t") + self.speed * u.d("x")
        return r - self.viscosity * u.d("x", "x") if self.viscosity else r

    # --- the Lagrangian form (sciml.train.lpinn) ---------------------------------------------------------
    def characteristic_speed(self, state: Tensor) -> Tensor:
        """``dX/dt`` along a characteristic: the constant ``c``."""
        return torch.full_like(state, self.speed)

    @property
    def speed_scale(self) -> float:
        """Typical characteristic speed, ``max(|c|, 1)`` (scales the LPINN residual ``r_x``)."""
        return max(abs(self.speed), 1.0)
