"""Burgers1d-C (PINNACLE.md §2.1, PINNacle's ``Burgers1D``).

``u_t + u u_x − ν u_xx = 0``, ``ν = 0.01/π``, on ``x ∈ [−1, 1]``, ``t ∈ [0, 1]``; ``u(x, 0) = −sin(πx)``,
``u(±1, t) = 0``. Loss terms ``pde``, ``ic``, ``dirichlet``; points 8,192 / 2,048 / 2,048. Scored on the
COMSOL reference ``burgers1d.npz``: 101 nodes ``x = −1 : 0.02 : 1`` × 11 levels ``t = 0, 0.1, …, 1``.
"""

from __future__ import annotations

import math

from torch import Tensor

from pdes.pinnacle._common import BASE, PinnacleProblem
from sciml.fields import Field
from sciml.geometry import Box, Difference
from sciml.problem import Term


class Burgers1D(PinnacleProblem):
    name = "pinnacle_burgers1d"
    variables = ["x", "t"]
    data_file = "burgers1d.npz"
    grid_shape = (11, 101)
    time = (0.0, 1.0)
    counts = BASE

    def __init__(self, viscosity: float = 0.01 / math.pi, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None) -> None:
        self.viscosity = float(viscosity)
        defaults = {"pde": sum(self.counts.values()), "ic": self.counts["initial"],
                    "dirichlet": self.counts["boundary"]}
        self.space = Difference(Box([(-1.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)

    def pde_residual(self, u: Field) -> Tensor:
        """``u_t + u u_x − ν u_xx``, its linear part ``u_t − ν u_xx`` as one operator (one jet channel)."""
        return u.operator({"t": 1.0}, {"x": -self.viscosity}) + u.value * u.d("x")

    def ic_residual(self, u: Field) -> Tensor:
        """``u(x, 0) + sin(πx)``."""
        return u.value + (math.pi * u.var("x")).sin()

    def dirichlet_residual(self, u: Field) -> Tensor:
        """``u(±1, t)``."""
        return u.value

    def terms(self) -> dict[str, Term]:
        return self.evolution_terms(self.ic_residual, ("dirichlet", self.dirichlet_residual))
