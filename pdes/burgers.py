"""Viscous Burgers ``u_t + u u_x = ν u_xx``, ``ν = 0.01/π``, on ``[−1, 1] × [0, 1]``, ``u₀ = −sin πx``,
``u(±1, t) = 0``, scored on ``burgers_shock.mat`` (Raissi, Perdikaris & Karniadakis 2019, Sec. 3.1.1;
their relative L2 error: 6.7e-4).

In Lagrangian form (Mojgani et al., CMAME 2023) the characteristics move with the state: ``dX/dt = U``.
"""

from __future__ import annotations

import math

from torch import Tensor

from pdes._evolution import Evolution1D
from pdes._reference import OnReferenceGrid
from sciml.fields import Field


class Burgers(OnReferenceGrid, Evolution1D):
    name = "burgers"
    data_file = "burgers_shock.mat"
    lo, hi, t1 = -1.0, 1.0, 1.0
    periodic = False

    def __init__(self, viscosity: float = 0.01 / math.pi, batch_size: int | dict[str, int] | None = None,
                 hard_ic: bool = False) -> None:
        self.viscosity = float(viscosity)
        super().__init__(batch_size, periodic_bc=True, hard_ic=hard_ic)

    def initial(self, x: Tensor) -> Tensor:
        return -(math.pi * x).sin().unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        return u.d("t") + u.value * u.d("x") - self.viscosity * u.d("x", "x")

    def characteristic_speed(self, state: Tensor) -> Tensor:
        """``dX/dt = U``."""
        return state
