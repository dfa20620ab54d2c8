"""Gradient-enhanced PINNs (gPINN): Yu, Lu, Meng & Karniadakis 2022, "Gradient-enhanced physics-informed neural
networks for forward and inverse PDE problems", CMAME 393, 114823, Eq. (4).

A residual ``r`` that vanishes on the domain has vanishing derivatives there too, so gPINN adds, for every
input coordinate ``x_j``, the loss ``w_j mean((∂r/∂x_j)²)`` over the residual's points:

    L = Σ_i w_i L_i + Σ_j w_j mean((∂r/∂x_j)²).

Each derivative is an ordinary loss term named ``<term>_d<var>`` (``pde_dx``, ``pde_dt``): balancers weigh it,
optimizers linearise it and it shows in the metrics like any other term. It takes the points of its residual
term (:class:`SharedPoints`; the trainer hands them over), so ``∂r/∂x_j`` is penalised where ``r`` is.

``∂r/∂x_j`` is the derivative of the whole residual evaluation — the engine's forward Taylor jets of the network
and the residual's explicit dependence on ``x`` (source terms, coefficients) — taken by reverse mode with
``create_graph`` (a residual at a point depends on that point only, so the gradient of ``Σ_points r`` is each
point's derivative), or, inside a ``torch.func`` transform (the per-point Jacobian of Gauss-Newton), by a
forward-mode ``jvp`` along ``e_j``. Each derivative term evaluates its residual anew (one more residual evaluation
and backward pass per term and step). Engines: the derivative of a sampled estimate (SDGD, STDE, Hutchinson) would
still estimate ``∂r/∂x`` without bias, as the sampled dimensions do not depend on ``x``, but those engines take
first derivatives at detached points, so part of ``∂r/∂x`` would be lost: they are refused, as is a residual
that takes a mixed partial (the exact engine's ``u.d("x", "t")`` is also taken at detached points).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from sciml.engines.base import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.problem import Problem, Residual, SharedPoints, Term, chosen_terms
from sciml.transforms import inside_transform


def coordinate_derivative(residual: Residual, u: Field, j: int, term: str) -> Tensor:
    """``∂r/∂x_j`` of ``r = residual(u)`` at the points of ``u``, shape of ``r`` (``(n,)`` or ``(n, k)``)."""

    def at(x: Tensor) -> Tensor:
        field = Field(u.model, x, u.variables, u.engine, u.spatial_dims, u.outputs, u.data)
        r = residual(field)
        if any(key.startswith("d2:") and "," in key for key in field.cache):
            raise ConfigError("trainer.gpinn", f"term '{term}' takes a mixed partial derivative, which the engine "
                                               "takes at detached points, so ∂r/∂x would be incomplete")
        return r

    if inside_transform():
        direction = torch.zeros_like(u.x)
        direction[:, j] = 1
        return torch.func.jvp(at, (u.x,), (direction,))[1]
    with torch.enable_grad():
        xg = u.x.detach().requires_grad_(True)
        r = at(xg)
        columns = r.reshape(r.shape[0], -1)
        derivatives = [torch.autograd.grad(columns[:, c].sum(), xg, create_graph=True, allow_unused=True,
                                           materialize_grads=True)[0][:, j] for c in range(columns.shape[1])]
    return torch.stack(derivatives, dim=1).reshape(r.shape)


class GradientEnhancement:
    """The gPINN terms of a problem (``trainer.gpinn`` in configs): ``terms`` holds, for every named residual
    term and every variable, the term ``<term>_d<var>`` with residual ``∂r/∂x_var`` and weight ``weight``.

    Args:
        available: the problem's terms, by name.
        terms: the residual terms to differentiate (default: ``pde``).
        weight: the weight of every derivative term (1.0 in PINNacle; Yu et al. tune it per problem).
        variables: the input variables to differentiate along (default: all of them, time included).
    """

    name = "gpinn"

    def __init__(self, problem: Problem, engine: Engine, available: dict[str, Term],
                 terms: Sequence[str] | None = None, weight: float = 1.0,
                 variables: Sequence[str] | None = None) -> None:
        if type(engine) is not Engine:
            raise ConfigError("trainer.gpinn", f"engine '{engine.name}' takes first derivatives at detached points, "
                                               "so ∂r/∂x would be incomplete; use engine=exact")
        terms = chosen_terms(terms, available, "trainer.gpinn.terms", "differentiate",
                             declared=problem.pde_term_names)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ConfigError("trainer.gpinn.weight", f"must be a non-negative number, got {weight!r}")
        variables = list(problem.variables) if variables is None else list(variables)
        unknown = set(variables) - set(problem.variables)
        if unknown or not variables:
            raise ConfigError("trainer.gpinn.variables", f"unknown or no variable(s) {sorted(unknown)}; variables "
                                                         f"are {problem.variables}")
        self.terms: dict[str, Term] = {}
        for name in terms:
            base = available[name]
            for var in variables:
                derived = f"{name}_d{var}"
                if derived in available:
                    raise ConfigError("trainer.gpinn", f"the problem already has a term '{derived}'")
                source = base.source or name  # a shared residual's points' owner
                self.terms[derived] = Term(SharedPoints(source, base.sampler), self._derivative(
                    base.residual, problem.variables.index(var), name), base.batch_size, float(weight))

    @staticmethod
    def _derivative(residual: Residual, j: int, term: str) -> Residual:
        def derivative(u: Field) -> Tensor:
            return coordinate_derivative(residual, u, j, term)
        return derivative

    def after_step(self) -> None:
        """Nothing to advance: the terms are fixed."""

    def metrics(self) -> dict[str, float]:
        return {}
