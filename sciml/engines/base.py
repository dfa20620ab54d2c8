"""The derivative-engine protocol and the exact reference implementations it shares.

An engine answers the :class:`~sciml.fields.Field` requests. Every method returns tensors with the output
axis last (``(n, k)``, ``(n, m, k)``); the field drops it for scalar views.

Coordinate derivatives come from a model's ``taylor(x, dims)`` method when it has one (forward Taylor
propagation: one pass gives value, first and second derivatives along all requested coordinates), and
otherwise from nested reverse-mode autograd — or, inside a ``torch.func`` transform (the per-point residual
Jacobian of the Gauss-Newton optimizers), where ``requires_grad_`` is not allowed, from ``torch.func``'s
``jacrev``/``jacfwd`` of the model at one point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import torch
from torch import Tensor

from sciml.transforms import inside_transform

if TYPE_CHECKING:
    from sciml.fields import Field


Directions = list[int] | Tensor | None
T = TypeVar("T")


def _directions(dims: Directions, d: int) -> list[int] | Tensor:
    """``dims`` as a list of coordinates (``None``: all ``d``), or the float ``(m, d)`` matrix of directions."""
    if dims is None:
        return list(range(d))
    if isinstance(dims, Tensor) and dims.is_floating_point():
        return dims
    return [int(i) for i in dims]


def _along(t: Tensor, v: int | Tensor) -> Tensor:
    """The derivative ``t`` (``(n, d)``, a gradient) along a coordinate ``v`` or a direction vector ``v``."""
    return t[:, v] if isinstance(v, int) else t @ v


def functional_jet(model, x: Tensor, dims: Directions) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`autograd_jet` by composable transforms: ``vmap`` over points of ``jacrev`` (first) and
    ``jacfwd(jacrev)`` (second derivatives) of the model at one point; usable inside ``vmap``/``jacrev``.
    Along a direction ``v`` the derivatives are ``J v`` and ``vᵀ H v``."""
    from torch.func import jacfwd, jacrev, vmap

    directions = _directions(dims, x.shape[1])

    def at(xi: Tensor) -> tuple[Tensor, Tensor]:
        y = model(xi[None])[0]
        return y, y

    def first(xi: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        jac, y = jacrev(at, has_aux=True)(xi)
        return jac, (jac, y)

    # one pass gives the Hessian (k, d, d) with the Jacobian (k, d) and the value (k,) as by-products
    hess, (d1, y) = vmap(jacfwd(first, has_aux=True))(x)
    if isinstance(directions, Tensor):
        v = directions.to(d1.dtype)
        return y, (d1 @ v.T).transpose(1, 2), torch.einsum("nkij,mi,mj->nmk", hess, v, v)
    d2 = torch.diagonal(hess, dim1=-2, dim2=-1)
    return y, d1[..., directions].transpose(1, 2), d2[..., directions].transpose(1, 2)


def autograd_jet(model, x: Tensor, dims: Directions) -> tuple[Tensor, Tensor, Tensor]:
    """Value, first and second derivatives by nested reverse mode (any ``nn.Module``) along coordinates
    ``dims`` (``None``: all) or along the rows ``v`` of a float ``(m, d)`` matrix: ``∇u·v`` and the
    Hessian-vector product ``vᵀ(∇²u v)``."""
    if inside_transform():  # inside vmap/jacrev: no requires_grad_
        return functional_jet(model, x, dims)
    xg = x if x.requires_grad else x.detach().requires_grad_(True)
    y = model(xg)
    directions = _directions(dims, x.shape[1])
    if isinstance(directions, Tensor):
        directions = list(directions.to(x.dtype))
    d1, d2 = [], []
    for k in range(y.shape[1]):
        (g,) = torch.autograd.grad(y[:, k].sum(), xg, create_graph=True)
        first = [_along(g, v) for v in directions]
        second = [_along(torch.autograd.grad(gv.sum(), xg, create_graph=True)[0], v) if gv.requires_grad
                  else torch.zeros_like(gv) for gv, v in zip(first, directions)]  # g is constant for an affine model
        d1.append(torch.stack(first, dim=1))
        d2.append(torch.stack(second, dim=1))
    return y, torch.stack(d1, dim=-1), torch.stack(d2, dim=-1)


def coordinate_jet(model, x: Tensor, dims: Directions, second: int | None = None,
                   operators: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(y, d1, d2)`` along coordinates or directions ``dims``, by Taylor propagation when the model
    supports it. ``second``: only the first ``second`` directions need second derivatives (``None``: all); a
    model whose ``taylor`` takes ``second`` (``partial_second = True``) then carries no second-order channels
    for the others, and ``d2`` has ``second`` columns (otherwise all of them). ``operators = (A, B)`` asks a
    model with ``operator_channels = True`` for operator channels instead (:meth:`MLP.taylor
    <sciml.models.MLP.taylor>`)."""
    if hasattr(model, "taylor"):
        index = None if dims is None else torch.as_tensor(dims, device=x.device)
        if operators is not None:
            return model.taylor(x, index, operators=operators)
        if second is not None and getattr(model, "partial_second", False):
            return model.taylor(x, index, second=second)
        return model.taylor(x, index)
    return autograd_jet(model, x, dims)


#: a linear operator ``Σ_i a_i ∂_i + Σ_j b_j ∂²_j``: its first-order terms ``((i, a_i), …)`` and second-order
#: terms ``((j, b_j), …)``, each sorted by coordinate
Operator = tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...]]


@dataclass(frozen=True)
class JetPlan:
    """The coordinate derivatives a problem's residuals ask for, so that the exact engine propagates only
    those: ``first`` lists the coordinates whose first derivatives are needed, the ``second`` of them whose
    second derivatives are needed first; ``operators`` are linear operators asked for as a whole
    (:meth:`Field.operator <sciml.fields.Field.operator>`), each one channel of the jet for models that carry
    them (``operator_channels``). Burgers' ``u_t + u u_x − ν u_xx`` in ``(x, t)`` written with ``u.d`` needs
    ``first = (0, 1)``, ``second = 1``: no ``u_tt`` channels; written as ``u.operator({"t": 1}, {"x": −ν}) +
    u.value * u.d("x")`` it needs ``first = (0,)`` and one operator channel: two channels besides the value
    instead of three."""

    first: tuple[int, ...]
    second: int
    operators: tuple[Operator, ...] = ()

    @classmethod
    def from_requests(cls, first: set[int], second: set[int], operators: set[Operator] = frozenset()) -> JetPlan:
        quadratic = {j for op in operators for j, _ in op[1]}  # an operator channel needs these first-order ones
        lead = sorted(second)
        return cls(tuple(lead + sorted((first | quadratic) - second)), len(lead), tuple(sorted(operators)))

    def expanded(self) -> JetPlan:
        """The same derivatives without operator channels (for models that do not carry them): every
        operator's terms as first and second derivatives of their own."""
        if not self.operators:
            return self
        first = set(self.first) | {i for op in self.operators for i, _ in op[0]}
        second = set(self.first[:self.second]) | {j for op in self.operators for j, _ in op[1]}
        return JetPlan.from_requests(first | second, second)

    def dims(self, d: int) -> list[int] | None:
        """The jet's directions for ``d`` inputs (``None``: every coordinate in order)."""
        return None if self.first == tuple(range(d)) else list(self.first)

    def channels(self) -> list[tuple]:
        """What the jet's second-order columns hold, in order: ``("d2", i)`` or ``("op", operator)``."""
        return [("d2", i) for i in self.first[:self.second]] + [("op", op) for op in self.operators]

    def operator_matrices(self, d: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
        """``(A, B)`` of :meth:`channels` for ``MLP.taylor(operators=…)``: ``A`` ``(k, d)`` over the inputs,
        ``B`` ``(k, len(first))`` over the jet's directions (a plain second derivative is a unit row of ``B``)."""
        rows_a, rows_b = [], []
        for kind, what in self.channels():
            a, b = ((), ((what, 1.0),)) if kind == "d2" else what
            row_a, row_b = [0.0] * d, [0.0] * len(self.first)
            for i, value in a:
                row_a[i] = value
            for j, value in b:
                row_b[self.first.index(j)] = value
            rows_a.append(row_a)
            rows_b.append(row_b)
        return (torch.tensor(rows_a, dtype=dtype, device=device).reshape(-1, d),
                torch.tensor(rows_b, dtype=dtype, device=device).reshape(-1, len(self.first)))


class Engine:
    """Exact derivatives. Stochastic engines override :meth:`laplacian` (and :meth:`hessian_diag`).

    The coordinate jet (value, first and diagonal second derivatives) is computed once per field on the first
    derivative request and shared by everything after it. Without a :class:`JetPlan` it runs along every
    coordinate with second derivatives for each; :meth:`learn_plan` records what one evaluation of the losses
    asks for, and from then on the jet carries only that. A request outside the plan (another evaluation,
    a branch the recording did not take) gets the full jet, so a plan changes the cost, never the values.
    """

    name = "exact"
    #: whether :meth:`learn_plan` applies (stochastic engines draw directions per evaluation: they do not)
    plans_jets = True
    plan: JetPlan | None = None
    _requests: tuple[set[int], set[int], set[Operator]] | None = None

    def learn_plan(self, evaluate: Callable[[], T]) -> T:
        """Run ``evaluate`` (an evaluation of the losses) with full jets, recording which coordinate derivatives
        it asks for, keep them as the plan of every later jet, and return what ``evaluate`` returned."""
        self.plan, self._requests = None, (set(), set(), set())
        try:
            out = evaluate()
            first, second, operators = self._requests
        finally:
            self._requests = None
        self.plan = JetPlan.from_requests(first | second, second, operators)
        return out

    def _jet(self, u: Field, plan: JetPlan | None) -> None:
        """Compute ``u``'s jet under ``plan`` (``None``: full) into its cache: ``(d1, d2)``, the coordinates of
        ``d1``'s columns (``None``: all, in order) and what ``d2``'s columns hold (``None``: the second
        derivatives along ``d1``'s directions)."""
        if plan is not None and plan.operators and not getattr(u.model, "operator_channels", False):
            plan = plan.expanded()
        dims = None if plan is None else plan.dims(u.dim)
        if plan is not None and plan.operators:
            matrices = plan.operator_matrices(u.dim, u.x.dtype, u.x.device)
            y, d1, d2 = coordinate_jet(u.model, u.x, dims, operators=matrices)
            channels = plan.channels()
        else:
            y, d1, d2 = coordinate_jet(u.model, u.x, dims, None if plan is None else plan.second)
            channels = None
        u.cache["jet"] = (d1, d2)
        u.cache["jet_columns"] = dims
        u.cache["jet_channels"] = channels
        u.cache.setdefault("value", y)

    def full_jet(self, u: Field) -> tuple[Tensor, Tensor]:
        if "jet" not in u.cache:
            self._jet(u, self.plan)
        return u.cache["jet"]

    def _columns(self, u: Field, order: int, dims: list[int]) -> Tensor:
        """The derivatives of ``order`` along coordinates ``dims`` from the field's jet, ``(n, len(dims), k)``
        (the full jet when the plan's lacks one)."""
        if self._requests is not None:
            self._requests[order - 1].update(dims)
        return self._take(u, [(order, i) for i in dims])

    def _take(self, u: Field, wanted: list[tuple]) -> Tensor:
        """Columns of the field's jet: ``(1, i)`` first and ``(2, i)`` second derivatives along coordinate
        ``i``, or ``("op", operator)``; all of one kind. Computes the full jet when one is missing."""
        d1, d2 = self.full_jet(u)
        if wanted[0][0] == 1:
            have, columns = d1, u.cache["jet_columns"] or list(range(u.dim))
            keys = [i for _, i in wanted]
        else:
            have = d2
            columns = u.cache["jet_channels"] or [("d2", i) for i in u.cache["jet_columns"] or range(u.dim)]
            keys = [("d2", i) if kind == 2 else (kind, i) for kind, i in wanted]
        positions = [columns.index(k) if k in columns else have.shape[1] for k in keys]
        if max(positions) < have.shape[1]:
            return have if positions == list(range(have.shape[1])) else have[:, positions]
        if wanted[0][0] == "op":
            raise KeyError("no operator channel")
        self._jet(u, None)  # outside the plan
        return self._take(u, wanted)

    def operator(self, u: Field, first: tuple[tuple[int, float], ...],
                 second: tuple[tuple[int, float], ...]) -> Tensor:
        """``Σ_i a_i ∂u/∂x_i + Σ_j b_j ∂²u/∂x_j²``, ``(n, k)``: one channel of the jet when the plan has it,
        else the sum of the derivatives (which an engine without plans computes its own way)."""
        if not self.plans_jets:
            terms = [a * self.first(u, i) for i, a in first] + [b * self.second(u, j) for j, b in second]
            return torch.stack(terms).sum(0)
        op = (first, second)
        if self._requests is not None:
            self._requests[2].add(op)
        try:
            return self._take(u, [("op", op)])[:, 0]
        except KeyError:  # no such channel: the sum, from columns the recording does not count as asked for
            terms = [a * self._take(u, [(1, i)])[:, 0] for i, a in first]
            terms += [b * self._take(u, [(2, j)])[:, 0] for j, b in second]
            return torch.stack(terms).sum(0)

    def value(self, u: Field) -> Tensor:
        return u.model(u.x)

    def gradient(self, u: Field) -> Tensor:
        return self._columns(u, 1, list(range(u.dim)))

    def first(self, u: Field, i: int) -> Tensor:
        return self._columns(u, 1, [i])[:, 0]

    def second(self, u: Field, i: int) -> Tensor:
        return self._columns(u, 2, [i])[:, 0]

    def hessian_diag(self, u: Field) -> Tensor:
        return self._columns(u, 2, list(u.spatial_dims))

    def laplacian(self, u: Field) -> Tensor:
        """``Σ_i ∂²u/∂x_i²`` over the spatial variables: one operator channel of the jet (the forward Laplacian
        of Li et al. 2023) for models that carry them, else the sum of the second derivatives."""
        return self.operator(u, (), tuple((i, 1.0) for i in u.spatial_dims))

    def mixed(self, u: Field, i: int, j: int) -> Tensor:
        """``∂²u/∂x_i∂x_j`` for ``i != j`` by reverse mode over the first derivative."""
        xg = u.x.detach().requires_grad_(True)
        y = u.model(xg)
        out = []
        for k in range(y.shape[1]):
            (g,) = torch.autograd.grad(y[:, k].sum(), xg, create_graph=True)
            (h,) = torch.autograd.grad(g[:, i].sum(), xg, create_graph=True)
            out.append(h[:, j])
        return torch.stack(out, dim=-1)
