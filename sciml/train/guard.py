"""Divergence guard: catch NaN/Inf in the loss, the gradients or the parameters, then roll back or stop.

Policy ``rollback`` restores the last good in-memory snapshot (model, optimizer, schedules, balancer),
multiplies every learning rate by ``lr_factor`` and goes on, at most ``max_retries`` times; policy
``stop`` (or exhausted retries) raises :class:`DivergenceError`. Checkpoints are written only after a step
has passed the guard, so a good checkpoint is never replaced by a diverged state.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor

from sciml.errors import ConfigError

POLICIES = ("rollback", "stop", "off")


class DivergenceError(RuntimeError):
    """Training produced non-finite values and the policy says stop."""


def all_finite(tensors: list[Tensor]) -> bool:
    """Whether every tensor is free of NaN and Inf (one fused reduction per tensor list)."""
    tensors = [t for t in tensors if t is not None]
    if not tensors:
        return True
    norms = torch._foreach_norm(tensors)
    return bool(torch.isfinite(torch.stack(norms)).all())


class DivergenceGuard:
    def __init__(self, policy: str = "rollback", max_retries: int = 3, lr_factor: float = 0.5,
                 snapshot_every: int = 100, check_every: int = 1) -> None:
        if policy not in POLICIES:
            raise ConfigError("guard.policy", f"unknown policy {policy!r}; options: {', '.join(POLICIES)}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError("guard.max_retries", f"must be a non-negative integer, got {max_retries!r}")
        if not 0 < float(lr_factor) <= 1:
            raise ConfigError("guard.lr_factor", f"must lie in (0, 1], got {lr_factor}")
        for key, value in (("snapshot_every", snapshot_every), ("check_every", check_every)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"guard.{key}", f"must be a positive integer, got {value!r}")
        self.policy, self.max_retries, self.lr_factor = policy, max_retries, float(lr_factor)
        self.snapshot_every, self.check_every = snapshot_every, check_every
        self.retries = 0
        self._snapshot: dict | None = None

    @property
    def enabled(self) -> bool:
        return self.policy != "off"

    def snapshot(self, trainer) -> None:
        self._snapshot = copy.deepcopy(trainer.training_state(include_rng=False))

    def maybe_snapshot(self, trainer) -> None:
        """Keep a copy of the last good state (only the rollback policy needs one)."""
        if self.policy == "rollback" and (self._snapshot is None or trainer.step % self.snapshot_every == 0):
            self.snapshot(trainer)

    def healthy(self, trainer, total: Tensor) -> bool:
        if not math.isfinite(float(total)):
            return False
        if trainer.step % self.check_every:
            return True
        params = [p for p in trainer.model.parameters()]
        return all_finite([p.grad for p in params]) and all_finite([p.detach() for p in params])

    def recover(self, trainer, total: Tensor) -> None:
        """Roll back to the last good snapshot with a smaller learning rate, or raise."""
        where = f"training diverged at step {trainer.step} (loss {float(total)})"
        if self.policy == "stop" or self._snapshot is None:
            raise DivergenceError(f"{where}; stopped (guard.policy={self.policy})")
        if self.retries >= self.max_retries:
            raise DivergenceError(f"{where}; stopped after {self.retries} rollbacks (guard.max_retries)")
        self.retries += 1
        trainer.load_training_state(copy.deepcopy(self._snapshot))
        for phase in trainer.plan.phases:
            for group in phase.optimizer.param_groups:
                group["lr"] *= self.lr_factor
            if phase.scheduler is not None:
                phase.scheduler.base_lrs = [lr * self.lr_factor for lr in phase.scheduler.base_lrs]
