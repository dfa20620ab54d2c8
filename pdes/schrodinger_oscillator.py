"""Ground state of the ``d``-dimensional quantum harmonic oscillator (SDGD paper, Sec. 5.4).

    −Δψ + ‖x‖²ψ = λψ on [−5, 5]ᵈ,  ψ = 0 on the boundary;   λ₀ = d,  ψ₀ ∝ exp(−‖x‖²/2).

Solved by minimising the Rayleigh quotient ``E[ψ] = (∫‖∇ψ‖² + ‖x‖²ψ²) / ∫ψ²`` (whose minimum is λ₀)
over a separable network (:class:`sciml.models.separable.SeparableNet`), each integral a product of 1-D
composite Gauss-Legendre quadratures (16 points on 10 sub-intervals, as the authors used). The energy is
one loss term whose "residual" is ``√E`` (so the term's ``mean(residual²)`` is ``E``); ``num_dims > 0``
samples that many dimensions per step for the kinetic and potential sums (SDGD). Score: the relative
error of ``λ = E`` (``problem.score``, tracked by the SDGD trainer).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.engines.sdgd import sample_subset
from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry import FixedPoints
from sciml.models.separable import gauss_legendre
from sciml.problem import Problem, Term


class HarmonicOscillator(Problem):
    name = "schrodinger_oscillator"
    time_variable = None

    def __init__(self, dim: int = 1000, half_width: float = 5.0, points: int = 16, intervals: int = 10,
                 num_dims: int = 0, seed: int = 0) -> None:
        self.size = positive_int(dim, "dim")
        if not isinstance(num_dims, int) or num_dims < 0:
            raise ConfigError("num_dims", f"must be a non-negative integer, got {num_dims!r}")
        self.half_width, self.num_dims = float(half_width), num_dims
        self.variables = [f"x{i}" for i in range(self.size)]
        self._spatial = list(range(self.size))
        self.nodes, self.weights = gauss_legendre(-self.half_width, self.half_width, points, intervals)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def spatial_dims(self) -> list[int]:
        return self._spatial

    def bounds(self) -> list[tuple[float, float]]:
        return [(-self.half_width, self.half_width)] * self.size

    def input_stats(self) -> None:
        return None

    def energy(self, model: nn.Module, like: Tensor, sample: bool) -> Tensor:
        nodes = self.nodes.to(like)
        dims = None
        if sample and self.num_dims and self.num_dims < self.size:
            dims = sample_subset(self.size, self.num_dims, self.generator).to(like.device)
        return model.rayleigh_quotient(nodes, self.weights.to(like), nodes.square(), dims)

    def energy_residual(self, u: Field) -> Tensor:
        return self.energy(u.model, u.x, sample=True).sqrt().reshape(1)

    def terms(self) -> dict[str, Term]:
        return {"energy": Term(FixedPoints(torch.zeros(1, self.size)), self.energy_residual, 1)}

    def score(self, model: nn.Module) -> dict[str, float]:
        param = next(model.parameters())
        value = float(self.energy(model, torch.empty(0, dtype=param.dtype, device=param.device), False))
        return {"eigenvalue": value, "eigenvalue_rel_err": abs(value - self.size) / self.size}


__all__ = ["HarmonicOscillator"]
