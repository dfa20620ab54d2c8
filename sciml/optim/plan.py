"""Optimizer plans: one or more phases (e.g. Adam then L-BFGS), each an optimizer with its schedule.

An optimizer config names a factory ``f(model, steps, **options) -> Phase | list[Phase]``. The trainer
asks the plan which phase is active at each step. An optimizer declares what it consumes in a class
attribute ``consumes`` (:data:`CONSUMES`), and the trainer hands it exactly that:

- ``"gradient"`` (default): ``p.grad`` is set, then ``optimizer.step()``;
- ``"closure"`` (L-BFGS, SSBFGS): ``optimizer.step(closure)``, the closure re-evaluating one fixed
  objective (the step's balancer decision) and its gradient;
- ``"residuals"`` (Gauss-Newton type): ``optimizer.step(closure, residuals=fn, linearize=jac)``, ``fn()``
  the weighted residual vector ``r`` with objective ``‖r‖²`` on the current parameters;
- ``"term_gradients"`` (MultiAdam): ``optimizer.step(term_gradients={term: [∇_θ L_i per parameter]},
  weights={term: α_i})``, the balancer's per-term gradients and decision, on fresh points as for
  ``"gradient"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

CONSUMES = ("gradient", "closure", "residuals", "term_gradients")


@dataclass
class Phase:
    """One optimizer running from ``start`` for ``steps`` steps (``None``: to the end of training).

    ``start_minutes``: the phase starts earlier than ``start``, at the first step after the run's wall time
    reaches this many minutes (``None``: by step only; the trainer moves ``start`` to that step).
    """

    name: str
    optimizer: Optimizer
    scheduler: LRScheduler | None = None
    steps: int | None = None
    start: int = 0
    start_minutes: float | None = None

    @property
    def consumes(self) -> str:
        """What the optimizer consumes (:data:`CONSUMES`); ``torch.optim.LBFGS`` is a closure optimizer."""
        if isinstance(self.optimizer, torch.optim.LBFGS):
            return "closure"
        declared = getattr(self.optimizer, "consumes", "gradient")
        if declared not in CONSUMES:
            raise ValueError(f"{type(self.optimizer).__name__}.consumes must be one of {CONSUMES}, got {declared!r}")
        return declared

    @property
    def first_order(self) -> bool:
        """Whether the phase takes a gradient (of the objective, or per term) once per step, on fresh points."""
        return self.consumes in ("gradient", "term_gradients")

    @property
    def compiles_losses(self) -> bool:
        """Whether the phase's loss evaluations may run compiled (``sciml/train/compiled.py``): every phase but
        the Gauss-Newton type, whose linearisations take per-point Jacobians eagerly."""
        return self.consumes != "residuals"

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])


class Plan:
    """The ordered phases of a run, with their start steps."""

    def __init__(self, phases: list[Phase]) -> None:
        start = 0
        for phase in phases:
            phase.start = start
            start += phase.steps or 0
        self.phases = phases

    def at(self, step: int) -> Phase:
        active = self.phases[0]
        for phase in self.phases:
            if step >= phase.start:
                active = phase
        return active

    def following(self, step: int) -> Phase | None:
        """The phase after the one active at ``step`` (``None`` in the last phase)."""
        later = [phase for phase in self.phases if phase.start > step]
        return later[0] if later else None

    def state_dict(self) -> list[dict]:
        return [{"optimizer": p.optimizer.state_dict(), "start": p.start,
                 "scheduler": p.scheduler.state_dict() if p.scheduler else None} for p in self.phases]

    def load_state_dict(self, states: list[dict]) -> None:
        for phase, state in zip(self.phases, states):
            phase.start = int(state.get("start", phase.start))
            phase.optimizer.load_state_dict(state["optimizer"])
            if phase.scheduler and state["scheduler"]:
                phase.scheduler.load_state_dict(state["scheduler"])
