"""Burgers1d-C (PINNACLE.md §2.1, PINNacle's ``Burgers1D``).

``u_t + u u_x − ν u_xx = 0``, ``ν = 0.01/π``, on ``x ∈ [−1, 1]``, ``t ∈ [0, 1]``; ``u(x, 0) = −sin(πx)``,
``u(±1, t) = 0``. Loss terms ``pde``, ``ic``, ``dirichlet``; points 8,192 / 2,048 / 2,048. Scored on the
COMSOL reference ``burgers1d.npz``: 101 nodes ``x = −1 : 0.02 : 1`` × 11 levels ``t = 0, 0.1, …, 1``.

The problem has a closed-form solution (Cole 1951, Hopf 1950; :func:`cole_hopf`), so a run also reports
``exact_rel_l2``, its error against the truth on the same nodes. The reference itself is 1.33·10⁻² from it
(largest near the shock at ``t ≈ 0.4``): a network equal to the exact solution scores 1.33·10⁻² on the metric.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from pdes.pinnacle._common import BASE, PinnacleProblem, crossed, load
from sciml.fields import Field, evaluate
from sciml.geometry import Box, Difference
from sciml.problem import Term
from sciml.train import relative_l2


def cole_hopf(x: np.ndarray, t: np.ndarray, viscosity: float, nodes: int = 2001) -> np.ndarray:
    """The exact solution of ``u_t + u u_x = ν u_xx``, ``u(x, 0) = −sin πx`` on the line (odd and 2-periodic, so
    ``u(±1, t) = 0`` holds), by the Cole-Hopf transform: with the heat kernel's variable ``η = √(4νt) z``,

        ``u(x, t) = −∫ sin(π(x − η)) f(x − η) e^{−z²} dz / ∫ f(x − η) e^{−z²} dz``,  ``f(y) = e^{−cos(πy)/(2πν)}``

    (Basdevant et al. 1986, eq. 2.3 after integrating by parts), both integrals by the trapezoidal rule on
    ``z ∈ [−10, 10]`` in float64, the weights scaled by their largest value per point (``f`` spans e^{±1/(2πν)}).
    At 2,001 nodes the values on PINNacle's grid agree with 200,001 nodes to 10⁻¹²."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1)
    z = np.linspace(-10.0, 10.0, nodes)[None, :]
    y = x - np.sqrt(4.0 * viscosity * np.maximum(t, 0.0)) * z
    log_w = -np.cos(np.pi * y) / (2.0 * np.pi * viscosity) - z ** 2
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return -(np.sin(np.pi * y) * w).sum(axis=1) / w.sum(axis=1)


class Burgers1D(PinnacleProblem):
    name = "pinnacle_burgers1d"
    variables = ["x", "t"]
    data_file = "burgers1d.npz"
    grid_shape = (11, 101)
    time = (0.0, 1.0)
    counts = BASE

    def __init__(self, viscosity: float = 0.01 / math.pi, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None) -> None:
        self.viscosity = float(viscosity)
        defaults = {"pde": sum(self.counts.values()), "ic": self.counts["initial"],
                    "dirichlet": self.counts["boundary"]}
        self.space = Difference(Box([(-1.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)

    def pde_residual(self, u: Field) -> Tensor:
        """``u_t + u u_x − ν u_xx``, its linear part ``u_t − ν u_xx`` as one operator (one jet channel)."""
        return u.operator({"t": 1.0}, {"x": -self.viscosity}) + u.value * u.d("x")

    def ic_residual(self, u: Field) -> Tensor:
        """``u(x, 0) + sin(πx)``."""
        return u.value + (math.pi * u.var("x")).sin()

    def dirichlet_residual(self, u: Field) -> Tensor:
        """``u(±1, t)``."""
        return u.value

    def terms(self) -> dict[str, Term]:
        return self.evolution_terms(self.ic_residual, ("dirichlet", self.dirichlet_residual))

    def score(self, model: nn.Module) -> dict[str, float]:
        """``exact_rel_l2``: the network's relative L2 error against :func:`cole_hopf` on the reference nodes
        (the metric's ``rel_l2`` is against the COMSOL values there)."""
        param = next(model.parameters())
        if not hasattr(self, "_exact"):
            x, _ = crossed(load(self.data_file))
            self._exact = x, cole_hopf(x[:, 0], x[:, 1], self.viscosity)
        x, exact = self._exact
        exact = torch.as_tensor(exact, dtype=param.dtype, device=param.device)
        pred = evaluate(model, torch.as_tensor(x, dtype=param.dtype, device=param.device))[:, 0]
        return {"exact_rel_l2": relative_l2(pred, exact)}
