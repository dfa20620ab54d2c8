"""The inverse problems PInv and HInv (PINNACLE.md §2.21–2.22, PINNacle's ``PoissonInv`` and ``HeatInv``).

One network with outputs ``(u, a)`` (``coefficient="output"``, as PINNacle codes it) or a network for ``u``
and a second, positive one for ``a`` on the spatial inputs (``coefficient="network"``, an
:class:`~sciml.unknowns.UnknownField`) recovers the field ``u`` and the coefficient ``a`` from noisy
observations of ``u``, the PDE and ``a`` on the boundary. Terms ``pde``, ``data_loss`` (``u`` at the
observation points plus ``N(0, noise²)``, drawn once from ``noise_seed``), ``bc_a``. The L2RE is joint over
``(u, a)`` (§1.5); :meth:`InverseProblem.score` also gives each output's relative L2 error on the same points.

- **PInv** on ``[0, 1]²``: ``∇·(a∇u) + f = 0`` (the divergence ``(a u_x)_x + (a u_y)_y``), with
  ``u* = sin(πx) sin(πy)``, ``a* = 1/(1 + x² + y² + (x − 1)² + (y − 1)²)`` and
  ``f = 2π² a* sin(πx) sin(πy) + 2π a*² [(2x ± 1) cos(πx) sin(πy) + (2y ± 1) sin(πx) cos(πy)]``: ``+`` as coded
  (``variant="coded"``), ``−`` for the ``f`` that ``(u*, a*)`` solve (``variant="corrected"``; §1.8 item 2).
  Observations on the 50 × 50 grid ``linspace(0, 1, 50)²``; points 8,192 / 2,048. Scored on DeepXDE's
  2,500 evaluation points ``{k/51, k = 1, …, 50}²``.
- **HInv** on ``[−1, 1]² × [0, 1]``: ``u_t = ∇·(a∇u) + f``,
  ``f = e^{−t}[(4π² − 1) sin(πx) sin(πy) + π²(2 sin²(πx) sin²(πy) − cos²(πx) sin²(πy) − sin²(πx) cos²(πy))]``, with
  ``u* = e^{−t} sin(πx) sin(πy)``, ``a* = 2 + sin(πx) sin(πy)``; ``a = a*`` on ``∂Ω × [0, 1]``, no condition on ``u``
  at ``t = 0`` or on the boundary. Observations at the 2,500 points of ``heatinv_points.npz``; points
  32,768 / 8,192 / 8,192. Scored on ``{−1 + k/9, k = 1, …, 17}² × {1 − j/71, j = 0, …, 70}`` (20,519 points).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from pdes.pinnacle._common import BASE, TIMES_FOUR, PinnacleProblem, interior_grid, load
from sciml.errors import ConfigError
from sciml.fields import Field, evaluate
from sciml.geometry import Box, Difference, FixedPoints
from sciml.problem import Term
from sciml.train import relative_l2
from sciml.unknowns import UnknownField

VARIANTS = ("coded", "corrected")
COEFFICIENTS = ("output", "network")


def divergence(f: Field) -> Tensor:
    """``∇·(a∇u) = a_x u_x + a u_xx + a_y u_y + a u_yy`` over ``x`` and ``y``."""
    u, a = f["u"], f["a"]
    return a.d("x") * u.d("x") + a.d("y") * u.d("y") + a.value * u.laplacian


def grid(axes: list[np.ndarray]) -> np.ndarray:
    """The tensor grid of ``axes`` as rows, the first axis varying slowest."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


class InverseProblem(PinnacleProblem):
    """Outputs ``(u, a)``, observations of ``u`` with seeded noise, ``a = a*`` on the boundary; subclasses set
    the geometry, :meth:`exact`, :meth:`pde_residual`, :meth:`observation_points` and
    :meth:`evaluation_points`."""

    outputs = ["u", "a"]

    def coefficient_field(self, coefficient: str, spatial: list[int], init: float) -> None:
        """``coefficient="network"``: ``a`` from its own positive network on the ``spatial`` inputs."""
        if coefficient not in COEFFICIENTS:
            raise ConfigError("coefficient", f"unknown value {coefficient!r}; options: {', '.join(COEFFICIENTS)}")
        if coefficient == "network":
            self.a = UnknownField(spatial, width=32, depth=3, init=init, positive=True)

    def observe(self, noise: float, noise_seed: int) -> None:
        """Draw the observations once: ``u*`` at :meth:`observation_points` plus ``N(0, noise²)``."""
        if not noise >= 0:
            raise ConfigError("noise", f"must be non-negative, got {noise}")
        x = self.observation_points()
        clean = self.exact(x)[:, 0]
        draw = torch.randn(clean.shape, generator=torch.Generator().manual_seed(int(noise_seed)), dtype=x.dtype)
        self.observed = (x, clean + float(noise) * draw)
        self.noise = float(noise)

    def observation_points(self) -> Tensor:
        raise NotImplementedError

    def pde_residual(self, f: Field) -> Tensor:
        raise NotImplementedError

    def data_residual(self, f: Field) -> Tensor:
        """``u − u_obs`` at the observation points."""
        return f["u"].value - f.data["u_obs"]

    def bc_a_residual(self, f: Field) -> Tensor:
        """``a − a*`` on the boundary."""
        return f["a"].value - self.exact(f.x)[:, 1]

    def terms(self) -> dict[str, Term]:
        x, observed = self.observed
        return {
            "pde": Term(self.residual_sampler(), self.pde_residual, self.batch["pde"]),
            "data_loss": Term(FixedPoints(x, {"u_obs": observed}), self.data_residual, self.batch["data_loss"],
                              noise_std=self.noise or None),
            "bc_a": Term(self.boundary_sampler(), self.bc_a_residual, self.batch["bc_a"]),
        }

    def score(self, model: nn.Module) -> dict[str, float]:
        """Relative L2 errors of ``u`` and of ``a`` alone on the evaluation points (the metric's joint L2RE is
        over both)."""
        param = next(model.parameters())
        x = self.evaluation_points(torch.Generator(param.device), param.dtype, param.device)
        pred, exact = evaluate(model, x), self.exact(x)
        return {f"{name}_rel_l2": relative_l2(pred[:, i], exact[:, i]) for i, name in enumerate(self.outputs)}


