"""Wave2d-MS (PINNACLE.md §2.16, PINNacle's ``Wave2D_LongTime``).

On ``[0, 1]² × [0, 100]`` with

    g = sin(πx) sinh(πy) cos(πt) + sinh(3πx) sin(2πy) cos(πt),

``u(·, 0) = g(·, 0)`` (``ic``) and ``u = g`` on ``∂Ω`` for all ``t`` (``dirichlet``); there is no ``u_t`` condition.
The PDE as coded (``variant="coded"``) is ``u_tt − (u_xx + a²u_yy) = 0``, ``a = √2``, which ``g`` does **not**
solve (§1.8 item 1); ``variant="corrected"`` is the sign of PINNacle's unmerged PR #3, ``u_tt + u_xx + a²u_yy = 0``,
which ``g`` solves. Loss terms ``pde``, ``ic``, ``dirichlet``; points 32,768 / 8,192 / 8,192. Scored on ``g`` at
DeepXDE's evaluation points: ``{0.2, 0.4, 0.6, 0.8}² × {100 − 100j/1334, j = 0, …, 1333}`` (21,344 points).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from pdes.pinnacle._common import TIMES_FOUR, PinnacleProblem, interior_grid
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.geometry import Box, Difference
from sciml.problem import Term

VARIANTS = ("coded", "corrected")


class Wave2DLongTime(PinnacleProblem):
    name = "pinnacle_wave2d_ms"
    variables = ["x", "y", "t"]
    time = (0.0, 100.0)
    counts = TIMES_FOUR
    a2 = 2.0  # a² with a = √2

    def __init__(self, variant: str = "coded", sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None) -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", f"unknown value {variant!r}; options: {', '.join(VARIANTS)}")
        self.variant = variant
        defaults = {"pde": sum(self.counts.values()), "ic": self.counts["initial"],
                    "dirichlet": self.counts["boundary"]}
        self.space = Difference(Box([(0.0, 1.0), (0.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)

    def exact(self, x: Tensor) -> Tensor:
        """``g(x, y, t)``, ``(n, 1)``."""
        px, py, pt = math.pi * x[:, 0], math.pi * x[:, 1], math.pi * x[:, 2]
        g = (torch.sin(px) * torch.sinh(py) + torch.sinh(3 * px) * torch.sin(2 * py)) * torch.cos(pt)
        return g.unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        """``u_tt − (u_xx + a²u_yy)`` (coded) or ``u_tt + u_xx + a²u_yy`` (corrected)."""
        spatial = u.d("x", "x") + self.a2 * u.d("y", "y")
        return u.d("t", "t") + (spatial if self.variant == "corrected" else -spatial)

    def dirichlet_residual(self, u: Field) -> Tensor:
        """``u − g`` (on ``∂Ω × [0, 100]``, and at ``t = 0`` for the ``ic`` term)."""
        return u.value - self.exact(u.x)[:, 0]

    def terms(self) -> dict[str, Term]:
        return self.evolution_terms(self.dirichlet_residual, ("dirichlet", self.dirichlet_residual))

    def evaluation_points(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``{0.2, …, 0.8}²`` crossed with the 1,334 levels ``t = 100 − 100j/1334``."""
        side = interior_grid(0.0, 1.0, 4)
        times = np.linspace(100.0, 0.0, 1334, endpoint=False)
        x, y, t = np.meshgrid(side, side, times, indexing="ij")
        return torch.as_tensor(np.stack([x.ravel(), y.ravel(), t.ravel()], axis=1), dtype=dtype, device=device)
