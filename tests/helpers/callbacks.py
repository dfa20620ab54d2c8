"""Callbacks used by the robustness tests: slow a run down, or corrupt it on purpose."""

import time

import torch


class Sleep:
    """Sleep after every step, so that a test can kill the process mid-run."""

    def __init__(self, seconds: float = 0.005) -> None:
        self.seconds = seconds

    def on_step_end(self, trainer, losses) -> None:
        time.sleep(self.seconds)


class InjectNaN:
    """Set the first parameter to NaN after step ``at`` (once)."""

    def __init__(self, at: int) -> None:
        self.at, self.done = at, False

    def on_step_end(self, trainer, losses) -> None:
        if trainer.step == self.at and not self.done:
            self.done = True
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))
