"""Helmholtz equation in 2-D (Wang, Teng & Perdikaris 2020, arXiv 2001.04536, Sec. 2.1, Eq. 2.1).

``Δu + k² u = q`` on ``[−1, 1]²`` with the exact solution ``u = sin(a₁ π x) sin(a₂ π y)``, the source
``q = (k² − (a₁π)² − (a₂π)²) u`` and Dirichlet data from ``u`` on the four edges. The paper draws a fresh
batch of 128 points per edge and 128 residual points every step (``batch_size: {pde: 128, bc: 512}`` with
``per_face``); the boundary loss is the sum of the four edges' mean squares as in the paper (``face_sum``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._box import DirichletBoxProblem
from sciml.fields import Field


class Helmholtz(DirichletBoxProblem):
    name = "helmholtz"

    def __init__(self, a1: float = 1.0, a2: float = 4.0, k: float = 1.0,
                 batch_size: int | dict[str, int] | None = None, per_face: bool = True,
                 face_sum: bool = True) -> None:
        super().__init__(2, -1.0, 1.0, {"pde": 128, "bc": 512} if batch_size is None else batch_size,
                         per_face=per_face, face_sum=face_sum)
        self.a1, self.a2, self.k = float(a1), float(a2), float(k)

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(self.a1 * math.pi * x[:, 0]) * torch.sin(self.a2 * math.pi * x[:, 1])).unsqueeze(1)

    def source(self, x: Tensor) -> Tensor:
        factor = self.k**2 - (self.a1 * math.pi) ** 2 - (self.a2 * math.pi) ** 2
        return factor * self.exact(x)[:, 0]

    def pde_residual(self, u: Field) -> Tensor:
        return u.laplacian + self.k**2 * u.value - self.source(u.x)
