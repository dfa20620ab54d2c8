"""An unknown in a boundary condition: the heat-transfer coefficient ``h`` of a Robin condition, from noisy
temperatures inside.

Steady heat conduction with a uniform source in a bar ``[0, 1]``: ``−u'' = q``, ``u(0) = 0`` (held
temperature) and ``u'(1) + h u(1) = 0`` (convective cooling at the right end, coefficient ``h > 0``). The
solution is ``u = −q x²/2 + C x`` with ``C = q (1 + h/2) / (1 + h)``. Observations of ``u`` at ``points``
evenly spaced interior nodes, with Gaussian noise of standard deviation ``noise · std(u)``, identify ``h``
(true value ``h_true``); the PDE and both boundary conditions are loss terms, ``h`` appears in the Robin one
only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry import BoxSampler, FixedPoints
from sciml.problem import Problem, Term
from sciml.unknowns import Unknown


class RobinIdentification(Problem):
    name = "robin_identification"
    variables = ["x"]
    time_variable = None

    def __init__(self, h_true: float = 2.0, source: float = 1.0, points: int = 20, noise: float = 0.0,
                 noise_seed: int = 0, h_init: float = 0.5, batch_size: int = 64) -> None:
        if not float(h_true) > 0:
            raise ConfigError("h_true", f"must be positive, got {h_true}")
        self.h_true, self.q = float(h_true), float(source)
        self.batch = positive_int(batch_size, "batch_size")
        n = positive_int(points, "points")
        x = torch.linspace(0, 1, n + 2, dtype=torch.float64)[1:-1].unsqueeze(1)
        u = self.solution(x, self.h_true)
        noisy = torch.randn(u.shape, generator=torch.Generator().manual_seed(noise_seed), dtype=torch.float64)
        self.x_obs, self.u_obs = x, u + float(noise) * u.std() * noisy
        self.noise = float(noise)
        self.h = Unknown(h_init, positive=True)

    def solution(self, x: Tensor, h: float) -> Tensor:
        c = self.q * (1 + h / 2) / (1 + h)
        return -0.5 * self.q * x.square() + c * x

    def bounds(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)]

    def exact(self, x: Tensor) -> Tensor:
        return self.solution(x, self.h_true)

    def score(self, net) -> dict[str, float]:
        return {"h_rel_err": abs(self.h.value - self.h_true) / self.h_true}

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(BoxSampler(self.bounds()), lambda u: u.d("x", "x") + self.q, self.batch),
            "left": Term(FixedPoints(torch.zeros(1, 1, dtype=torch.float64)), lambda u: u.value, 1),
            "robin": Term(FixedPoints(torch.ones(1, 1, dtype=torch.float64)), self.robin_residual, 1),
            "data": Term(FixedPoints(self.x_obs, {"u": self.u_obs}), lambda u: u.value - u.data["u"][:, 0],
                         self.x_obs.shape[0]),
        }

    def robin_residual(self, u: Field) -> Tensor:
        """``u'(1) + h u(1)``."""
        return u.d("x") + self.h() * u.value
