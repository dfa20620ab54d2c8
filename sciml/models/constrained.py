"""Hard-constraint wrappers ``u(x) = a(x)·N(x) + b(x)`` with Taylor jets by the product rule.

Boundary and terminal conditions imposed exactly, as in the SDGD and STDE setups (Hu et al. 2023, Sec. 5;
Shi et al. 2024, Sec. 5): ``u = (1 − ‖x‖²)·MLP(x)`` on the unit ball, ``u = (T − t)·MLP(x, t) + g(x)`` for
terminal-value problems. The derivatives of ``a`` and ``b`` along the sampled directions are analytic
(for the ball factor along ``e_i``: ``−2x_i`` and ``−2``), so a jet of ``u`` along ``m`` directions costs
the network's jet plus ``O(n m)``; along a coordinate direction ``i``::

    u_i  = a_i N + a N_i + b_i,      u_ii = a_ii N + 2 a_i N_i + a N_ii + b_ii.

An operator channel ``L = Σ_i A_i ∂_i + Σ_j B_j ∂²_j`` of the network (``sciml/models/jets.py``; the forward
Laplacian with ``A = 0``, ``B = 1``) carries through the same way: ``L u = a L N + (L a) N + 2 Σ_j B_j a_j N_j
+ L b``.

A factor or offset may also differ between outputs (:class:`PerOutput`): its jets then carry a trailing output
axis, ``(n, o)``, ``(n, m, o)``, and output ``k`` reads ``u_k = a_k N_k + b_k``; :class:`Constant` fills the
outputs left free (factor 1, offset 0). Lid-driven flow, for instance, constrains the two velocities and leaves
the pressure free.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class FromJet:
    """A :class:`JetFunction` whose value is its jet's along no direction: subclasses write ``jet`` alone."""

    def __call__(self, x: Tensor) -> Tensor:
        return self.jet(x, torch.zeros(0, dtype=torch.long, device=x.device))[0]

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        raise NotImplementedError


class Constant(FromJet):
    """The constant ``c`` (zero derivatives): the factor 1 or the offset 0 of an output left free."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        zeros = x.new_zeros(x.shape[0], dims.shape[0])
        return x.new_full((x.shape[0],), self.value), zeros, zeros


class PerOutput:
    """One :class:`JetFunction` per output, stacked on a trailing output axis: ``(n, o)``, ``(n, m, o)``."""

    def __init__(self, functions: Sequence[JetFunction]) -> None:
        self.functions = list(functions)

    def __call__(self, x: Tensor) -> Tensor:
        return torch.stack([f(x) for f in self.functions], dim=-1)

    def jet(self, x: Tensor, dims: Tensor) -> Jet:
        value, d1, d2 = zip(*(f.jet(x, dims) for f in self.functions))
        return torch.stack(value, -1), torch.stack(d1, -1), torch.stack(d2, -1)


def affine_jet(x: Tensor, dims: Tensor, weights: Sequence[float], bias: float = 0.0) -> Jet:
    """``w·x + c`` with its jet along ``dims`` (second derivatives zero)."""
    w = torch.tensor(weights, dtype=x.dtype, device=x.device)
    d1 = (direction_matrix(x, dims) @ w).expand(x.shape[0], -1)
    return x @ w + bias, d1, torch.zeros_like(d1)


def box_jet(x: Tensor, dims: Tensor, bounds: Sequence[tuple[float, float]]) -> Jet:
    """``Π_i (x_i − lo_i)(hi_i − x_i)`` over the box's coordinates, zero on its faces, with its jet along
    ``dims``."""
    v = direction_matrix(x, dims)
    factors = []
    for i, (lo, hi) in enumerate(bounds):
        xi = x[:, i]
        factors.append(((xi - lo) * (hi - xi), (lo + hi - 2 * xi)[:, None] * v[:, i],
                        (-2 * v[:, i] ** 2).expand(x.shape[0], -1)))
    out = factors[0]
    for factor in factors[1:]:
        out = jet_product(out, factor)
    return out


def direction_matrix(x: Tensor, dims: Tensor) -> Tensor:
    """The jet's directions as rows of an ``(m, d)`` matrix in ``x``'s dtype (coordinates become unit rows)."""
    if dims.is_floating_point():
        return dims.to(x.dtype)
    return torch.eye(x.shape[1], dtype=x.dtype, device=x.device)[dims]


def jet_product(a: Jet, b: Jet) -> Jet:
    """The jet of ``f·g`` from those of ``f`` and ``g``: ``(fg)' = f'g + fg'``, ``(fg)'' = f''g + 2f'g' + fg''``
    (with or without a trailing output axis)."""
    (f, f1, f2), (g, g1, g2) = a, b
    f_, g_ = f.unsqueeze(1), g.unsqueeze(1)
    return f * g, f1 * g_ + f_ * g1, f2 * g_ + 2 * f1 * g1 + f_ * g2


def jet_quotient(a: Jet, b: Jet) -> Jet:
    """The jet of ``h = f/g`` (``g ≠ 0``): ``h' = (f' − h g')/g``, ``h'' = (f'' − 2h'g' − h g'')/g``."""
    (f, f1, f2), (g, g1, g2) = a, b
    h = f / g
    h1 = (f1 - h[:, None] * g1) / g[:, None]
    return h, h1, (f2 - 2 * h1 * g1 - h[:, None] * g2) / g[:, None]


