"""A PDE of your own, outside the package: the 1-D problem u'' = −π² sin(πx) on [0, 1], u(0) = u(1) = 0.

Run it from this folder (the working directory is importable):

    cd examples && sciml-train pde=custom pde._target_=my_pde.MyPDE +pde.n_points=128 optimizer=adam

Any keyword argument of ``__init__`` can be set with ``+pde.<name>=<value>``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.fields import Field
from sciml.geometry import BoxSampler, FixedPoints
from sciml.problem import Problem, Term


class MyPDE(Problem):
    name = "my_pde"
    variables = ["x"]

    def __init__(self, n_points: int = 128) -> None:
        self.n_points = n_points

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)]

    def residual(self, u: Field) -> Tensor:
        return u.d("x", "x") + math.pi**2 * torch.sin(math.pi * u.var("x"))

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(BoxSampler(self.bounds()), self.residual, self.n_points),
            "bc": Term(FixedPoints(torch.tensor([[0.0], [1.0]])), lambda u: u.value, 2),
        }

    def exact(self, x: Tensor) -> Tensor:
        """Optional: with it, runs report rel_l2 / max_abs and plot the error."""
        return torch.sin(math.pi * x)
