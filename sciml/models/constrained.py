"""Hard-constraint wrappers ``u(x) = a(x)·N(x) + b(x)`` with Taylor jets by the product rule.

Boundary and terminal conditions imposed exactly, as in the SDGD and STDE setups (Hu et al. 2023, Sec. 5;
Shi et al. 2024, Sec. 5): ``u = (1 − ‖x‖²)·MLP(x)`` on the unit ball, ``u = (T − t)·MLP(x, t) + g(x)`` for
terminal-value problems. The derivatives of ``a`` and ``b`` along the sampled directions are analytic
(for the ball factor along ``e_i``: ``−2x_i`` and ``−2``), so a jet of ``u`` along ``m`` directions costs
the network's jet plus ``O(n m)``; along a coordinate direction ``i``::

    u_i  = a_i N + a N_i + b_i,      u_ii = a_ii N + 2 a_i N_i + a N_ii + b_ii.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor, nn

from sciml.engines.base import coordinate_jet

Jet = tuple[Tensor, Tensor, Tensor]


class JetFunction(Protocol):
    """A scalar function of the inputs with its value and derivatives along directions ``dims``.

    ``jet(x, dims)`` returns ``(value (n,), d1 (n, m), d2 (n, m))``; ``dims`` is an integer tensor of
    coordinates or a float ``(m, d)`` matrix of directions (as in :meth:`sciml.models.MLP.taylor`).
    """

    def __call__(self, x: Tensor) -> Tensor: ...

    def jet(self, x: Tensor, dims: Tensor) -> Jet: ...


def _directions(x: Tensor, dims: Tensor | None) -> Tensor:
    return torch.arange(x.shape[1], device=x.device) if dims is None else dims


class BallFactor:
    """``a(x) = R² − ‖x‖²`` over the first ``dim`` inputs: zero on the sphere of radius ``R``."""

    def __init__(self, radius: float = 1.0, dim: int | None = None) -> None:
        self.radius, self.dim = float(radius), dim

    def _space(self, x: Tensor) -> Tensor:
        return x if self.dim is None or self.dim == x.shape[1] else x[:, : self.dim]

    def __call__(self, x: Tensor) -> Tensor:
        xs = self._space(x)
        return self.radius**2 - torch.linalg.vector_norm(xs, dim=1).square()

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        xs = self._space(x)
        value = self.radius**2 - torch.linalg.vector_norm(xs, dim=1).square()
        space = xs.shape[1]
        if dims.is_floating_point():
            v = dims[:, :space].to(x.dtype)
            return value, -2 * xs @ v.T, (-2 * v.square().sum(1)).expand(x.shape[0], -1)
        inside = (dims < space).to(x.dtype)
        d1 = -2 * x[:, dims] * inside
        return value, d1, (-2 * inside).expand(x.shape[0], -1)


class TimeToGo:
    """``a(x, t) = T − t`` with ``t`` the input column ``index``: zero at the terminal time ``T``."""

    def __init__(self, horizon: float, index: int = -1) -> None:
        self.horizon, self.index = float(horizon), index

    def __call__(self, x: Tensor) -> Tensor:
        return self.horizon - x[:, self.index]

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        index = self.index % x.shape[1]
        if dims.is_floating_point():
            d1 = -dims[:, index].to(x.dtype).expand(x.shape[0], -1)
        else:
            d1 = -(dims == index).to(x.dtype).expand(x.shape[0], -1)
        return self(x), d1, torch.zeros_like(d1)


class HardConstraint(nn.Module):
    """``u = a(x)·N(x) + b(x)``; ``taylor`` applies the product rule to ``N``'s jet (see module doc)."""

    def __init__(self, model: nn.Module, factor: JetFunction, offset: JetFunction | None = None) -> None:
        super().__init__()
        self.model, self.factor, self.offset = model, factor, offset

    def forward(self, x: Tensor) -> Tensor:
        u = self.factor(x).unsqueeze(1) * self.model(x)
        return u if self.offset is None else u + self.offset(x).unsqueeze(1)

    def taylor(self, x: Tensor, dims: Tensor | None = None) -> Jet:
        dims = _directions(x, dims)
        y, n1, n2 = coordinate_jet(self.model, x, dims)
        a, a1, a2 = self.factor.jet(x, dims)
        a1, a2, y1 = a1.unsqueeze(-1), a2.unsqueeze(-1), y.unsqueeze(1)
        u = a.unsqueeze(1) * y
        a = a[:, None, None]
        d1 = a1 * y1 + a * n1
        d2 = a2 * y1 + 2 * a1 * n1 + a * n2
        if self.offset is not None:
            b, b1, b2 = self.offset.jet(x, dims)
            u, d1, d2 = u + b.unsqueeze(1), d1 + b1.unsqueeze(-1), d2 + b2.unsqueeze(-1)
        return u, d1, d2


__all__ = ["BallFactor", "HardConstraint", "JetFunction", "TimeToGo"]
