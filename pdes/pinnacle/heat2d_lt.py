"""Heat2d-LT (PINNACLE.md §2.10, PINNacle's ``Heat2D_LongTime``).

``u_t = 0.001 Δu + 5 sin(k u²)(1 + 2 sin(πt/4)) sin(m₁πx) sin(m₂πy)`` with ``k = 1``, ``m₁ = 4``, ``m₂ = 2``, on
``[0, 1]² × [0, 100]``; ``u(x, y, 0) = sin(4πx) sin(3πy)``, ``u = 0`` on ``∂Ω``. Loss terms ``pde``, ``ic``,
``dirichlet``; points 32,768 / 8,192 / 8,192. Scored on the COMSOL reference ``heat_longtime.npz``: the
16 × 12 nodes ``x = (2i+1)/32``, ``y = (2j+1)/24`` × 501 levels ``t = 0, 0.2, …, 100`` (96,192 points).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes.pinnacle._common import TIMES_FOUR, PinnacleProblem
from sciml.fields import Field
from sciml.geometry import Box, Difference
from sciml.problem import Term


class Heat2DLongTime(PinnacleProblem):
    name = "pinnacle_heat2d_lt"
    variables = ["x", "y", "t"]
    data_file = "heat_longtime.npz"
    grid_shape = (501, 12, 16)
    time = (0.0, 100.0)
    counts = TIMES_FOUR
    diffusivity, k, m1, m2 = 0.001, 1.0, 4.0, 2.0

    def __init__(self, sampling: str = "hammersley", batch_size: int | dict[str, int] | None = None) -> None:
        defaults = {"pde": sum(self.counts.values()), "ic": self.counts["initial"],
                    "dirichlet": self.counts["boundary"]}
        self.space = Difference(Box([(0.0, 1.0), (0.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)

    def source(self, u: Tensor, x: Tensor) -> Tensor:
        """``5 sin(k u²)(1 + 2 sin(πt/4)) sin(m₁πx) sin(m₂πy)``."""
        return (5 * torch.sin(self.k * u.square()) * (1 + 2 * torch.sin(math.pi * x[:, 2] / 4))
                * torch.sin(self.m1 * math.pi * x[:, 0]) * torch.sin(self.m2 * math.pi * x[:, 1]))

    def pde_residual(self, u: Field) -> Tensor:
        """``u_t − 0.001 Δu − source``."""
        return u.d("t") - self.diffusivity * u.laplacian - self.source(u.value, u.x)

    def initial(self, x: Tensor) -> Tensor:
        """``sin(4πx) sin(3πy)``."""
        return torch.sin(4 * math.pi * x[:, 0]) * torch.sin(3 * math.pi * x[:, 1])

    def ic_residual(self, u: Field) -> Tensor:
        return u.value - self.initial(u.x)

    def dirichlet_residual(self, u: Field) -> Tensor:
        return u.value

    def terms(self) -> dict[str, Term]:
        return self.evolution_terms(self.ic_residual, ("dirichlet", self.dirichlet_residual))
