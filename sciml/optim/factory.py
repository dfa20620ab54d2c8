"""Factories that turn an optimizer config into a :class:`~sciml.optim.plan.Phase` (or several).

Every factory has the signature ``f(model, steps, **options)``; hydra configs in ``configs/optimizer/``
call them with ``_partial_: true`` and the trainer supplies the model and the step budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from sciml.errors import ConfigError, positive_int
from sciml.optim.plan import Phase

SCHEDULES = ("constant", "exponential", "linear")


def make_schedule(optimizer: torch.optim.Optimizer, kind: str, steps: int, decay_rate: float = 0.9,
             decay_steps: int = 1000, final_fraction: float = 0.0) -> LambdaLR | None:
    """Learning-rate schedule.

    ``exponential``: ``lr · rate^(step / decay_steps)`` (smooth, as in Wang et al. 2020);
    ``linear``: from ``lr`` to ``final_fraction · lr`` over ``steps`` (the SDGD/STDE setup).
    """
    if kind == "constant":
        return None
    if kind == "exponential":
        if not 0 < decay_rate <= 1:
            raise ConfigError("decay_rate", f"must lie in (0, 1], got {decay_rate}")
        decay_steps = positive_int(decay_steps, "decay_steps")
        return LambdaLR(optimizer, lambda s: decay_rate ** (s / decay_steps))
    if kind == "linear":
        total = max(steps, 1)
        return LambdaLR(optimizer, lambda s: max(1.0 - (1.0 - final_fraction) * s / total, final_fraction))
    raise ConfigError("schedule", f"unknown schedule {kind!r}; options: {', '.join(SCHEDULES)}")


def _check_lr(lr: float) -> float:
    if not float(lr) > 0:
        raise ConfigError("lr", f"must be positive, got {lr}")
    return float(lr)


def trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def adam(model: nn.Module, steps: int, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999),
         eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False,
         schedule: str = "constant", decay_rate: float = 0.9, decay_steps: int = 1000,
         final_fraction: float = 0.0, fused: bool | None = None, phase_steps: int | None = None) -> Phase:
    """Adam (Kingma & Ba 2015) or, with ``decoupled=True``, AdamW (Loshchilov & Hutter 2019)."""
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    params = trainable(model)
    if fused is None:  # the fused kernel is the fastest on CPU and GPU alike for these small models
        fused = all(p.is_floating_point() for p in params)
    betas = tuple(float(b) for b in betas)  # [0, 0.999] from the command line arrives with an int
    opt = cls(params, lr=_check_lr(lr), betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)
    budget = phase_steps or steps
    return Phase("adamw" if decoupled else "adam", opt,
                 make_schedule(opt, schedule, budget, decay_rate, decay_steps, final_fraction), phase_steps)


def lbfgs(model: nn.Module, steps: int, lr: float = 1.0, history_size: int = 50,
          line_search: str | None = "strong_wolfe", tolerance_grad: float = 1e-12,
          tolerance_change: float = 1e-14, max_line_search: int = 25, phase_steps: int | None = None) -> Phase:
    """L-BFGS (Nocedal 1980) with a strong-Wolfe line search; one trainer step = one iteration."""
    if line_search not in ("strong_wolfe", None):
        raise ConfigError("line_search", f"must be strong_wolfe or null, got {line_search!r}")
    # max_eval bounds the line search too (torch passes max_ls = max_eval - 1 at one iteration per call)
    opt = torch.optim.LBFGS(trainable(model), lr=_check_lr(lr), max_iter=1, max_eval=1 + max_line_search,
                            history_size=positive_int(history_size, "history_size"),
                            line_search_fn=line_search, tolerance_grad=tolerance_grad,
                            tolerance_change=tolerance_change)
    return Phase("lbfgs", opt, None, phase_steps)


def chain(model: nn.Module, steps: int, phases: Sequence[Callable[..., Phase]],
          switch: Sequence[float | int], switch_minutes: Sequence[float | None] | None = None) -> list[Phase]:
    """Run ``phases`` one after another; ``switch[i]`` is where phase ``i + 1`` starts.

    A switch point is a step number (int) or a fraction of ``steps`` (float in (0, 1)); a fraction of a short
    run gives the first phase at least one step. ``switch_minutes[i]`` (optional, ``None`` entries allowed)
    starts phase ``i + 1`` earlier, after the first step at which the run's wall time reaches that many minutes:
    a plan chosen in steps still reaches its last phase within a wall-time budget on a slow problem or machine
    (the step at which it switched is in ``summary.json``'s ``info``).
    """
    if len(switch) != len(phases) - 1:
        raise ConfigError("switch", f"needs {len(phases) - 1} switch point(s) for {len(phases)} phases")
    minutes = list(switch_minutes) if switch_minutes is not None else [None] * len(switch)
    if len(minutes) != len(switch):
        raise ConfigError("switch_minutes", f"needs {len(switch)} entries (one per switch point), got {minutes}")
    for m in minutes:
        if m is not None and not float(m) > 0:
            raise ConfigError("switch_minutes", f"must be positive minutes or null, got {m}")
    starts = [0]
    for s in switch:
        if isinstance(s, float) and not 0 < s < 1:
            raise ConfigError("switch", f"a fractional switch point must lie in (0, 1), got {s}")
        start = max(1, round(s * steps)) if isinstance(s, float) else int(s)
        if not starts[-1] < start <= steps:
            raise ConfigError("switch", f"switch points must increase within (0, {steps}], got {list(switch)}")
        starts.append(start)
    ends = starts[1:] + [steps]
    built = []
    for factory, a, b, m in zip(phases, starts, ends, [None, *minutes]):
        phase = factory(model=model, steps=steps, phase_steps=b - a)
        phase.start_minutes = None if m is None else float(m)
        built.append(phase)
    return built
