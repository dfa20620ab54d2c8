"""Poisson2d-CG (PINNACLE.md §2.4, PINNacle's ``PoissonBoltzmann2D``).

``−Δu + k²u = f``, ``k = 8``, ``f = A(μ₁² + x² + μ₂² + y²) sin(μ₁πx) sin(μ₂πy)`` with ``A = 10``, ``μ₁ = 1``,
``μ₂ = 4``, on ``Ω = [−1, 1]²`` minus the disks of centre (0.5, 0.5), radius 0.2; (0.4, −0.4), 0.4;
(−0.2, −0.7), 0.1; (−0.6, 0.5), 0.3. ``u = 0.2`` on the square (``rec``), ``u = 1`` on the circles (``circ``).
Loss terms ``pde``, ``rec``, ``circ``; points 8,192 / 2,048 (the boundary points shared by measure). Scored
on the COMSOL reference ``poisson_boltzmann2d.npz`` (3,236 nodes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pdes.pinnacle._common import BASE, PinnacleProblem
from sciml.fields import Field
from sciml.geometry import Box, Difference, Disk
from sciml.problem import Term

DISKS = [((0.5, 0.5), 0.2), ((0.4, -0.4), 0.4), ((-0.2, -0.7), 0.1), ((-0.6, 0.5), 0.3)]


class PoissonBoltzmann2D(PinnacleProblem):
    name = "pinnacle_poisson2d_cg"
    variables = ["x", "y"]
    time_variable = None
    data_file = "poisson_boltzmann2d.npz"
    time = None
    counts = BASE
    k, amplitude, mu = 8.0, 10.0, (1.0, 4.0)
    square_value, circle_value = 0.2, 1.0

    def __init__(self, sampling: str = "hammersley", batch_size: int | dict[str, int] | None = None) -> None:
        self.space = Difference(Box([(-1.0, 1.0), (-1.0, 1.0)]), [Disk(c, r) for c, r in DISKS])
        shares = self.boundary_shares({"rec": "box", "circ": "hole*"})
        self.setup(sampling, batch_size, {"pde": self.counts["domain"] + self.counts["boundary"], **shares})

    def source(self, x: Tensor) -> Tensor:
        """``f = A(μ₁² + x² + μ₂² + y²) sin(μ₁πx) sin(μ₂πy)``."""
        (m1, m2), px, py = self.mu, x[:, 0], x[:, 1]
        return (self.amplitude * (m1**2 + px**2 + m2**2 + py**2)
                * torch.sin(m1 * math.pi * px) * torch.sin(m2 * math.pi * py))

    def pde_residual(self, u: Field) -> Tensor:
        """``−Δu + k²u − f``."""
        return -u.laplacian + self.k**2 * u.value - self.source(u.x)

    def rec_residual(self, u: Field) -> Tensor:
        return u.value - self.square_value

    def circ_residual(self, u: Field) -> Tensor:
        return u.value - self.circle_value

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(self.residual_sampler(), self.pde_residual, self.batch["pde"]),
            "rec": Term(self.boundary_sampler("box"), self.rec_residual, self.batch["rec"]),
            "circ": Term(self.boundary_sampler("hole*"), self.circ_residual, self.batch["circ"]),
        }