class PoissonInv(InverseProblem):
    name = "pinnacle_poisson_inv"
    variables = ["x", "y"]
    time_variable = None
    time = None
    counts = BASE

    def __init__(self, variant: str = "coded", noise: float = 0.1, noise_seed: int = 0, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None, coefficient: str = "output") -> None:
        if variant not in VARIANTS:
            raise ConfigError("variant", f"unknown value {variant!r}; options: {', '.join(VARIANTS)}")
        self.variant = variant
        self.coefficient_field(coefficient, [0, 1], init=0.2)
        defaults = {"pde": self.counts["domain"] + self.counts["boundary"], "data_loss": 2500,
                    "bc_a": self.counts["boundary"]}
        self.space = Difference(Box([(0.0, 1.0), (0.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)
        self.observe(noise, noise_seed)

    def exact(self, x: Tensor) -> Tensor:
        """``(u*, a*)``, ``(n, 2)``."""
        px, py = x[:, 0], x[:, 1]
        u = torch.sin(math.pi * px) * torch.sin(math.pi * py)
        a = 1 / (1 + px**2 + py**2 + (px - 1) ** 2 + (py - 1) ** 2)
        return torch.stack([u, a], dim=1)

    def source(self, x: Tensor) -> Tensor:
        """``f`` with ``(2x + 1), (2y + 1)`` (coded) or ``(2x − 1), (2y − 1)`` (corrected)."""
        px, py = x[:, 0], x[:, 1]
        a = self.exact(x)[:, 1]
        shift = 1.0 if self.variant == "coded" else -1.0
        sx, cx, sy, cy = (torch.sin(math.pi * px), torch.cos(math.pi * px), torch.sin(math.pi * py),
                          torch.cos(math.pi * py))
        return (2 * math.pi**2 * a * sx * sy
                + 2 * math.pi * a**2 * ((2 * px + shift) * cx * sy + (2 * py + shift) * sx * cy))

    def pde_residual(self, f: Field) -> Tensor:
        """``∇·(a∇u) + f``."""
        return divergence(f) + self.source(f.x)

    def observation_points(self) -> Tensor:
        """The 50 × 50 grid ``linspace(0, 1, 50)²``, boundary included."""
        side = np.linspace(0.0, 1.0, 50)
        return torch.as_tensor(grid([side, side]), dtype=torch.float64)

    def evaluation_points(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``{k/51, k = 1, …, 50}²``: DeepXDE's 2,500 uniform interior points of the square."""
        side = interior_grid(0.0, 1.0, 50)
        return torch.as_tensor(grid([side, side]), dtype=dtype, device=device)


class HeatInv(InverseProblem):
    name = "pinnacle_heat_inv"
    variables = ["x", "y", "t"]
    time = (0.0, 1.0)
    counts = TIMES_FOUR

    def __init__(self, noise: float = 0.1, noise_seed: int = 0, sampling: str = "hammersley",
                 batch_size: int | dict[str, int] | None = None, coefficient: str = "output") -> None:
        self.coefficient_field(coefficient, [0, 1], init=2.0)
        defaults = {"pde": sum(self.counts.values()), "data_loss": 2500, "bc_a": self.counts["boundary"]}
        self.space = Difference(Box([(-1.0, 1.0), (-1.0, 1.0)]))
        self.setup(sampling, batch_size, defaults)
        self.observe(noise, noise_seed)

    def exact(self, x: Tensor) -> Tensor:
        """``(u*, a*) = (e^{−t} sin(πx) sin(πy), 2 + sin(πx) sin(πy))``, ``(n, 2)``."""
        s = torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])
        return torch.stack([torch.exp(-x[:, 2]) * s, 2 + s], dim=1)

    def source(self, x: Tensor) -> Tensor:
        """``f = e^{−t}[(4π² − 1) sx sy + π²(2 sx² sy² − cx² sy² − sx² cy²)]``."""
        sx, cx = torch.sin(math.pi * x[:, 0]), torch.cos(math.pi * x[:, 0])
        sy, cy = torch.sin(math.pi * x[:, 1]), torch.cos(math.pi * x[:, 1])
        bracket = ((4 * math.pi**2 - 1) * sx * sy
                   + math.pi**2 * (2 * sx**2 * sy**2 - cx**2 * sy**2 - sx**2 * cy**2))
        return torch.exp(-x[:, 2]) * bracket

    def pde_residual(self, f: Field) -> Tensor:
        """``u_t − ∇·(a∇u) − f``."""
        return f["u"].d("t") - divergence(f) - self.source(f.x)

    def observation_points(self) -> Tensor:
        """The 2,500 points ``(x, y, t)`` of ``heatinv_points.npz`` (float32, as PINNacle loads them)."""
        return torch.as_tensor(load("heatinv_points.npz")["points"], dtype=torch.float64)

    def evaluation_points(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``{−1 + k/9, k = 1, …, 17}²`` crossed with ``t = 1 − j/71``, ``j = 0, …, 70``."""
        side = interior_grid(-1.0, 1.0, 17)
        return torch.as_tensor(grid([side, side, np.linspace(1.0, 0.0, 71, endpoint=False)]), dtype=dtype,
                               device=device)
