"""Poisson's equation ``Δu = f`` on a box ``[lo, hi]^d`` in any dimension, Dirichlet data from ``u``.

Solutions (``solution=``):
- ``sin_prod``: ``u = Π_i sin(π x_i)``, so ``f = −d π² u`` (the classic 2-D benchmark);
- ``sin_sum``: ``u = Σ_i sin(π x_i / 2)``, so ``f = −(π/2)² Σ_i sin(π x_i / 2)`` (Hu et al. 2023, SDGD).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._box import DirichletBoxProblem
from sciml.errors import ConfigError
from sciml.fields import Field

SOLUTIONS = ("sin_prod", "sin_sum")


class Poisson(DirichletBoxProblem):
    name = "poisson"

    def __init__(self, dim: int = 2, solution: str = "sin_prod", lo: float = 0.0, hi: float = 1.0,
                 batch_size: int | dict[str, int] | None = None) -> None:
        if solution not in SOLUTIONS:
            raise ConfigError("solution", f"unknown solution {solution!r}; options: {', '.join(SOLUTIONS)}")
        super().__init__(dim, lo, hi, {"pde": 1000, "bc": 200} if batch_size is None else batch_size)
        self.solution = solution

    def exact(self, x: Tensor) -> Tensor:
        if self.solution == "sin_prod":
            u = torch.sin(math.pi * x).prod(dim=1)
        else:
            u = torch.sin(0.5 * math.pi * x).sum(dim=1)
        return u.unsqueeze(1)

    def source(self, x: Tensor) -> Tensor:
        if self.solution == "sin_prod":
            return -self.size * math.pi**2 * torch.sin(math.pi * x).prod(dim=1)
        return -(0.5 * math.pi) ** 2 * torch.sin(0.5 * math.pi * x).sum(dim=1)

    def pde_residual(self, u: Field) -> Tensor:
        return u.laplacian - self.source(u.x)
