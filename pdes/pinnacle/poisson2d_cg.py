"""Poisson2d-CG (PINNACLE.md §2.4, PINNacle's ``PoissonBoltzmann2D``).

``−Δu + k²u = f``, ``k = 8``, ``f = A(μ₁² + x² + μ₂² + y²) sin(μ₁πx) sin(μ₂πy)`` with ``A = 10``, ``μ₁ = 1``,
``μ₂ = 4``, on ``Ω = [−1, 1]²`` minus the disks of centre (0.5, 0.5), radius 0.2; (0.4, −0.4), 0.4;
(−0.2, −0.7), 0.1; (−0.6, 0.5), 0.3. ``u = 0.2`` on the square (``rec``), ``u = 1`` on the circles (``circ``).
Loss terms ``pde``, ``rec``, ``circ``; points 8,192 / 2,048 (the boundary points shared by measure). Scored
on the COMSOL reference ``poisson_boltzmann2d.npz`` (3,236 nodes).

``hard_bc=True`` imposes both Dirichlet conditions exactly (the ``rec`` and ``circ`` terms are dropped) with a
smooth approximate distance function in the manner of Sukumar & Srivastava 2022 (CMAME 389, 114333, §4):
``u = g + φ·N`` with ``φ = s·P``, ``s = (1 − x²)(1 − y²)`` zero on the square and ``P = Π_k (|x − c_k|² − r_k²)``
zero on the circles, and the lift ``g = 0.2 + 0.8·s/(s + P)`` (0.2 where ``s = 0``, 1 where ``P = 0``; the
denominator vanishes nowhere on Ω̄, as no circle meets the square). Both are polynomials or their quotient,
with analytic jets (:class:`BoundaryFactor`, :class:`BoundaryLift`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from pdes.pinnacle._common import BASE, PinnacleProblem
from sciml.fields import Field
from sciml.geometry import Box, Difference, Disk
from sciml.models.constrained import FromJet, HardConstraint, Jet, box_jet, direction_matrix, jet_product, jet_quotient
from sciml.problem import Term

DISKS = [((0.5, 0.5), 0.2), ((0.4, -0.4), 0.4), ((-0.2, -0.7), 0.1), ((-0.6, 0.5), 0.3)]


def square_jet(x: Tensor, dims: Tensor) -> Jet:
    """``s = (1 − x²)(1 − y²)``, zero on the square ``∂[−1, 1]²``, with its jet along ``dims``."""
    return box_jet(x, dims, [(-1.0, 1.0), (-1.0, 1.0)])


def circles_jet(x: Tensor, dims: Tensor) -> Jet:
    """``P = Π_k (|x − c_k|² − r_k²)``, zero on every circle, positive outside the disks, with its jet."""
    v = direction_matrix(x, dims)
    out = None
    for centre, radius in DISKS:
        offset = x - torch.tensor(centre, dtype=x.dtype, device=x.device)
        q = (offset.square().sum(1) - radius**2, 2 * offset @ v.T, (2 * v.square().sum(1)).expand(x.shape[0], -1))
        out = q if out is None else jet_product(out, q)
    assert out is not None
    return out


class BoundaryFactor(FromJet):
    """``φ = s·P``: zero on the whole boundary (the module docstring)."""

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        return jet_product(square_jet(x, dims), circles_jet(x, dims))


class BoundaryLift(FromJet):
    """``g = 0.2 + 0.8·s/(s + P)``: 0.2 on the square, 1 on the circles (the module docstring)."""

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        s, p = square_jet(x, dims), circles_jet(x, dims)
        h, h1, h2 = jet_quotient(s, (s[0] + p[0], s[1] + p[1], s[2] + p[2]))
        low, high = PoissonBoltzmann2D.square_value, PoissonBoltzmann2D.circle_value
        return low + (high - low) * h, (high - low) * h1, (high - low) * h2


class PoissonBoltzmann2D(PinnacleProblem):
    name = "pinnacle_poisson2d_cg"
    variables = ["x", "y"]
    time_variable = None
    data_file = "poisson_boltzmann2d.npz"
    time = None
    counts = BASE
    k, amplitude, mu = 8.0, 10.0, (1.0, 4.0)
    square_value, circle_value = 0.2, 1.0

    def __init__(self, sampling: str = "hammersley", batch_size: int | dict[str, int] | None = None,
                 hard_bc: bool = False) -> None:
        self.space = Difference(Box([(-1.0, 1.0), (-1.0, 1.0)]), [Disk(c, r) for c, r in DISKS])
        self.hard_bc = bool(hard_bc)
        shares = {} if self.hard_bc else self.boundary_shares({"rec": "box", "circ": "hole*"})
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
        pde = {"pde": Term(self.residual_sampler(), self.pde_residual, self.batch["pde"])}
        if self.hard_bc:
            return pde
        return {**pde, "rec": Term(self.boundary_sampler("box"), self.rec_residual, self.batch["rec"]),
                "circ": Term(self.boundary_sampler("hole*"), self.circ_residual, self.batch["circ"])}

    def constrain(self, model: nn.Module) -> nn.Module:
        """``g + φ·N`` with ``hard_bc``, else the network itself."""
        model = super().constrain(model)
        return HardConstraint(model, BoundaryFactor(), BoundaryLift()) if self.hard_bc else model
