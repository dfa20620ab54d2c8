"""Temporal causality weights (Wang, Sankaran & Perdikaris, "Respecting causality is all you need for
training physics-informed neural networks", arXiv 2203.07404, CMAME 2024; Eq. 11–12 and Algorithm 1).

The time interval is cut into ``M`` chunks; with ``L_i`` the mean squared residual in chunk ``i``, the
residual loss becomes ``(1/M) Σ_i w_i L_i`` with ``w_i = exp(−ε Σ_{k<i} L_k)`` (no gradient through ``w``):
a later time only counts once the earlier ones are resolved. ``ε`` steps through a schedule (default
``[1e-2, 1e-1, 1, 10, 100]``), moving on whenever ``min_i w_i > δ`` (``δ = 0.99``).

The weights are applied by rescaling each point's residual by ``sqrt(w_i · n / (M · n_i))`` (``n_i`` points
in its chunk), so that ``mean(r²)`` equals the causal loss exactly: every balancer, optimizer and the
Gauss-Newton residual vector see the weighted problem without knowing about it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.problem import Problem, chosen_terms


class CausalWeights:
    """Chunked causal weights over ``[t0, t1]`` for one residual; state: the schedule position."""

    def __init__(self, t0: float, t1: float, chunks: int = 32, epsilon: float | Sequence[float] = (
            1e-2, 1e-1, 1.0, 10.0, 100.0), delta: float = 0.99) -> None:
        self.t0, self.t1 = float(t0), float(t1)
        self.chunks = positive_int(chunks, "trainer.chunks")
        self.schedule = [float(epsilon)] if isinstance(epsilon, (int, float)) else [float(e) for e in epsilon]
        if not self.schedule or any(e < 0 for e in self.schedule):
            raise ConfigError("trainer.epsilon", f"must be a non-negative number or list, got {epsilon!r}")
        if not 0 < delta <= 1:
            raise ConfigError("trainer.delta", f"must lie in (0, 1], got {delta}")
        self.delta, self.level = float(delta), 0
        self.min_weight = 0.0
        self.scale: Tensor | None = None

    @property
    def epsilon(self) -> float:
        return self.schedule[self.level]

    def weights(self, chunk_losses: Tensor) -> Tensor:
        """``w_i = exp(−ε Σ_{k<i} L_k)``."""
        before = torch.cumsum(chunk_losses, 0) - chunk_losses
        return torch.exp(-self.epsilon * before)

    def apply(self, r: Tensor, t: Tensor) -> Tensor:
        """Residual ``r`` (``(n,)`` or ``(n, k)``) at times ``t`` rescaled so that ``mean(r²)`` is causal.

        The chunk weights are decided on the first call of a step and kept until :meth:`advance`, so the
        re-evaluations of one optimizer step (line searches, Gauss-Newton retries, the per-point Jacobian)
        see one fixed objective (the step contract, ``docs/DESIGN.md``)."""
        m = self.chunks
        chunk = ((t.detach() - self.t0) * (m / (self.t1 - self.t0))).long().clamp(0, m - 1)
        if self.scale is None:
            n = r.shape[0]
            sq = r.detach().reshape(n, -1).square().mean(dim=1)
            count = torch.bincount(chunk, minlength=m).to(sq.dtype).clamp_min(1)
            losses = torch.zeros(m, dtype=sq.dtype, device=sq.device).index_add_(0, chunk, sq) / count
            w = self.weights(losses)
            self.min_weight = float(w.min())
            self.scale = torch.sqrt(w * n / (m * count))
        factor = self.scale[chunk]
        return r * factor.reshape(*factor.shape, *([1] * (r.dim() - factor.dim())))

    def advance(self) -> None:
        """End of a step: release the step's weights and move to the next ``ε`` once every chunk's weight
        exceeds ``δ``."""
        self.scale = None
        if self.min_weight > self.delta and self.level + 1 < len(self.schedule):
            self.level += 1


class CausalTechnique:
    """Causal weights on the residual terms ``terms`` of any trainer's problem (a technique: it composes
    with the PINN, SDGD and LPINN loops; ``trainer.causal`` in configs).

    Args:
        terms: the residual terms to weight (default: ``pde`` when the problem has one).
        chunks: number of time chunks ``M`` (32 in the paper).
        epsilon: causality parameter, one value or a schedule.
        delta: the schedule moves on when ``min_i w_i > delta``.
    """

    name = "causal"

    def __init__(self, problem: Problem, term_names: Sequence[str], terms: Sequence[str] | None = None,
                 chunks: int = 32, epsilon: float | Sequence[float] = (1e-2, 1e-1, 1.0, 10.0, 100.0),
                 delta: float = 0.99) -> None:
        time = problem.time_variable
        if time is None or time not in problem.variables:
            raise ConfigError("trainer.causal", f"causal weighting needs a time variable; '{problem.name}' has "
                                                f"variables {problem.variables}")
        terms = chosen_terms(terms, term_names, "trainer.causal.terms", "weight",
                             declared=problem.pde_term_names)
        bounds = problem.bounds()
        if bounds is None:
            raise ConfigError("trainer.causal", f"causal weighting needs the time interval; '{problem.name}' has "
                                                "no bounds")
        t0, t1 = bounds[problem.variables.index(time)]
        self.time, self.terms = time, list(terms)
        self.weights = CausalWeights(t0, t1, chunks, list(epsilon) if not isinstance(epsilon, (int, float))
                                     else epsilon, delta)

    def wrap(self, name: str, residual):
        """The residual of term ``name``, causally weighted when the technique applies to it."""
        if name not in self.terms:
            return residual

        def causal_residual(u: Field) -> Tensor:
            return self.weights.apply(residual(u), u.var(self.time))
        return causal_residual

    def after_step(self) -> None:
        self.weights.advance()

    def metrics(self) -> dict[str, float]:
        return {"causal/epsilon": self.weights.epsilon, "causal/min_weight": self.weights.min_weight}

    def state_dict(self) -> dict:
        return {"level": self.weights.level, "min_weight": self.weights.min_weight}

    def load_state_dict(self, state: dict) -> None:
        self.weights.level = int(state["level"])
        self.weights.min_weight = float(state["min_weight"])
