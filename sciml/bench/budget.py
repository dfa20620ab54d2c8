"""``--budget b``: a suite at about ``b`` times the protocol's cost.

Both factors of a run's cost are scaled: ``trainer.steps`` and every loss term's point count, each to
``round(b · n)`` and then raised to the suite's floor (a count already below the floor, such as a single gauge
point, is kept). Point counts are set uniformly for every problem through its per-term ``batch_size`` mapping
(``pde.batch_size={term: n, ...}``), starting from the batch sizes the problem itself declares for the
protocol (``Problem.terms()``); a term on a fixed point set (observations) ignores its count. Optimizer switch
points given as fractions of the run (``optimizer.switch=[0.25]``) follow the scaled steps. ``b = 1`` adds no
override: the run is the protocol.
"""

from __future__ import annotations

import math

from sciml.bench.suites import Budget
from sciml.errors import require


def scaled(count: int, budget: float, floor: int) -> int:
    """``round(budget · count)``, at least ``min(floor, count)``."""
    return max(min(floor, count), round(budget * count))


def check_budget(budget: float) -> float:
    require(isinstance(budget, (int, float)) and 0 < budget < math.inf, "budget",
            f"must be a positive number, got {budget!r}")
    return float(budget)


def budget_overrides(steps: int, batch: dict[str, int], budget: float, floors: Budget) -> list[str]:
    """The overrides that scale a run of ``steps`` steps on ``{term: points}`` by ``budget``."""
    if check_budget(budget) == 1.0:
        return []
    sizes = ",".join(f"{term}:{scaled(n, budget, floors.min_points)}" for term, n in batch.items())
    return [f"trainer.steps={scaled(steps, budget, floors.min_steps)}", f"pde.batch_size={{{sizes}}}"]
