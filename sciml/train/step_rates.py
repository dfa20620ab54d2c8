"""Step rates from the train time of each step: the warm-up, the steady rate and the rate over recent steps.

The first steps of a session pay one-off costs (``torch.compile`` of an exact source term, first calls of
oneDNN or cuBLAS kernels, allocator growth), so steps over the whole train time understates the speed a
longer run settles at. A session is one ``fit`` call: a fresh run, or a run resumed from a checkpoint, which
warms up again. :class:`StepRates` is fed the train time of every step the session runs (the time of
``train_step`` alone, without evaluation, logging and checkpointing) and reports:

* the warm-up: the time of the session's first :func:`warmup_steps` steps;
* the steady rate: the steps after the warm-up over their train time;
* the recent rate: the last :data:`WINDOW` steps over their train time (the progress bar);
* the row rate: the steps since the previous metrics row over their train time.

Steps a divergence guard rolls back were timed and count as steps run. Only running sums and the last
:data:`WINDOW` times are kept, so a session of any length takes constant memory.
"""

from __future__ import annotations

import math
from collections import deque

WINDOW = 50
"""Steps over which the progress bar's rate is taken."""


def warmup_steps(steps: int) -> int:
    """Steps counted as warm-up in a session of ``steps`` steps: the first 5, or the first 5 % when that is
    more, but never more than half the session, so that a short one keeps steady steps to measure."""
    return min(max(5, math.ceil(0.05 * steps)), steps // 2)


def rate(steps: int, seconds: float) -> float | None:
    """``steps / seconds``, or ``None`` when no step (or no time) was measured."""
    return steps / seconds if steps and seconds > 0 else None


class StepRates:
    """The train times of one session's steps, as running sums.

    Args:
        planned: steps the session is to run; fixes the warm-up length (:func:`warmup_steps`).
        window: steps over which :meth:`recent_rate` is taken.
    """

    def __init__(self, planned: int, window: int = WINDOW) -> None:
        self.warmup = warmup_steps(planned)
        self.timed = 0
        self.warmup_s = 0.0
        self.steady_s = 0.0
        self._recent: deque[float] = deque(maxlen=window)
        self._row_steps, self._row_s = 0, 0.0

    def record(self, seconds: float) -> None:
        """Add one step that took ``seconds`` of train time."""
        if self.timed < self.warmup:
            self.warmup_s += seconds
        else:
            self.steady_s += seconds
        self.timed += 1
        self._recent.append(seconds)
        self._row_steps += 1
        self._row_s += seconds

    @property
    def warmed_up(self) -> int:
        """Warm-up steps timed so far (fewer than :attr:`warmup` while the warm-up lasts)."""
        return min(self.timed, self.warmup)

    def steady_rate(self) -> float | None:
        """Steps per second after the warm-up; ``None`` before any steady step."""
        return rate(self.timed - self.warmed_up, self.steady_s)

    def recent_rate(self) -> float | None:
        """Steps per second over the last ``window`` steps."""
        return rate(len(self._recent), sum(self._recent))

    def row_rate(self) -> float | None:
        """Steps per second since the previous call (or the session's start), then start a new row."""
        value = rate(self._row_steps, self._row_s)
        self._row_steps, self._row_s = 0, 0.0
        return value
