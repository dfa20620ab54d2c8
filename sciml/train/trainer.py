"""The training loop shared by every trainer (PINN, SDGD, ...).

One step, as data flows (see ``DESIGN.md``)::

    points = {term: sampler.sample(...)}             fresh every step, or fixed once
    fields = Field(model, points, engine)            lazy derivatives
    losses = {term: mean(residual(field)**2)}
    balancer.backward(losses)                        -> p.grad
    optimizer.step()                                 (closure for L-BFGS, residuals for Gauss-Newton)
    callbacks: metrics row, progress bar

The SDGD trainer is this loop with a stochastic engine; nothing here depends on the engine's kind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from sciml.balancing.base import Balancer
from sciml.engines.base import Engine
from sciml.errors import ConfigError, positive_int
from sciml.fields import Field, evaluate
from sciml.optim.plan import Phase, Plan
from sciml.problem import Problem, Reference, Term
from sciml.train.checkpointing import CheckpointManager
from sciml.train.distributed import World, average_gradients, shard
from sciml.train.guard import DivergenceGuard
from sciml.train.jacobian import per_point_jacobian
from sciml.train.progress import Progress
from sciml.train.run_files import RunFiles

METRICS = ("rel_l2", "max_abs")


@dataclass
class TrainState:
    """What a callback sees after each step."""

    step: int
    losses: dict[str, float]
    total: float
    train_time: float
    metrics: dict[str, float] = field(default_factory=dict)


def mean_square_scale(weight: Tensor, r: Tensor) -> Tensor:
    """``√(w / n)``: the factor with which ``‖scale · r‖² = w · mean(r²)`` for the ``n`` entries of ``r``."""
    return torch.sqrt(weight.to(r.dtype) / r.numel())


def relative_l2(pred: Tensor, exact: Tensor) -> float:
    return float((pred - exact).norm() / exact.norm().clamp_min(torch.finfo(exact.dtype).tiny))


class Trainer:
    """Physics-informed training of ``model`` on ``problem``.

    Args:
        steps: number of optimizer steps.
        resample: draw fresh collocation points every step (``True``) or use one fixed set.
        refresh_every: phases that work on a fixed point set (L-BFGS, Gauss-Newton) or ``resample=False``
            draw a new set every this many steps (``0``: keep one set for the whole run).
        eval_every / log_every: steps between error evaluations / metric rows (``0`` disables).
        metrics: ``"auto"`` (relative L2 and max error when the problem has a reference) or a list.
        eval_resolution / eval_points: grid resolution (``dim <= 2``) or number of random test points.
    """

    def __init__(self, problem: Problem, model: nn.Module, engine: Engine, balancer: Balancer,
                 optimizer: Callable[..., Phase | list[Phase]], steps: int = 1000, resample: bool = True,
                 eval_every: int = 500, log_every: int = 100, metrics: str | list[str] = "auto",
                 eval_resolution: int = 100, eval_points: int = 20_000, progress: bool = True,
                 run_dir: str | Path | None = None, seed: int = 0,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 plot: bool = True, info: dict | None = None, callbacks: list | None = None,
                 checkpoint_every: int = 0, checkpoint_keep: int = 3, guard: DivergenceGuard | None = None,
                 refresh_every: int = 0,
                 world: World | None = None) -> None:
        self.steps = positive_int(steps, "trainer.steps")
        for key, value in (("eval_every", eval_every), ("log_every", log_every), ("refresh_every", refresh_every)):
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"trainer.{key}", f"must be a non-negative integer, got {value!r}")
        self.problem, self.engine, self.balancer = problem, engine, balancer
        self.device, self.dtype = torch.device(device), dtype
        self.model = model.to(device=self.device, dtype=dtype)
        self.net = problem.constrain(self.model)
        self.resample, self.eval_every, self.log_every = resample, eval_every, log_every
        self.progress_enabled, self.plot = progress, plot
        self.info = dict(info or {})
        self.callbacks = list(callbacks or [])
        self.world = world or World()
        self.guard = guard or DivergenceGuard()
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.terms: dict[str, Term] = problem.terms()
        self.metric_names = self._resolve_metrics(metrics)
        self.reference: Reference | None = None
        if self.metric_names:
            eval_gen = torch.Generator(self.device).manual_seed(seed + 1_000_003)
            self.reference = problem.reference(eval_gen, dtype, self.device, eval_resolution, eval_points)
        params = [p for p in self.model.parameters() if p.requires_grad]
        try:
            balancer.setup(list(self.terms), params, {n: t.weight for n, t in self.terms.items()})
        except ConfigError as error:
            raise error.prefixed("balancer") from None
        balancer.to(self.device)
        try:
            built = optimizer(model=self.model, steps=self.steps)
        except ConfigError as error:
            raise error.prefixed("optimizer") from None
        except TypeError as error:  # an option the optimizer does not take
            raise ConfigError("optimizer", str(error)) from None
        self.plan = Plan(built if isinstance(built, list) else [built])
        if hasattr(engine, "setup"):  # stochastic engines draw from the trainer's generator
            engine.setup(problem, self.generator)
        write = run_dir is not None and self.world.is_main
        self.files = RunFiles(Path(run_dir)) if write else None
        self.checkpoints = CheckpointManager(Path(run_dir) if write else None, checkpoint_every, checkpoint_keep)
        self.progress_enabled = self.progress_enabled and self.world.is_main
        self.step = 0
        self.train_time = 0.0
        self.wall_time = 0.0
        self.best: dict[str, float] = {}
        self.last_metrics: dict[str, float] = {}
        self._fixed_points: dict[str, tuple[Tensor, dict[str, Tensor]]] | None = None
        self.refresh_every, self._fixed_drawn_at = refresh_every, 0
        self._per_point_jacobian = not self.world.active

    # --- configuration checks ---------------------------------------------------------------------------
    def _resolve_metrics(self, metrics: str | list[str]) -> list[str]:
        has_reference = self.problem.has_exact or getattr(self.problem, "has_reference", False)
        if metrics == "auto":
            return list(METRICS) if has_reference else []
        if isinstance(metrics, str):
            metrics = [metrics]
        metrics = list(metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ConfigError("trainer.metrics", f"unknown metric(s) {unknown}; options: auto, {', '.join(METRICS)}")
        if metrics and not has_reference:
            raise ConfigError("trainer.metrics",
                              f"{metrics} need an exact solution or reference data, and problem "
                              f"'{self.problem.name}' has none; use trainer.metrics=auto or []")
        return metrics

    # --- one step ---------------------------------------------------------------------------------------
    def sample(self) -> dict[str, tuple[Tensor, dict[str, Tensor]]]:
        points = {}
        for name, term in self.terms.items():
            out = term.sampler.sample(term.batch_size, self.generator, self.dtype)
            x, data = out if isinstance(out, tuple) else (out, {})
            points[name] = (shard(x, self.world), {k: shard(v, self.world) for k, v in data.items()})
        return points

    def field(self, x: Tensor, data: dict[str, Tensor] | None = None) -> Field:
        p = self.problem
        return Field(self.net, x, p.variables, self.engine, p.spatial_dims, p.outputs, data)

    def losses(self, points: dict[str, tuple[Tensor, dict[str, Tensor]]]) -> dict[str, Tensor]:
        out = {}
        for name, term in self.terms.items():
            x, data = points[name]
            out[name] = term.residual(self.field(x, data)).square().mean()
        return out

    def residual_vector(self, points) -> Tensor:
        """``r`` with ``Σ_i w_i mean(r_i²) = ‖r‖²``: what Gauss-Newton type optimizers linearise."""
        parts = []
        for term, x, data, w in self._weighted_terms(points):
            r = term.residual(self.field(x, data)).reshape(-1)
            parts.append(r * mean_square_scale(w, r))
        return torch.cat(parts)

    def linearize(self, points, params: list[Tensor]) -> tuple[Tensor, Tensor] | None:
        """``(r, J)``: :meth:`residual_vector` and its Jacobian with respect to ``params`` (columns in their
        order), detached, built per point with ``torch.func`` (:mod:`sciml.train.jacobian`); ``None`` where
        the model or engine cannot be traced point by point (the optimizer then linearises by itself)."""
        if not self._per_point_jacobian:
            return None
        rows, blocks = [], []
        try:
            for term, x, data, w in self._weighted_terms(points):
                r, jac = per_point_jacobian(self.model, params,
                                            lambda xi, di, t=term: t.residual(self.field(xi, di)), x, data)
                scale = mean_square_scale(w, r)
                rows.append(r * scale)
                blocks.append(jac * scale)
        except (RuntimeError, KeyError, ValueError, NotImplementedError):
            self._per_point_jacobian = False  # not traceable point by point: the optimizer's route from now on
            return None
        return torch.cat(rows), torch.cat(blocks)

    def _weighted_terms(self, points):
        """``(term, x, data, w)`` per loss term, ``w`` the balancer's current weight."""
        for (name, term), w in zip(self.terms.items(), self.balancer.weights):
            x, data = points[name]
            yield term, x, data, w

    def points_for(self, phase: Phase) -> dict[str, tuple[Tensor, dict[str, Tensor]]]:
        if self.resample and not phase.needs_closure and not phase.uses_residuals:
            return self.sample()
        stale = self.refresh_every and self.step - self._fixed_drawn_at >= self.refresh_every
        if self._fixed_points is None or stale:
            self._fixed_points, self._fixed_drawn_at = self.sample(), self.step
        return self._fixed_points

    def train_step(self) -> tuple[dict[str, Tensor], Tensor]:
        phase = self.plan.at(self.step)
        points = self.points_for(phase)
        opt = phase.optimizer
        record: dict[str, object] = {}

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            losses = self.losses(points)
            total = self.balancer.backward(losses, self.step)
            if self.world.active:
                total = average_gradients(self.balancer.params, total)
            record.setdefault("losses", losses)
            record.setdefault("total", total)
            return total

        if phase.uses_residuals:
            opt.step(closure, residuals=lambda: self.residual_vector(points),
                     linearize=lambda params: self.linearize(points, params))
        elif phase.needs_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
        if phase.scheduler is not None:
            phase.scheduler.step()
        self.step += 1
        return record["losses"], record["total"]  # type: ignore[return-value]

    # --- evaluation -------------------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        if self.reference is None:
            return {}
        pred = self.problem.score_values(self.predict(self.reference.x))
        exact = self.reference.u
        out = {}
        if "rel_l2" in self.metric_names:
            out["rel_l2"] = relative_l2(pred, exact)
        if "max_abs" in self.metric_names:
            out["max_abs"] = float((pred - exact).abs().max())
        for k, v in out.items():
            self.best[k] = min(self.best.get(k, math.inf), v)
        self.last_metrics = out
        return out

    def predict(self, x: Tensor) -> Tensor:
        return evaluate(self.net, x)

    # --- the loop ---------------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train for ``steps`` steps; returns the summary (also written to ``summary.json``).

        Callbacks are objects with any of ``on_train_start(trainer)``, ``on_step_end(trainer, losses)``
        and ``on_train_end(trainer, summary)``; ``on_step_end`` sees the step's (graph-free) losses.
        """
        progress = Progress(self.steps, enabled=self.progress_enabled, initial=self.step)
        if self.files:
            self.files.truncate_after(self.step)
        self._notify("on_train_start")
        wall_start = time.perf_counter() - self.wall_time
        self.guard.maybe_snapshot(self)
        try:
            while self.step < self.steps:
                t0 = time.perf_counter()
                losses, total = self.train_step()
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                self.train_time += time.perf_counter() - t0
                if self.guard.enabled and not self.guard.healthy(self, total):
                    self.guard.recover(self, total)
                    progress.advance(self.step)
                    continue
                self.guard.maybe_snapshot(self)
                self._notify("on_step_end", losses)
                self.wall_time = time.perf_counter() - wall_start
                self._after_step(losses, total, progress)
        finally:
            progress.close()
        return self.finish(self.train_time, time.perf_counter() - wall_start)

    def _after_step(self, losses: dict[str, Tensor], total: Tensor, progress: Progress) -> None:
        """Evaluate, log and checkpoint on their schedules."""
        last = self.step == self.steps
        metrics = {}
        if self.world.is_main and ((self.eval_every and self.step % self.eval_every == 0) or last):
            metrics = self.evaluate()
        if (self.log_every and self.step % self.log_every == 0) or last or metrics:
            row = self.metrics_row(losses, total, self.train_time, self.wall_time)
            row.update(metrics)
            if self.files:
                self.files.log(row)
            progress.update(self.step, row, self.step / max(self.train_time, 1e-12))
        else:
            progress.advance(self.step)
        if self.files and self.checkpoints.due(self.step) and not last:
            self.checkpoints.save_periodic(self.training_state())

    def _notify(self, event: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, event, None)
            if method is not None:
                method(self, *args)

    def metrics_row(self, losses: dict[str, Tensor], total: Tensor, train_time: float, wall: float) -> dict:
        row: dict[str, float | int] = {"step": self.step, "train_s": round(train_time, 4), "wall_s": round(wall, 4),
                                       "loss": float(total)}
        for name, value in losses.items():
            row[f"loss/{name}"] = float(value.detach())
        for name, w in self.balancer.weight_dict().items():
            row[f"weight/{name}"] = w
        row["lr"] = self.plan.at(max(self.step - 1, 0)).lr()
        return row

    def finish(self, train_time: float, wall: float) -> dict:
        summary = {
            **self.info,
            "pde": self.problem.name,
            "steps": self.step,
            "wall_s": round(wall, 3),
            "train_s": round(train_time, 3),
            "steps_per_s": round(self.step / max(train_time, 1e-12), 3),
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "num_params": sum(p.numel() for p in self.model.parameters()),
        }
        summary.update({k: v for k, v in self.last_metrics.items()})
        summary.update({f"best_{k}": v for k, v in self.best.items()})
        if self.files:
            self.checkpoints.save_final(self.checkpoint())
            self.files.write_summary(summary)
            if self.plot and self.reference is not None:
                from sciml.io.plots import plot_solution  # noqa: PLC0415 (matplotlib only when plotting)

                plot_solution(self.problem, self.predict, self.files.dir / "prediction.png", self.dtype,
                              self.device)
        self._notify("on_train_end", summary)
        return summary

    def training_state(self, include_rng: bool = True) -> dict:
        """Everything needed to continue exactly: parameters, optimizer and schedule states, balancer
        buffers, the step, timers, best metrics, the fixed point set and the random generators' states."""
        state = {"step": self.step, "model": self.model.state_dict(), "optimizer": self.plan.state_dict(),
                 "balancer": self.balancer.state_dict(), "best": dict(self.best),
                 "train_time": self.train_time, "wall_time": self.wall_time, "info": dict(self.info),
                 "fixed_points": self._fixed_points, "fixed_drawn_at": self._fixed_drawn_at}
        if include_rng:
            state["rng"] = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        return state

    def load_training_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.plan.load_state_dict(state["optimizer"])
        self.balancer.load_state_dict(state["balancer"])
        self.step = int(state["step"])
        self.best = dict(state.get("best", {}))
        self.train_time = float(state.get("train_time", 0.0))
        self.wall_time = float(state.get("wall_time", 0.0))
        self._fixed_points = state.get("fixed_points")
        self._fixed_drawn_at = int(state.get("fixed_drawn_at", 0))
        if "rng" in state:
            self.generator.set_state(state["rng"]["generator"])
            torch.set_rng_state(state["rng"]["torch"])

    def checkpoint(self) -> dict:
        return self.training_state()