def jet_sqrt(a: Jet, floor: float = 1e-12) -> Jet:
    """The jet of ``r = √f`` (``f ≥ 0``): ``r' = f'/(2r)``, ``r'' = f''/(2r) − f'²/(4r³)``; ``r`` is floored at
    ``floor`` in the denominators, so a point where ``f = 0`` gets finite derivatives."""
    f, f1, f2 = a
    r = f.clamp_min(0).sqrt()
    safe = r.clamp_min(floor)[:, None]
    return r, f1 / (2 * safe), f2 / (2 * safe) - f1.square() / (4 * safe**3)


def jet_union(a: Jet, b: Jet, floor: float = 1e-12) -> Jet:
    """The R-disjunction ``a ∨ b = a + b + √(a² + b²)`` (Rvachev's R₀ function; Sukumar & Srivastava 2022,
    CMAME 389, 114333, §3): positive where ``a > 0`` or ``b > 0``, zero on the boundary of that union, so a
    factor for a domain that is a union of half-planes (a re-entrant corner). Not smooth where ``a = b = 0``: its
    second derivatives grow as ``1/r`` there; ``floor`` bounds ``r`` in the derivatives' denominators
    (:func:`jet_sqrt`), the value stays exact."""
    r = jet_sqrt(tuple(x + y for x, y in zip(jet_product(a, a), jet_product(b, b))), floor)
    return a[0] + b[0] + r[0], a[1] + b[1] + r[1], a[2] + b[2] + r[2]


class HardConstraint(nn.Module):
    """``u = a(x)·N(x) + b(x)``; ``taylor`` applies the product rule to ``N``'s jet (see module doc)."""

    def __init__(self, model: nn.Module, factor: JetFunction, offset: JetFunction | None = None) -> None:
        super().__init__()
        self.model, self.factor, self.offset = model, factor, offset

    def forward(self, x: Tensor) -> Tensor:
        u = _per_output(self.factor(x)) * self.model(x)
        return u if self.offset is None else u + _per_output(self.offset(x))

    @property
    def operator_channels(self) -> bool:
        """Whether :meth:`taylor` takes ``operators``: when the wrapped network's does."""
        return getattr(self.model, "operator_channels", False)

    def taylor(self, x: Tensor, dims: Tensor | None = None,
               operators: tuple[Tensor | None, Tensor] | None = None) -> Jet:
        """``(u, d1, d2)`` along ``dims`` as :meth:`sciml.models.MLP.taylor`, ``operators`` included (only when
        :attr:`operator_channels`)."""
        dims = _directions(x, dims)
        y, n1, n2 = coordinate_jet(self.model, x, dims, operators=operators)
        a, a1, a2 = _jet_per_output(self.factor.jet(x, dims))
        y1 = y.unsqueeze(1)
        u = a * y
        d1 = a1 * y1 + a.unsqueeze(1) * n1
        if operators is None:
            d2 = a2 * y1 + 2 * a1 * n1 + a.unsqueeze(1) * n2
        else:
            mix = operators[1].to(x.dtype)
            d2 = (_operator_value(self.factor, x, a2, operators) * y1
                  + 2 * torch.einsum("km,nmo->nko", mix, a1 * n1) + a.unsqueeze(1) * n2)
        if self.offset is not None:
            b, b1, b2 = _jet_per_output(self.offset.jet(x, dims))
            if operators is not None:
                b2 = _operator_value(self.offset, x, b2, operators)
            u, d1, d2 = u + b, d1 + b1, d2 + b2
        return u, d1, d2


def _per_output(value: Tensor) -> Tensor:
    """A factor's or offset's value with an output axis: ``(n,)`` (shared by the outputs) becomes ``(n, 1)``."""
    return value.unsqueeze(1) if value.dim() == 1 else value


def _jet_per_output(jet: Jet) -> Jet:
    """A jet with a trailing output axis (of size 1 when the function is shared by the outputs)."""
    value, d1, d2 = jet
    if value.dim() == 1:
        return value.unsqueeze(1), d1.unsqueeze(-1), d2.unsqueeze(-1)
    return value, d1, d2


def _operator_value(function: JetFunction, x: Tensor, second: Tensor,
                    operators: tuple[Tensor | None, Tensor]) -> Tensor:
    """``L f = Σ_i A_ki ∂_i f + Σ_j B_kj ∂²_j f`` of ``function`` with second derivatives ``second``
    (``(n, m, o)``) along the jet's directions, ``(n, k, o)``: its first-order part along the rows of ``A``."""
    drift, mix = operators
    out = torch.einsum("nmo,km->nko", second, mix.to(x.dtype))
    return out if drift is None else out + _jet_per_output(function.jet(x, drift.to(x.dtype)))[1]


__all__ = ["BallFactor", "Constant", "FromJet", "HardConstraint", "JetFunction", "PerOutput", "TimeToGo", "affine_jet",
           "box_jet", "direction_matrix", "jet_product", "jet_quotient", "jet_sqrt", "jet_union"]
