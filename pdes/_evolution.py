"""Shared pieces of 1-D evolution problems ``u_t = F(u, u_x, u_xx)`` on ``[lo, hi] × [t0, t1]``.

Terms: ``pde`` (the residual in the interior), ``ic`` (``u(x, t0) = u₀(x)``) and ``bc``: periodic
(``u`` and, unless ``periodic_slope`` is off, ``u_x`` equal at ``lo`` and ``hi``; Raissi et al. 2019) or
Dirichlet (``u = boundary_value`` at both ends). Periodicity can instead be imposed exactly by the model
(:class:`sciml.models.periodic.PeriodicMLP`, ``periodic_bc=false``), and the initial condition exactly by
``hard_ic=true`` (``u = u₀(x) + (t − t0) N(x, t)``, Lagaris et al. 1998).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.geometry import BoxBoundarySampler, BoxSampler, TimeProduct
from sciml.geometry.periodic import PeriodicPairSampler
from sciml.problem import Problem, Term, batch_sizes


class InitialConstraint(nn.Module):
    """``u(x, t) = u₀(x) + (t − t0) · N(x, t)``: the initial condition holds exactly."""

    def __init__(self, net: nn.Module, initial, t0: float) -> None:
        super().__init__()
        self.net, self.initial, self.t0 = net, initial, t0

    def forward(self, x: Tensor) -> Tensor:
        return self.initial(x[:, 0]) + (x[:, 1:2] - self.t0) * self.net(x)


class Evolution1D(Problem):
    """Base class. Subclasses set ``name``, ``lo``, ``hi``, ``t1``, ``periodic`` and implement
    :meth:`initial` (``(n,) -> (n, len(outputs))``) and :meth:`pde_residual`."""

    variables = ["x", "t"]
    lo: float
    hi: float
    t0: float = 0.0
    t1: float = 1.0
    periodic: bool = True
    periodic_slope: bool = True
    boundary_value: float = 0.0

    def __init__(self, batch_size: int | dict[str, int] | None = None, periodic_bc: bool = True,
                 hard_ic: bool = False) -> None:
        names = ["pde"] + ([] if hard_ic else ["ic"]) + (["bc"] if periodic_bc or not self.periodic else [])
        if not periodic_bc and not self.periodic:
            raise ConfigError("periodic_bc", f"'{self.name}' has Dirichlet boundaries; only periodic problems "
                                             "may drop the boundary term")
        if batch_size is None:
            batch_size = {"pde": 2000, "ic": 256, "bc": 256}
        if not isinstance(batch_size, int):  # terms switched off by an option keep their size in the config
            batch_size = {k: v for k, v in batch_size.items() if k in names or k not in ("ic", "bc")}
        self.batch = batch_sizes(batch_size, names)
        self.periodic_bc, self.hard_ic = periodic_bc, hard_ic

    @property
    def period(self) -> float:
        return self.hi - self.lo

    def bounds(self) -> list[tuple[float, float]]:
        return [(self.lo, self.hi), (self.t0, self.t1)]

    def initial(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def pde_residual(self, u: Field) -> Tensor:
        raise NotImplementedError

    def ic_residual(self, u: Field) -> Tensor:
        return u.value.reshape(u.n, -1) - self.initial(u.var("x"))

    def bc_residual(self, u: Field) -> Tensor:
        if not self.periodic:
            return u.value - self.boundary_value
        m = u.n // 2
        value = u.value
        if not self.periodic_slope:
            return value[:m] - value[m:]
        slope = u.d("x")
        return torch.cat([value[:m] - value[m:], slope[:m] - slope[m:]])

    def terms(self) -> dict[str, Term]:
        space = BoxSampler([(self.lo, self.hi)])
        terms = {"pde": Term(BoxSampler(self.bounds()), self.pde_residual, self.batch["pde"])}
        if "ic" in self.batch:
            terms["ic"] = Term(TimeProduct(space, self.t0, self.t1, t_value=self.t0), self.ic_residual,
                               self.batch["ic"])
        if "bc" in self.batch:
            sampler = PeriodicPairSampler(self.lo, self.hi, self.t0, self.t1) if self.periodic else \
                TimeProduct(BoxBoundarySampler([(self.lo, self.hi)]), self.t0, self.t1)
            terms["bc"] = Term(sampler, self.bc_residual, self.batch["bc"])
        return terms

    def constrain(self, model: nn.Module) -> nn.Module:
        model = super().constrain(model)
        return InitialConstraint(model, self.initial, self.t0) if self.hard_ic else model

