"""1-D Allen-Cahn ``u_t − 10⁻⁴ u_xx + 5u³ − 5u = 0`` on ``x ∈ [−1, 1]`` periodic, ``t ∈ [0, 1]``,
``u₀ = x² cos πx`` (Raissi et al. 2019, Sec. 4.1.2), scored on ``AC.mat``. Wang, Sankaran & Perdikaris
(2022) solve it with temporal causality weights (:mod:`sciml.train.causal`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes._evolution import Evolution1D
from pdes._reference import OnReferenceGrid
from sciml.fields import Field


class AllenCahn1D(OnReferenceGrid, Evolution1D):
    name = "allen_cahn_1d"
    data_file = "AC.mat"
    lo, hi, t1 = -1.0, 1.0, 1.0

    def __init__(self, diffusion: float = 1e-4, reaction: float = 5.0,
                 batch_size: int | dict[str, int] | None = None, periodic_bc: bool = True,
                 hard_ic: bool = False) -> None:
        self.diffusion, self.reaction = float(diffusion), float(reaction)
        super().__init__(batch_size, periodic_bc, hard_ic)

    def initial(self, x: Tensor) -> Tensor:
        return (x * x * torch.cos(math.pi * x)).unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        v = u.value
        return u.d("t") - self.diffusion * u.d("x", "x") + self.reaction * (v ** 3 - v)
