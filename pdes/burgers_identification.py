"""Data-driven discovery of Burgers' equation (Raissi, Perdikaris & Karniadakis 2019, JCP 378, Sec. 4.1.1):
from observations of ``u`` at scattered points of ``burgers_shock.mat``, find ``λ₁, λ₂`` in

    u_t + λ₁ u u_x − λ₂ u_xx = 0,        true λ₁ = 1, λ₂ = 0.01/π,

with a continuous-time model: the network fits the data (term ``data``) and the PDE residual vanishes at the
same points (term ``pde``). ``noise`` adds Gaussian noise of standard deviation ``noise · std(u)`` to the
observations (their convention: 0.01 for "1 % noise"), drawn from ``noise_seed``. Raissi et al. report, with
2,000 points, λ₁ = 0.99915, λ₂ = 0.0031794 (clean; errors 0.085 %, 0.12 %) and λ₁ = 1.00025, λ₂ = 0.0031762
(1 % noise; errors 0.025 %, 0.22 %); true λ₂ = 0.0031831.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._reference import OnReferenceGrid
from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry import FixedPoints
from sciml.problem import Problem, Term
from sciml.unknowns import Unknown

TRUE = {"lambda1": 1.0, "lambda2": 0.01 / math.pi}


class BurgersIdentification(OnReferenceGrid, Problem):
    name = "burgers_identification"
    variables = ["x", "t"]
    data_file = "burgers_shock.mat"

    def __init__(self, points: int = 2000, noise: float = 0.0, seed: int = 0, noise_seed: int = 0,
                 lambda1: float = 0.0, lambda2: float = math.exp(-6.0)) -> None:
        self.points = positive_int(points, "points")
        if not float(noise) >= 0:
            raise ConfigError("noise", f"must be non-negative, got {noise}")
        grid = self.grid()
        x, u = grid.points(torch.float64, "cpu"), grid.values(torch.float64, "cpu")
        if self.points > x.shape[0]:
            raise ConfigError("points", f"at most {x.shape[0]} observations exist, got {self.points}")
        pick = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[: self.points]
        self.x_obs, u_obs = x[pick], u[pick]
        noisy = torch.randn(u_obs.shape, generator=torch.Generator().manual_seed(10_007 + noise_seed),
                            dtype=torch.float64)
        self.u_obs = u_obs + float(noise) * u_obs.std() * noisy
        self.noise = float(noise)
        self.lambda1 = Unknown(lambda1)
        self.lambda2 = Unknown(lambda2, positive=True)

    def bounds(self) -> list[tuple[float, float]]:
        return [(-1.0, 1.0), (0.0, 1.0)]

    def data_residual(self, u: Field) -> Tensor:
        return u.value - u.data["u"][:, 0]

    def pde_residual(self, u: Field) -> Tensor:
        return u.d("t") + self.lambda1() * u.value * u.d("x") - self.lambda2() * u.d("x", "x")

    def score(self, net) -> dict[str, float]:
        """Relative errors of the recovered coefficients."""
        return {f"{name}_rel_err": abs(unknown.value - TRUE[name]) / TRUE[name]
                for name, unknown in self.unknowns().items()}

    def terms(self) -> dict[str, Term]:
        return {
            "data": Term(FixedPoints(self.x_obs, {"u": self.u_obs}), self.data_residual, self.points),
            "pde": Term(FixedPoints(self.x_obs), self.pde_residual, self.points),
        }
