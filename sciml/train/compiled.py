"""A compiled loss evaluation for the common case: an MLP under the exact engine, Adam-like or L-BFGS-like.

``torch.compile`` captures :meth:`Trainer.losses <sciml.train.trainer.Trainer.losses>` — the function
``points -> {term: loss}``: the forward Taylor jets of the model, the residuals and the mean squares — as one
graph, and AOTAutograd compiles its backward with it. The balancer and the optimizer stay eager (the step
contract is unchanged: the balancer decides on these losses, then Adam steps on ``p.grad``, or L-BFGS's
closure re-evaluates them along its line search).

Which steps are compiled (the setting ``trainer.compile``, :data:`SETTINGS`):

- first-order phases (Adam, Muon, ...) and closure phases (L-BFGS, SSBFGS: every evaluation of their line
  searches), not Gauss-Newton phases, whose per-point Jacobians under ``torch.func`` run eagerly
  (:attr:`Phase.compiles_losses <sciml.optim.plan.Phase.compiles_losses>`);
- only the exact engine (:class:`~sciml.engines.base.Engine` itself): stochastic engines draw directions from
  the trainer's generator on every evaluation (for them the model's jet tail is compiled instead,
  :func:`tail_reason`);
- only an :class:`~sciml.models.MLP` (modified MLP included; both are captured as one graph without breaks),
  in a single process, without techniques that change the residuals (causal weighting, which weights them by
  a schedule outside the graph; gPINN, whose terms take a gradient inside the loss) and without unknowns.
  Adaptive sampling (RAR, RAD) only places the points the losses are evaluated on, so it compiles: RAD's
  redrawn sets keep their shapes, RAR's grown sets have new ones and run eagerly (next item);
- only balancers that read the losses (not ``needs_residuals``, as the NTK weights do: the graph returns
  the losses alone);
- only points of the shapes of the first compiled call (compiled with ``dynamic=False``): other shapes (a
  final partial batch, a refreshed set of another size) are evaluated eagerly instead of recompiled.
- not the first step of a session: its evaluation runs eagerly with full jets and records which derivatives
  the residuals ask for (:class:`~sciml.engines.base.JetPlan`); the compiled graph then carries only those.

Every other evaluation is :meth:`Trainer.losses` itself, the same function uncompiled: the two agree to
round-off (inductor fuses and reorders floating-point operations). Dynamo keeps the graphs per code object,
so trainers of the same structure in one process share one compilation.

``auto`` compiles on CPU when the run's steps in those phases times its jet rows per step (points per step
times input dimensions; an L-BFGS step evaluates one or more times) reach :data:`AUTO_MIN_WORK`. Compiling
costs a fixed time, 13–25 s, and saves a share of each step, 40–50 %, and a step's cost grows with its jet
rows, so compiling pays back beyond a number of row-steps. Measured on a shared 2-core Xeon, 1 thread
(``benchmarks/deepxde_helmholtz/results.md``):
Helmholtz 4×50, float32, Adam, 350 to 2800 points per step, 1.7–2.0× faster steps, break-even after
7–11·10⁶ row-steps (350 points: 15,900 steps; 2800 points: 1250); two-body Allen-Cahn on the ball, d = 1000,
100 points, ``engine=exact``: 0.95 → 1.36 steps/s, break-even after about 75 steps (7.5·10⁶). The threshold
is about twice that, so an ``auto`` run that compiles gains at least about its compile time again. On CUDA
nothing was measured, so ``auto`` stays eager there (``true`` compiles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import Tensor

from sciml.compiling import compile_retainable
from sciml.engines.base import Engine
from sciml.errors import ConfigError
from sciml.models.mlp import MLP

if TYPE_CHECKING:
    from sciml.optim.plan import Phase
    from sciml.train.trainer import Trainer

SETTINGS = ("false", "true", "auto")
AUTO_MIN_WORK = 20_000_000  # compiled-phase steps × jet rows per step from which ``auto`` compiles
AUTO_MIN_TAIL_STEPS = 1000  # first-order steps from which ``auto`` compiles the jet tail of stochastic engines

Points = dict[str, tuple[Tensor, dict[str, Tensor]]]
Losses = Callable[[Points], dict[str, Tensor]]


def compile_setting(value: bool | str) -> str:
    """``trainer.compile`` as one of :data:`SETTINGS` (``false | true | auto``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and value.lower() in SETTINGS:
        return value.lower()
    raise ConfigError("trainer.compile", f"unknown value {value!r}; options: {', '.join(SETTINGS)}")


def signature(points: Points) -> tuple:
    """What the compiled graph is specialised on: each term's point and data shapes, dtypes and devices."""
    return tuple((name, tuple(x.shape), x.dtype, x.device,
                  tuple((k, tuple(v.shape), v.dtype, v.device) for k, v in sorted(data.items())))
                 for name, (x, data) in points.items())


def phase_steps(trainer: Trainer, counted: Callable[[Phase], bool]) -> int:
    """How many of the run's steps fall in phases for which ``counted(phase)`` holds."""
    return sum((phase.steps if phase.steps is not None else trainer.steps - phase.start)
               for phase in trainer.plan.phases if counted(phase))


def places_points_only(technique: object) -> bool:
    """Whether a technique acts only on where the losses are evaluated (``place``: adaptive sampling), not on the
    residuals (``wrap``: causal weighting) or the terms (gPINN adds derivative terms, and places nothing)."""
    return hasattr(technique, "place") and not hasattr(technique, "wrap")


def eager_reason(setting: str, trainer: Trainer) -> str | None:
    """Why ``trainer`` evaluates its losses eagerly throughout (``None``: its first-order phases are
    compiled)."""
    if setting == "false":
        return "trainer.compile=false"
    if type(trainer.engine) is not Engine:
        return f"engine '{trainer.engine.name}' (only the exact engine is compiled)"
    if not isinstance(trainer.model, MLP):
        return f"model {type(trainer.model).__name__} (only MLP and modified MLP are compiled)"
    if trainer.world.active:
        return "data parallelism"
    changing = [name for name, technique in trainer.techniques.items() if not places_points_only(technique)]
    if changing:
        return f"technique(s) {', '.join(changing)} change the residuals (only point placement is compiled)"
    if len(trainer.unknowns):
        return "unknown coefficients"
    if trainer.balancer.needs_residuals:
        return f"balancer {type(trainer.balancer).__name__} reads the residual vectors (only losses are compiled)"
    steps = phase_steps(trainer, lambda phase: phase.compiles_losses)
    if not steps:
        return "only Gauss-Newton phases"
    if setting == "auto" and trainer.device.type != "cpu":
        return f"trainer.compile=auto on {trainer.device.type} (not measured there; true compiles)"
    rows = sum(term.batch_size for term in trainer.terms.values()) * len(trainer.problem.variables)
    if setting == "auto" and steps * rows < AUTO_MIN_WORK:
        return (f"trainer.compile=auto: {steps} steps × {rows} jet rows < {AUTO_MIN_WORK:,}, "
                "too few to pay back compiling")
    return None


def tail_reason(setting: str, trainer: Trainer) -> str | None:
    """Why a run whose losses stay eager does not compile its model's jet tail either (``None``: it does).

    Under the stochastic engines (SDGD, STDE, Hutchinson) the losses draw directions every evaluation, so only
    the part of :meth:`MLP.taylor <sciml.models.MLP.taylor>` after the first layer is compiled
    (:func:`~sciml.models.mlp.jet_tail`: the hidden layers' jets, forward and backward). That part has fixed
    shapes (points per step × sampled directions × width) and is where the eager step spends its many small
    elementwise operations; the ``d``-wide first layer stays eager (its kernel is chosen by measurement,
    ``sciml/models/wide.py``). ``auto`` compiles on CPU for runs of at least :data:`AUTO_MIN_TAIL_STEPS`
    first-order steps: compiling costs 10–20 s and the tail saves a few to tens of milliseconds per step
    (``benchmarks/sdgd/results.md``)."""
    if setting == "false":
        return "trainer.compile=false"
    if type(trainer.engine) is Engine or getattr(trainer.engine, "jets", "taylor") != "taylor":
        return "the engine does not use the model's Taylor jets"
    if getattr(type(trainer.model), "taylor", None) is not MLP.taylor:
        return f"model {type(trainer.model).__name__} (the jet tail is compiled for the MLP only)"
    steps = phase_steps(trainer, lambda phase: phase.first_order)
    if setting == "auto" and trainer.device.type != "cpu":
        return f"trainer.compile=auto on {trainer.device.type} (not measured there; true compiles)"
    if setting == "auto" and steps < AUTO_MIN_TAIL_STEPS:
        return f"trainer.compile=auto: {steps} first-order steps < {AUTO_MIN_TAIL_STEPS}"
    return None


class CompiledLosses:
    """``losses`` compiled once for the shapes of its first call; other shapes run ``losses`` eagerly."""

    def __init__(self, losses: Losses) -> None:
        self.eager = losses
        self.compiled = compile_retainable(losses)  # balancers may take per-term gradients of its graph
        self.shapes: tuple | None = None
        self.calls = {"compiled": 0, "eager": 0}

    def __call__(self, points: Points) -> dict[str, Tensor]:
        key = signature(points)
        if self.shapes is None:
            self.shapes = key
        route = "compiled" if key == self.shapes else "eager"
        self.calls[route] += 1
        return (self.compiled if route == "compiled" else self.eager)(points)
