"""The balancer protocol: how per-term losses become one step's objective and gradient.

The step contract (``docs/DESIGN.md``, "Step contract"): per optimizer step the trainer calls
:meth:`Balancer.decide` exactly once, on the losses at the step's starting point. The decision is a vector
of objective weights ``α`` (one per term): the step minimises ``Σ_i α_i L_i``. Every optimizer works with
that one objective, whatever it consumes:

- a first-order phase (Adam, Muon, ...) gets ``p.grad`` from :meth:`Balancer.backward`, which is
  ``∇ Σ α_i L_i`` unless the balancer writes a direction with memory of its own (GCond's momentum);
- a closure phase (L-BFGS, SSBFGS) re-evaluates :meth:`Balancer.objective` with the step's ``α`` at every
  point of its line search: one fixed objective per step;
- a Gauss-Newton phase (LM, GNS, ENGD) linearises the residual vector weighted by ``α``;
- a term-gradient phase (MultiAdam) gets ``α`` with the per-term gradients :meth:`term_gradients` and weights
  its groups' normalised directions by it (:mod:`sciml.optim.multiadam`).

Weighting balancers (annealing, ReLoBRaLo, gradient norms) decide ``α`` as their weights. Gradient-surgery
balancers (PCGrad, CAGrad, GCond) produce a direction that is a non-negative combination of the term
gradients, ``d = Σ_i α_i ∇L_i``, so their decision is that combination: in a first-order phase ``∇ Σ α_i
L_i`` is exactly their direction, and a second-order phase minimises the objective whose gradient at the
step's start is that direction.

A balancer that looks at the residual vectors themselves (NTK weights) sets ``needs_residuals``: the trainer
then keeps each term's residual vector from the step's loss evaluation and hands it over
(:meth:`take_residuals`) before the decision.

A balancer is an ``nn.Module`` whose state (weights, moving averages, counters) lives in buffers, saved with
``state_dict`` and restored exactly. Subclasses implement one method, :meth:`Balancer.update`; the entry
points :meth:`decide`, :meth:`backward` and :meth:`objective` are final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, final

import torch
from torch import Tensor, nn

from sciml.collective import average
from sciml.errors import ConfigError


def pde_terms(names: list[str], chosen: Sequence[str] | None = None,
              declared: Sequence[str] | None = None) -> list[str]:
    """The PDE residual terms among ``names``: ``chosen`` (a config's ``pde_terms``; each must be a term),
    else the problem's ``declared`` ones (:attr:`sciml.problem.Problem.pde_term_names`: Navier-Stokes'
    ``mom_x, mom_y, cont``), else ``pde`` when there is one, else the first term (as the annealing balancers
    choose their reference: the LPINN's characteristic residual ``x``)."""
    if chosen is None:
        chosen = declared
    if chosen is None:
        return ["pde"] if "pde" in names else names[:1]
    chosen = list(chosen)
    unknown = [n for n in chosen if n not in names]
    if unknown or not chosen:
        raise ConfigError("pde_terms", f"must name some of the terms {list(names)}, got {chosen}")
    return chosen


class Balancer(nn.Module):
    """Base class. ``weights`` holds the balancer's term weights, ``objective_weights`` the step's ``α``,
    ``decisions`` the number of decisions taken (one per optimizer step)."""

    #: whether :meth:`update` reads the step's residual vectors (:meth:`residuals`)
    needs_residuals: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.params: list[nn.Parameter] = []
        self.register_buffer("weights", torch.ones(0))
        self.register_buffer("objective_weights", torch.ones(0, dtype=torch.float64))
        self.register_buffer("decisions", torch.zeros((), dtype=torch.int64))
        self._grads: list[list[Tensor]] | None = None
        self._residuals: dict[str, Tensor] | None = None

    def setup(self, names: list[str], params: list[nn.Parameter], initial: dict[str, float] | None = None,
              pde: Sequence[str] | None = None) -> None:
        """Bind to the problem's terms and the model's trainable parameters; ``pde``: the terms the problem
        declares as PDE residuals (:func:`pde_terms`), read by the balancers that weight those apart."""
        self.names = list(names)
        self.params = list(params)
        initial = initial or {}
        self.weights = torch.tensor([float(initial.get(n, 1.0)) for n in names], dtype=torch.float64)
        self.objective_weights = self.weights.clone()

    def weight_dict(self) -> dict[str, float]:
        """The objective weights of the last decision (the term weights before the first one)."""
        return {n: float(w) for n, w in zip(self.names, self.objective_weights)}

    # --- the contract -----------------------------------------------------------------------------------
    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        """Update the balancer's state from the step's ``losses`` and return the objective weights ``α``.

        Called once per optimizer step; ``first_order`` says whether the active phase takes ``p.grad``,
        which the balancer then writes (:meth:`write_gradient`, a direction with memory for GCond); it is
        false in closure, Gauss-Newton and term-gradient phases. Per-term gradients come from
        :meth:`term_gradients` (cached for the step), residual vectors from :meth:`residuals`.
        """
        raise NotImplementedError

    @final
    def decide(self, losses: dict[str, Tensor], step: int, first_order: bool = False) -> Tensor:
        """The step's decision: ``α`` (float64) from :meth:`update`, recorded in ``objective_weights``.
        The residual vectors handed for it are released afterwards."""
        self._grads = None
        alpha = self.update(losses, step, first_order).detach().to(torch.float64)
        self._residuals = None
        self.objective_weights = alpha.to(self.objective_weights.device)
        self.decisions += 1
        return alpha

    def take_residuals(self, residuals: dict[str, Tensor]) -> None:
        """The trainer hands the step's residual vectors (per term, flattened, with graph; the losses are
        their mean squares) before :meth:`decide`, when ``needs_residuals`` is set."""
        self._residuals = residuals

    def residuals(self) -> dict[str, Tensor]:
        """The residual vectors handed for this decision (:meth:`take_residuals`)."""
        if self._residuals is None:
            raise RuntimeError(f"{type(self).__name__} needs the step's residual vectors: hand them with "
                               "take_residuals before decide")
        return self._residuals

    @final
    def objective(self, losses: dict[str, Tensor]) -> Tensor:
        """``Σ_i α_i L_i`` with the step's decided weights (what line searches re-evaluate)."""
        return sum(a.to(losses[n].dtype) * losses[n] for n, a in zip(self.names, self.objective_weights))

    @final
    def backward(self, losses: dict[str, Tensor], step: int) -> Tensor:
        """A first-order step: decide, write the step's gradient into ``p.grad`` and return the objective
        ``Σ α_i L_i`` (detached, for logging and the divergence guard)."""
        self.decide(losses, step, first_order=True)
        self.write_gradient(losses)
        self._grads = None
        return self.objective(losses).detach()

    def write_gradient(self, losses: dict[str, Tensor]) -> None:
        """``p.grad = ∇ Σ α_i L_i`` (from the cached term gradients when the decision computed them).
        Balancers whose first-order direction has memory (GCond) override this."""
        if self._grads is not None:
            self.assign_combination(self._grads, self.objective_weights)
        else:
            self.objective(losses).backward()

    # --- helpers for strategies that look at each term's gradient -------------------------------------
    def term_gradients(self, losses: dict[str, Tensor]) -> list[list[Tensor]]:
        """``∇_θ L_i`` for every term (in ``names`` order), one tensor per parameter (zeros if unused);
        computed once per decision."""
        if self._grads is None:
            self._grads = [self.gradient_of(losses[name]) for name in self.names]
        return self._grads

    def gradient_of(self, loss: Tensor) -> list[Tensor]:
        """``∇_θ loss`` (zeros for unused parameters), averaged over data-parallel ranks when running
        under torchrun, so per-term statistics and surgery see the gradient of the whole batch."""
        parts = torch.autograd.grad(loss, self.params, retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, parts)]
        average(grads)
        return grads

    def flat_gradients(self, losses: dict[str, Tensor]) -> Tensor:
        """The term gradients as the rows of a ``(terms, parameters)`` matrix."""
        return torch.stack([torch.cat([g.reshape(-1) for g in grads]) for grads in self.term_gradients(losses)])

    def assign_combination(self, grads: list[list[Tensor]], coefficients: Tensor) -> None:
        """``p.grad = Σ_i c_i ∇L_i`` from per-term gradients at hand (no second backward); contiguous, as
        optimizers that view the flat gradient (L-BFGS) require."""
        for j, p in enumerate(self.params):
            p.grad = sum(c.to(p.dtype) * g[j] for c, g in zip(coefficients, grads)).contiguous()

    def assign(self, flat: Tensor) -> None:
        """Write a flat gradient vector into ``p.grad`` of the bound parameters."""
        offset = 0
        for p in self.params:
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).to(p.dtype).clone()
            offset += n
