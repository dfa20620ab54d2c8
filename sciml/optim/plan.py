"""Optimizer plans: one or more phases (e.g. Adam then L-BFGS), each an optimizer with its schedule.

An optimizer config names a factory ``f(model, steps, **options) -> Phase | list[Phase]``. The trainer
asks the plan which phase is active at each step. Phases that need a closure (L-BFGS) are called as
``optimizer.step(closure)``; optimizers with ``uses_residuals = True`` (Gauss-Newton type) are called as
``optimizer.step(closure, residuals=fn)`` where ``fn()`` returns the weighted residual vector ``r`` with
``L = ‖r‖²`` on the current parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


@dataclass
class Phase:
    """One optimizer running from ``start`` for ``steps`` steps (``None``: to the end of training)."""

    name: str
    optimizer: Optimizer
    scheduler: LRScheduler | None = None
    steps: int | None = None
    start: int = 0

    @property
    def needs_closure(self) -> bool:
        return isinstance(self.optimizer, torch.optim.LBFGS) or getattr(self.optimizer, "needs_closure", False)

    @property
    def uses_residuals(self) -> bool:
        return getattr(self.optimizer, "uses_residuals", False)

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

    def state_dict(self) -> list[dict]:
        return [{"optimizer": p.optimizer.state_dict(),
                 "scheduler": p.scheduler.state_dict() if p.scheduler else None} for p in self.phases]

    def load_state_dict(self, states: list[dict]) -> None:
        for phase, state in zip(self.phases, states):
            phase.optimizer.load_state_dict(state["optimizer"])
            if phase.scheduler and state["scheduler"]:
                phase.scheduler.load_state_dict(state["scheduler"])
