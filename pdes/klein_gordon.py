"""Klein-Gordon equation in 1-D (Wang, Teng & Perdikaris 2020, arXiv 2001.04536, Sec. 2.3, Eq. 2.10–2.12).

``u_tt + α u_xx + β u + γ u^k = f`` on ``(x, t) ∈ [0, 1]²`` with ``α = −1, β = 0, γ = 1, k = 3`` and the
exact solution ``u = x cos(5πt) + (xt)³``; ``f`` is the operator applied to it. Terms:

- ``pde``: the residual at uniform interior points;
- ``ic``: ``u(x, 0) − x`` and ``u_t(x, 0)`` at the same initial points (one term);
- ``bc``: ``u − u_exact`` on ``x = 0`` and ``x = 1`` (half the points on each side).

With ``sum_parts`` (default) each of the two grouped terms has the loss of the authors' code, the *sum* of
its parts' mean squares (``mean (u − x)² + mean u_t²``, ``mean r₀² + mean r₁²``), rather than one mean over
all residuals (half of it); the residuals are scaled by ``√2`` to that end. The paper draws 128 fresh points
per term and side every step (``batch_size: {pde: 128, ic: 128, bc: 256}``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.geometry import BoxSampler, FaceSampler, TimeProduct
from sciml.problem import Problem, Term, batch_sizes


class _SidesSampler:
    """Equal shares of points on the two faces ``x = 0`` and ``x = 1`` of the space-time box."""

    def __init__(self, bounds: list[tuple[float, float]]) -> None:
        self.faces = [FaceSampler(bounds, axis=0, side=0), FaceSampler(bounds, axis=0, side=1)]
        self.dim = len(bounds)

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        half = n // 2
        return torch.cat([self.faces[0].sample(half, generator, dtype),
                          self.faces[1].sample(n - half, generator, dtype)])


class KleinGordon(Problem):
    name = "klein_gordon"
    variables = ["x", "t"]
    time_variable = "t"

    def __init__(self, alpha: float = -1.0, beta: float = 0.0, gamma: float = 1.0, k: int = 3,
                 batch_size: int | dict[str, int] | None = None, sum_parts: bool = True) -> None:
        if not isinstance(k, int) or k < 1:
            raise ConfigError("k", f"must be a positive integer power, got {k!r}")
        self.alpha, self.beta, self.gamma, self.k = float(alpha), float(beta), float(gamma), k
        self.batch = batch_sizes(batch_size or {"pde": 128, "ic": 128, "bc": 256}, ["pde", "ic", "bc"])
        self.part_scale = math.sqrt(2.0) if sum_parts else 1.0

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0), (0.0, 1.0)]

    def exact(self, x: Tensor) -> Tensor:
        s, t = x[:, 0], x[:, 1]
        return (s * torch.cos(5 * math.pi * t) + (s * t) ** 3).unsqueeze(1)

    def source(self, x: Tensor) -> Tensor:
        """``f = u_tt + α u_xx + β u + γ u^k`` of the exact solution, in closed form."""
        s, t = x[:, 0], x[:, 1]
        u = self.exact(x)[:, 0]
        u_tt = -25 * math.pi**2 * s * torch.cos(5 * math.pi * t) + 6 * s**3 * t
        u_xx = 6 * s * t**3
        return u_tt + self.alpha * u_xx + self.beta * u + self.gamma * u**self.k

    def pde_residual(self, u: Field) -> Tensor:
        v = u.value
        return u.d("t", "t") + self.alpha * u.d("x", "x") + self.beta * v + self.gamma * v**self.k \
            - self.source(u.x)

    def ic_residual(self, u: Field) -> Tensor:
        return torch.cat([u.value - u.var("x"), u.d("t")]) * self.part_scale

    def bc_residual(self, u: Field) -> Tensor:
        return (u.value - self.exact(u.x)[:, 0]) * self.part_scale

    def terms(self) -> dict[str, Term]:
        bounds = self.bounds()
        return {
            "pde": Term(BoxSampler(bounds), self.pde_residual, self.batch["pde"]),
            "ic": Term(TimeProduct(BoxSampler(bounds[:1]), t_value=0.0), self.ic_residual, self.batch["ic"]),
            "bc": Term(_SidesSampler(bounds), self.bc_residual, self.batch["bc"]),
        }
