"""HNd (PINNACLE.md §2.20, PINNacle's ``HeatND`` with ``d = 5``).

On the unit ball ``B ⊂ ℝ⁵`` for ``t ∈ [0, 1]``:

    u_t = (1/d) Δu − (1/d) |x|² exp(|x|²/2 + t),

with the exact solution ``u = exp(|x|²/2 + t)``: ``∂u/∂n = exp(|x|²/2 + t)`` on the sphere (``neumann``, outward
normal) and ``u(x, 0) = exp(|x|²/2)`` (``ic``). Loss terms ``pde``, ``neumann``, ``ic``; points
32,768 / 8,192 / 8,192. Scored on 800 pseudo-random points of the ball (seeded by the evaluation generator:
DeepXDE has no uniform sampler of a hypersphere) × 25 levels ``t = 1, 0.96, …, 0.04`` (20,000 points).

``hard_ic=True`` imposes the initial condition exactly, ``u = exp(|x|²/2) − t·N(x, t)`` (the ``ic`` term is
dropped; :class:`~sciml.models.constrained.HardConstraint`, with the analytic jet of :class:`InitialProfile`):
a training option of this platform, not part of the protocol.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from pdes.pinnacle._common import TIMES_FOUR, PinnacleProblem
from sciml.errors import positive_int
from sciml.fields import Field
from sciml.geometry import Ball, Difference, neumann
from sciml.models.constrained import HardConstraint, Jet, TimeToGo
from sciml.problem import Term


class InitialProfile:
    """``g(x) = exp(|x|²/2)`` over the space inputs (all but the last, ``t``), with its jet:
    ``∂_v g = (x·v) g`` and ``∂²_v g = (|v|² + (x·v)²) g`` along a direction ``v`` with no time part."""

    def __call__(self, x: Tensor) -> Tensor:
        return torch.exp(x[:, :-1].square().sum(1) / 2)

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        g, space = self(x), x.shape[1] - 1
        if dims.is_floating_point():
            v = dims[:, :space].to(x.dtype)
            along, square = x[:, :space] @ v.T, v.square().sum(1)
        else:
            inside = (dims < space).to(x.dtype)
            along, square = x[:, dims] * inside, inside
        return g, along * g[:, None], (square + along.square()) * g[:, None]


class HeatND(PinnacleProblem):
    name = "pinnacle_heat_nd"
    time = (0.0, 1.0)
    counts = TIMES_FOUR

    def __init__(self, dim: int = 5, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None, hard_ic: bool = False) -> None:
        self.size = positive_int(dim, "dim")
        self.variables = [f"x{i}" for i in range(self.size)] + ["t"]
        self.hard_ic = bool(hard_ic)
        defaults = {"pde": sum(self.counts.values()), "neumann": self.counts["boundary"]}
        if not self.hard_ic:
            defaults["ic"] = self.counts["initial"]
        self.space = Difference(Ball([0.0] * self.size, 1.0))
        self.setup(sampling, batch_size, defaults)

    def exact(self, x: Tensor) -> Tensor:
        """``exp(|x|²/2 + t)``, ``(n, 1)``."""
        return torch.exp(x[:, :-1].square().sum(1) / 2 + x[:, -1]).unsqueeze(1)

    def pde_residual(self, u: Field) -> Tensor:
        """``u_t − (1/d) Δu + (1/d) |x|² exp(|x|²/2 + t)``."""
        r2 = u.x[:, :-1].square().sum(1)
        return u.d("t") - (u.laplacian - r2 * self.exact(u.x)[:, 0]) / self.size

    def neumann_residual(self, u: Field) -> Tensor:
        """``∂u/∂n − exp(|x|²/2 + t)``."""
        return neumann(u, self.exact(u.x)[:, 0])

    def ic_residual(self, u: Field) -> Tensor:
        return u.value - self.exact(u.x)[:, 0]

    def terms(self) -> dict[str, Term]:
        ic = None if self.hard_ic else self.ic_residual
        return self.evolution_terms(ic, ("neumann", self.neumann_residual))

    def constrain(self, model: nn.Module) -> nn.Module:
        """``exp(|x|²/2) − t·N(x, t)`` with ``hard_ic``, else the network itself."""
        model = super().constrain(model)
        return HardConstraint(model, TimeToGo(0.0), InitialProfile()) if self.hard_ic else model

    def evaluation_points(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> Tensor:
        """800 uniform points of the ball (``generator``) crossed with ``t = 1 − 0.04j``, ``j = 0, …, 24``."""
        space = self.space.interior("pseudo").sample(800, generator, dtype)
        times = torch.as_tensor(np.linspace(1.0, 0.0, 25, endpoint=False), dtype=dtype, device=device)
        return torch.cat([space.repeat(len(times), 1), times.repeat_interleave(len(space)).unsqueeze(1)], dim=1)
