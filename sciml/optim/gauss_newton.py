"""Gauss-Newton steps on the residual vector: Gradient-Normalized Smoothness and energy natural gradient.

Both linearise the residual ``r(θ)`` of the loss ``L = ‖r‖²`` (the trainer's weighted residual vector,
``Trainer.residual_vector``): with ``J = ∂r/∂θ``, ``∇L = 2Jᵀr`` and the Gauss-Newton Hessian is ``2JᵀJ``.

- :class:`GNS` (Semenov, Jaggi & Doikov 2025, arXiv 2506.13710, with ``H = 2JᵀJ``):
  ``λ = ‖∇L‖/γ``, ``θ⁺ = θ − (2JᵀJ + λI)⁻¹∇L``; accept if ``L(θ) − L(θ⁺) ≥ ‖∇L(θ⁺)‖²/(8λ)`` and then
  ``γ ← 2γ``, else ``γ ← γ/2`` and retry: Levenberg-Marquardt with damping proportional to ``‖∇L‖``.
- :class:`LevenbergMarquardt` (Levenberg 1944, Marquardt 1963, with Nielsen's 1999 damping update):
  ``θ⁺ = θ − (JᵀJ + μI)⁻¹Jᵀr``; with the gain ratio ``ρ = (L(θ) − L(θ⁺)) / (L(θ) − ‖r − Jδ‖²)``, accept if
  ``ρ > 0`` and set ``μ ← μ·max(1/3, 1 − (2ρ − 1)³)``, else ``μ ← μν``, ``ν ← 2ν`` and retry.
- :class:`EnergyNaturalGradient` (Müller & Zeinhofer 2023, "Achieving high accuracy with PINNs via
  energy natural gradients", ICML 2023): for a linear PDE, ``JᵀJ`` is the Gram matrix of the
  energy inner product; ``θ⁺ = θ − η (JᵀJ)⁺ Jᵀr`` with ``η`` chosen on the grid ``{2⁻ᵏ}`` by loss.

The linear systems are solved in the smaller of the two spaces (``N`` residuals or ``P`` parameters):
``(JᵀJ + μI)⁻¹Jᵀr = Jᵀ(JJᵀ + μI)⁻¹r``. ``J`` comes from the caller's ``linearize(params) -> (r, J)``
when given (the trainer builds it point by point with ``torch.func``, :mod:`sciml.train.jacobian`), else
from one batched backward pass per chunk of residuals (``torch.autograd.grad(..., is_grads_batched=True)``),
``N`` backward passes. These methods suit small networks and fixed point sets (which the trainer uses for
them): a step solves an ``min(N, P)``-sized linear system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.optim import Optimizer


def residual_jacobian(r: Tensor, params: list[Tensor], chunk: int = 256) -> Tensor:
    """``J = ∂r/∂θ`` as an ``(N, P)`` matrix (parameters flattened in order)."""
    n = r.numel()
    flat = r.reshape(-1)
    blocks = []
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        seed = torch.zeros(rows, n, dtype=r.dtype, device=r.device)
        seed[:, start:start + rows].fill_diagonal_(1.0)
        grads = torch.autograd.grad(flat, params, grad_outputs=seed, is_grads_batched=True,
                                    retain_graph=True, allow_unused=True)
        blocks.append(torch.cat([(g if g is not None else torch.zeros(rows, *p.shape, dtype=r.dtype,
                                                                      device=r.device)).reshape(rows, -1)
                                 for g, p in zip(grads, params)], dim=1))
    return torch.cat(blocks)


class DampedSystem:
    """``(JᵀJ + μI)⁻¹ Jᵀ r`` for several ``μ > 0`` (the retries of one damped Gauss-Newton step): the Gram
    matrix of the smaller space is formed once, each ``μ`` costs one Cholesky factorisation. Accumulated in
    at least float64 (a float32 Gram matrix loses positive definiteness once ``μ`` is small)."""

    def __init__(self, jac: Tensor, r: Tensor) -> None:
        dtype = torch.promote_types(jac.dtype, torch.float64)
        self.out_dtype = jac.dtype
        self.jac, rr = jac.to(dtype), r.to(dtype).reshape(-1, 1)
        self.small_n = jac.shape[0] <= jac.shape[1]
        self.gram = self.jac @ self.jac.mT if self.small_n else self.jac.mT @ self.jac
        self.rhs = rr if self.small_n else self.jac.mT @ rr

    def solve(self, mu: float) -> Tensor | None:
        """The step for damping ``μ``; ``None`` if the factorisation fails all the same (callers treat that
        as a rejected step and raise ``μ``)."""
        shifted = self.gram.clone()
        shifted.diagonal().add_(mu)
        factor, info = torch.linalg.cholesky_ex(shifted)
        if int(info) != 0:
            return None
        delta = torch.cholesky_solve(self.rhs, factor)
        if self.small_n:
            delta = self.jac.mT @ delta
        return delta.reshape(-1).to(self.out_dtype)


def pinv_solve(jac: Tensor, r: Tensor, rcond: float | None) -> Tensor:
    """``(JᵀJ)⁺ Jᵀ r``, the minimum-norm least-squares solution of ``J δ = r``, by an eigendecomposition
    of the smaller Gram matrix; eigenvalues below ``rcond · λ_max`` are dropped.

    ``rcond=None`` is the working precision's cut-off ``10 · max(N, P) · ε`` (``ε`` of ``J``'s dtype): an
    ``(N, P)`` Gram matrix formed and diagonalised in that precision carries eigenvalue errors of order
    ``max(N, P) · ε · λ_max``, so smaller eigenvalues are indistinguishable from zero."""
    n, p = jac.shape
    if rcond is None:
        rcond = 10 * max(n, p) * torch.finfo(jac.dtype).eps
    small_n = n <= p
    gram = jac @ jac.mT if small_n else jac.mT @ jac
    vals, vecs = torch.linalg.eigh(gram)
    keep = vals > rcond * vals.max()
    inv = torch.where(keep, 1.0 / vals.clamp_min(torch.finfo(vals.dtype).tiny), torch.zeros_like(vals))
    if small_n:
        return jac.mT @ (vecs @ (inv * (vecs.mT @ r)))
    return vecs @ (inv * (vecs.mT @ (jac.mT @ r)))


class ResidualOptimizer(Optimizer):
    """Base: flat parameter access, the trainer hook (``consumes = "residuals"``) and the Jacobian."""

    consumes = "residuals"

    def params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"] if p.requires_grad]

    def flat(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params()])

    @torch.no_grad()
    def assign(self, x: Tensor) -> None:
        offset = 0
        for p in self.params():
            p.copy_(x[offset:offset + p.numel()].view_as(p))
            offset += p.numel()

    def flat_grad(self) -> Tensor:
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in self.params()])

    def linearize(self, residuals: Callable[[], Tensor]) -> tuple[Tensor, Tensor]:
        """``(r, J)`` at the current parameters, detached, by batched backward passes through ``r``."""
        with torch.enable_grad():
            r = residuals().reshape(-1)
            jac = residual_jacobian(r, self.params(), self.defaults["chunk"])
        return r.detach(), jac

    @staticmethod
    def loss_of(residuals: Callable[[], Tensor]) -> float:
        with torch.enable_grad():
            return float(residuals().detach().square().sum())

    def step(self, closure: Callable[[], Tensor] | None = None,
             residuals: Callable[[], Tensor] | None = None,
             linearize: Callable[[list[Tensor]], tuple[Tensor, Tensor] | None] | None = None) -> Tensor | None:
        """One step. ``residuals() -> r`` (loss ``‖r‖²``) is required; ``linearize(params) -> (r, J)`` is
        an optional faster way to get ``r`` and ``J = ∂r/∂θ`` (columns: ``params`` flattened in order); when
        it is missing or returns ``None``, ``J`` comes from batched backward passes (:meth:`linearize`)."""
        if residuals is None:
            raise ValueError(f"{type(self).__name__}.step needs residuals=fn, fn() -> the residual vector r "
                             "with loss ‖r‖²")
        def linearization() -> tuple[Tensor, Tensor]:
            given = linearize(self.params()) if linearize is not None else None
            return given if given is not None else self.linearize(residuals)

        return self.residual_step(closure, residuals, linearization)

    def residual_step(self, closure, residuals, linearize: Callable[[], tuple[Tensor, Tensor]]) -> Tensor | None:
        """One step given ``residuals() -> r`` and ``linearize() -> (r, J)`` at the current parameters."""
        raise NotImplementedError


class GNS(ResidualOptimizer):
    """Gradient-Normalized Smoothness with the Gauss-Newton model (a Levenberg-Marquardt method).

    ``gamma`` is the initial smoothness scale (adapted every step, kept in the param group so it is
    checkpointed); ``lr`` multiplies the accepted step (1 in the paper); ``max_tries`` bounds the
    retries of one step.
    """

    def __init__(self, params: Iterable, lr: float = 1.0, gamma: float = 1.0, max_tries: int = 20,
                 gamma_max: float = 1e12, chunk: int = 256) -> None:
        if not lr > 0 or not gamma > 0:
            raise ValueError(f"lr and gamma must be positive, got {lr}, {gamma}")
        super().__init__(params, dict(lr=lr, gamma=gamma, max_tries=max_tries, gamma_max=gamma_max, chunk=chunk))

    def residual_step(self, closure, residuals, linearize) -> Tensor | None:
        group = self.param_groups[0]
        loss = closure() if closure is not None else None
        r, jac = linearize()
        f0 = float(r.square().sum())
        grad = 2.0 * (jac.mT @ r)
        gnorm = float(grad.norm())
        if gnorm == 0.0:
            return loss
        x0 = self.flat()
        system = DampedSystem(jac, r)
        for _ in range(group["max_tries"]):
            lam = gnorm / group["gamma"]
            # (2JᵀJ + λI) δ = 2Jᵀr  ⇔  (JᵀJ + λ/2 I) δ = Jᵀr
            delta = system.solve(lam / 2.0)
            if delta is None:  # not positive definite in the working precision: more damping
                group["gamma"] = group["gamma"] / 2.0
                continue
            self.assign(x0 - group["lr"] * delta)
            with torch.enable_grad():
                self.zero_grad(set_to_none=True)
                r_new = residuals().reshape(-1)
                f1 = r_new.square().sum()
                f1.backward()
            # the test, up to the rounding error of the two loss values (else γ would collapse at the optimum)
            slack = 4.0 * torch.finfo(r.dtype).eps * f0
            if f0 - float(f1.detach()) >= float(self.flat_grad().square().sum()) / (8.0 * lam) - slack:
                group["gamma"] = min(2.0 * group["gamma"], group["gamma_max"])
                return loss
            group["gamma"] = group["gamma"] / 2.0
        self.assign(x0)
        return loss


class LevenbergMarquardt(ResidualOptimizer):
    """Levenberg-Marquardt with the gain-ratio damping update; ``damping`` is the initial ``μ`` relative to
    the mean diagonal of ``JᵀJ``, ``μ`` and ``ν`` are kept in the param group (checkpointed)."""

    def __init__(self, params: Iterable, lr: float = 1.0, damping: float = 1e-3, max_tries: int = 20,
                 chunk: int = 256) -> None:
        if not lr > 0 or not damping > 0:
            raise ValueError(f"lr and damping must be positive, got {lr}, {damping}")
        super().__init__(params, dict(lr=lr, damping=damping, mu=None, nu=2.0, max_tries=max_tries, chunk=chunk))

    def residual_step(self, closure, residuals, linearize) -> Tensor | None:
        group = self.param_groups[0]
        loss = closure() if closure is not None else None
        r, jac = linearize()
        f0 = float(r.square().sum())
        if group["mu"] is None:
            group["mu"] = group["damping"] * float(jac.square().sum()) / jac.shape[1]
        x0 = self.flat()
        system = DampedSystem(jac, r)
        for _ in range(group["max_tries"]):
            delta = system.solve(group["mu"])
            if delta is None:  # not positive definite in the working precision: more damping
                group["mu"] *= group["nu"]
                group["nu"] *= 2.0
                continue
            delta = group["lr"] * delta
            predicted = f0 - float((r - jac @ delta).square().sum())
            self.assign(x0 - delta)
            f1 = self.loss_of(residuals)
            rho = (f0 - f1) / predicted if predicted > 0 else -1.0
            if rho > 0:
                group["mu"] *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                group["nu"] = 2.0
                return loss
            group["mu"] *= group["nu"]
            group["nu"] *= 2.0
        self.assign(x0)
        return loss


class EnergyNaturalGradient(ResidualOptimizer):
    """Energy natural gradient: Gauss-Newton direction ``(JᵀJ)⁺Jᵀr`` and a grid line search over
    ``η ∈ {1, 1/2, …, 2^{1−line_search}}`` (the best loss wins; no step if none decreases it).

    ``rcond`` drops Gram eigenvalues below ``rcond · λ_max`` (singular values of ``J`` below ``√rcond``
    of the largest): at random initialisation the tiny ones make the step useless, and ``1e-6`` kept
    every tested PINN run moving where machine-precision cut-offs stalled. ``None`` is that machine-precision
    cut-off, ``10 · max(N, P) · ε``, resolved at each step from the Jacobian's shape and dtype
    (:func:`pinv_solve`).
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rcond: float | None = 1e-6, line_search: int = 20,
                 chunk: int = 256) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if rcond is not None and not 0 <= rcond < 1:
            raise ValueError(f"rcond must lie in [0, 1) or be None, got {rcond}")
        super().__init__(params, dict(lr=lr, rcond=rcond, line_search=line_search, chunk=chunk))

    def residual_step(self, closure, residuals, linearize) -> Tensor | None:
        group = self.param_groups[0]
        loss = closure() if closure is not None else None
        r, jac = linearize()
        delta = pinv_solve(jac, r, group["rcond"])
        x0 = self.flat()
        best, best_eta = float(r.square().sum()), 0.0
        for k in range(group["line_search"]):
            eta = group["lr"] * 0.5**k
            self.assign(x0 - eta * delta)
            value = self.loss_of(residuals)
            if value < best:
                best, best_eta = value, eta
        self.assign(x0 - best_eta * delta)
        return loss
