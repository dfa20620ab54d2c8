"""Black-Scholes-Barenblatt equation in ``d`` dimensions (Raissi 2018; SDGD paper Sec. 5.3; STDE Sec. 5).

    u_t + ½σ² Σ_i x_i² ∂²u/∂x_i² − r (u − x·∇u) = 0,   u(x, T) = ‖x‖²,

with exact solution ``u = exp((r + σ²)(T − t)) ‖x‖²`` (σ = 0.4, r = 0.05). The terminal condition is
imposed exactly, ``u = (T − t)·MLP(x, t) + ‖x‖²``. The weighted trace uses ``u.hessian_diag``, so under
a dimension-sampling engine it is estimated by ``(d/|J|) Σ_{i∈J} x_i² ∂²u/∂x_i²``.
Points: ``x`` in the unit ball (radius ``U[0, 1]`` × Gaussian direction), ``t ~ U[0, T]``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pdes.hjb import _TerminalProblem
from sciml.fields import Field
from sciml.models.constrained import BallFactor


class NormSquared(BallFactor):
    """``g(x) = ‖x‖²`` over the first ``dim`` inputs (the negated ball factor of radius 0)."""

    def __init__(self, dim: int) -> None:
        super().__init__(0.0, dim)

    def __call__(self, x: Tensor) -> Tensor:
        return -super().__call__(x)

    def jet(self, x: Tensor, dims: Tensor):
        return tuple(-t for t in super().jet(x, dims))


class BlackScholesBarenblatt(_TerminalProblem):
    name = "black_scholes_barenblatt"

    def __init__(self, dim: int = 100, horizon: float = 1.0, sigma: float = 0.4, rate: float = 0.05,
                 batch_size: int = 100, domain: str = "gaussian") -> None:
        super().__init__(dim, horizon, batch_size, domain)
        self.sigma, self.rate = float(sigma), float(rate)

    def terminal(self) -> NormSquared:
        return NormSquared(self.size)

    def exact(self, x: Tensor) -> Tensor:
        decay = torch.exp((self.rate + self.sigma**2) * (self.horizon - x[:, -1]))
        return (decay * x[:, : self.size].square().sum(1)).unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        xs = u.x[:, : self.size]
        diffusion = 0.5 * self.sigma**2 * (xs.square() * u.hessian_diag).sum(1)
        drift = (xs * u.grad[:, : self.size]).sum(1)
        return u.d("t") + diffusion - self.rate * (u.value - drift)


__all__ = ["BlackScholesBarenblatt", "NormSquared"]
