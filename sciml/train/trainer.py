"""The training loop shared by every trainer (PINN, SDGD, ...).

One step, as data flows (the step contract of ``docs/DESIGN.md``)::

    points = {term: sampler.sample(...)}             fresh every step, or fixed once
    fields = Field(model, points, engine)            lazy derivatives
    losses = {term: mean(residual(field)**2)}
    α = balancer.decide(losses)                      once per step: the step minimises Σ α_i L_i
    optimizer.step(...)                              given what it consumes: p.grad, a closure of the one
                                                     objective, the α-weighted residuals and Jacobian, or
                                                     the per-term gradients with α
    techniques, callbacks: causal schedule, metrics row, progress bar

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
from sciml.collective import any_rank
from sciml.engines.base import Engine
from sciml.errors import ConfigError, non_negative_number, positive_int
from sciml.fields import Field, evaluate
from sciml.optim.gauss_newton import residual_jacobian
from sciml.optim.plan import Phase, Plan
from sciml.problem import Problem, Reference, Term
from sciml.train.adaptive_sampling import AdaptiveSampling
from sciml.train.causal import CausalTechnique
from sciml.train.checkpointing import CheckpointManager
from sciml.train.compiled import CompiledLosses, Points, compile_setting, eager_reason, tail_reason
from sciml.train.distributed import World, average_gradients, shard_points
from sciml.train.gpinn import GradientEnhancement
from sciml.train.guard import DivergenceGuard
from sciml.train.jacobian import per_point_jacobian
from sciml.train.point_budget import drawn_points, within_budget
from sciml.train.progress import Progress
from sciml.train.run_files import RunFiles
from sciml.train.step_rates import StepRates
from sciml.uncertainty import interval, laplace_covariance
from sciml.unknowns import Unknown, unknown_values

METRICS = ("rel_l2", "max_abs")


class Trainable(nn.Module):
    """Everything the optimizer trains: the network and the problem's unknowns (one module, so that
    ``functional_call`` in the per-point Jacobian can swap all of their parameters)."""

    def __init__(self, model: nn.Module, unknowns: nn.ModuleDict) -> None:
        super().__init__()
        self.model, self.unknowns = model, unknowns


@dataclass
class RunSettings:
    """Where a run writes and what surrounds the numerics: the run directory and its summary ``info``,
    callbacks, checkpoints, the divergence guard and the data-parallel world."""

    run_dir: str | Path | None = None
    info: dict = field(default_factory=dict)
    callbacks: list = field(default_factory=list)
    checkpoint_every: int = 0
    checkpoint_keep: int = 3
    guard: DivergenceGuard | None = None
    world: World | None = None


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

    The strategies (``engine``, ``balancer``, ``optimizer``) are interchangeable parts; the keyword options
    are the loop's numerics, its evaluation, its techniques, and the :class:`RunSettings`.

    Args:
        steps: number of optimizer steps.
        resample: draw fresh collocation points every step (``True``) or use one fixed set.
        refresh_every: phases that work on a fixed point set (L-BFGS, Gauss-Newton) or ``resample=False``
            draw a new set every this many steps (``0``: keep one set for the whole run).
        eval_every / log_every: steps between error evaluations / metric rows (``0`` disables).
        metrics: ``"auto"`` (relative L2 and max error when the problem has a reference) or a list.
        eval_resolution / eval_points: grid resolution (``dim <= 2``) or number of random test points.
        progress / plot: the progress bar; the end-of-run prediction plot.
        causal: options of the causal weighting technique (:class:`~sciml.train.causal.CausalTechnique`),
            ``None`` or ``{"enabled": False}`` for none.
        adaptive: options of residual-based adaptive sampling (:class:`~sciml.train.adaptive_sampling.
            AdaptiveSampling`: ``method`` ``rar`` or ``rad``), ``None`` or ``{"method": "none"}`` for none.
        gpinn: options of the gPINN derivative terms (:class:`~sciml.train.gpinn.GradientEnhancement`),
            ``None`` or ``{"enabled": False}`` for none.
        compile: ``true``, ``false`` or ``"auto"``: evaluate the losses of first-order phases under the exact
            engine with an MLP by one ``torch.compile``-d graph, forward and backward
            (:mod:`sciml.train.compiled`; ``compile_route`` and the summary's ``compile`` say whether it
            did and why not). ``auto`` (the default of ``trainer=pinn`` and ``trainer=sdgd``) compiles on CPU
            when steps × points × input dimensions reach 2·10⁷, about twice the measured break-even: compiling
            took 13–25 s and made steps 1.7–2.0× faster (Helmholtz 4×50, 1400 points: 12.8 → 7.2 ms,
            ``benchmarks/deepxde_helmholtz``); smaller runs stay eager (the default 3000-step Helmholtz run
            among them), and so does CUDA, where it was not measured.
        stop_at_noise: stop when every term with a known noise level (``Term.noise_std``, noisy observations)
            fits its data to that level, ``mean(r²) ≤ σ²`` (the discrepancy principle, Morozov 1966): further
            steps fit the noise. Refused for problems without such a term.
        max_minutes: a wall-time budget: training ends after the first step at which the run's wall time
            (training, evaluations and checkpoints of every session) reaches it, evaluated and logged as a
            last step; ``0``: none. Under data parallelism the ranks stop together.
        point_budget: the most points a step draws over the problem's terms; a problem declaring more has
            every term's count scaled down in proportion (:mod:`sciml.train.point_budget`); ``0``: none.
        run: run directory, callbacks, checkpoints, guard, data-parallel world (:class:`RunSettings`).
    """

    def __init__(self, problem: Problem, model: nn.Module, engine: Engine, balancer: Balancer,
                 optimizer: Callable[..., Phase | list[Phase]], steps: int = 1000, resample: bool = True,
                 refresh_every: int = 0, eval_every: int = 500, log_every: int = 100,
                 metrics: str | list[str] = "auto", eval_resolution: int = 100, eval_points: int = 20_000,
                 progress: bool = True, plot: bool = True, seed: int = 0,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 causal: dict | None = None, adaptive: dict | None = None, gpinn: dict | None = None,
                 compile: bool | str = "auto", stop_at_noise: bool = False, max_minutes: float = 0.0,
                 point_budget: int = 0, run: RunSettings | None = None) -> None:
        run = run or RunSettings()
        self.steps = positive_int(steps, "trainer.steps")
        for key, value in (("eval_every", eval_every), ("log_every", log_every), ("refresh_every", refresh_every)):
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"trainer.{key}", f"must be a non-negative integer, got {value!r}")
        self.problem, self.engine, self.balancer = problem, engine, balancer
        self.device, self.dtype = torch.device(device), dtype
        self.model = model.to(device=self.device, dtype=dtype)
        self.unknowns = nn.ModuleDict(problem.unknowns()).to(device=self.device, dtype=dtype)
        self.scalars = {name: u for name, u in self.unknowns.items() if isinstance(u, Unknown)}
        self.net = problem.solution_net(self.model)
        self.trainable = Trainable(self.model, self.unknowns)
        self.resample, self.eval_every, self.log_every = resample, eval_every, log_every
        self.progress_enabled, self.plot = progress, plot
        self.info = dict(run.info)
        self.callbacks = list(run.callbacks)
        self.world = run.world or World()
        self.guard = run.guard or DivergenceGuard()
        self.generator = torch.Generator(self.device).manual_seed(seed)
        declared = problem.terms()
        self.terms: dict[str, Term] = within_budget(declared, point_budget)
        if self.terms is not declared:
            self.info["points"] = (f"{drawn_points(self.terms)} a step, the problem's {drawn_points(declared)} "
                                   f"scaled to trainer.point_budget={point_budget}")
        self.techniques = self._techniques(causal, adaptive, gpinn)
        self.metric_names = self._resolve_metrics(metrics)
        self.reference: Reference | None = None
        if self.metric_names:
            eval_gen = torch.Generator(self.device).manual_seed(seed + 1_000_003)
            self.reference = problem.reference(eval_gen, dtype, self.device, eval_resolution, eval_points)
        params = [p for p in self.trainable.parameters() if p.requires_grad]
        try:
            balancer.setup(list(self.terms), params, {n: t.weight for n, t in self.terms.items()},
                           problem.pde_term_names)
        except ConfigError as error:
            raise error.prefixed("balancer") from None
        balancer.to(self.device)
        try:
            built = optimizer(model=self.trainable if len(self.unknowns) else self.model, steps=self.steps)
        except ConfigError as error:
            raise error.prefixed("optimizer") from None
        except TypeError as error:  # an option the optimizer does not take
            raise ConfigError("optimizer", str(error)) from None
        self.plan = Plan(built if isinstance(built, list) else [built])
        setting = compile_setting(compile)
        reason = eager_reason(setting, self)
        self.compiled_losses = None if reason else CompiledLosses(self.losses)
        self.compile_route = f"eager: {reason}" if reason else "compiled: first-order and closure phases"
        #: stochastic engines: the model's jet tail is compiled in first-order phases (set per step)
        self.tail_compiled = bool(reason) and tail_reason(setting, self) is None
        if self.tail_compiled:
            self.model.compile_tail = True
            self.compile_route = "compiled: the model's jet tail in first-order phases (stochastic engine)"
        self.info["compile"] = self.compile_route
        #: the exact engine learns its jet plan (``JetPlan``) on the first step's evaluation
        self.jet_plan_pending = engine.plans_jets
        if hasattr(engine, "setup"):  # stochastic engines draw from the trainer's generator
            engine.setup(problem, self.generator)
        write = run.run_dir is not None and self.world.is_main
        self.files = RunFiles(Path(run.run_dir)) if write else None
        self.checkpoints = CheckpointManager(Path(run.run_dir) if write else None, run.checkpoint_every,
                                             run.checkpoint_keep)
        self.progress_enabled = self.progress_enabled and self.world.is_main
        self.step = 0
        self.train_time = 0.0
        self.wall_time = 0.0
        self.best: dict[str, float] = {}
        self.last_metrics: dict[str, float] = {}
        self._fixed_points: dict[str, tuple[Tensor, dict[str, Tensor]]] | None = None
        self.refresh_every, self._fixed_drawn_at = refresh_every, 0
        self.noise_levels = {name: term.noise_std ** 2 for name, term in self.terms.items() if term.noise_std}
        if stop_at_noise and not self.noise_levels:
            raise ConfigError("trainer.stop_at_noise", f"problem '{problem.name}' has no term with a known noise "
                                                       "level (Term.noise_std) to stop at")
        self.stop_at_noise = bool(stop_at_noise)
        self.max_minutes = non_negative_number(max_minutes, "trainer.max_minutes")
        self._unknowns_checked = not self.scalars
        self.session_rates: dict[str, float | int | None] = {}  # step rates of the last session that ran steps
        self.jacobian_route: dict[str, str] = {}  # per term: how linearize built its rows ("per point", "backward")

    def _techniques(self, causal: dict | None, adaptive: dict | None, gpinn: dict | None) -> dict[str, object]:
        """Build the enabled techniques: gPINN adds its derivative terms (of the residuals as the problem
        defines them), adaptive sampling keeps the residuals of the terms it adapts as they are, and then
        causal weighting wraps the residuals of the terms it weights (derivative terms included, when named)."""
        techniques: dict[str, object] = {}
        builders = (("gpinn", gpinn, lambda o: GradientEnhancement(self.problem, self.engine, self.terms, **o)),
                    ("adaptive", adaptive, lambda o: AdaptiveSampling(self.terms, self.field, self.generator,
                                                                      self.dtype, self.world, **o)),
                    ("causal", causal, lambda o: CausalTechnique(self.problem, list(self.terms), **o)))
        for key, given, build in builders:
            options = dict(given or {})
            # adaptive sampling is switched by its method, the others by ``enabled``
            on = options.get("method", "none") != "none" if key == "adaptive" else options.pop("enabled", True)
            if given is None or not on:
                continue
            try:
                technique = build(options)
            except TypeError as error:
                raise ConfigError(f"trainer.{key}", str(error)) from None
            techniques[technique.name] = technique
            if isinstance(technique, GradientEnhancement):
                self.terms.update(technique.terms)
        for technique in techniques.values():
            if hasattr(technique, "wrap"):
                for name, term in self.terms.items():
                    term.residual = technique.wrap(name, term.residual)
        return techniques

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
            if term.source is None:  # gPINN terms take their residual term's points
                out = term.sampler.sample(term.batch_size, self.generator, self.dtype)
                x, data = out if isinstance(out, tuple) else (out, {})
                points[name] = shard_points(x, data, self.world)
        return self._shared(points)

    def _shared(self, points: Points) -> Points:
        """``points`` with every term that takes another term's points (``sampler.source``) given them."""
        return {name: points[term.source or name] for name, term in self.terms.items()}

    def hand_off(self, points: Points, fresh: bool) -> Points:
        """The step's points: ``points`` (drawn for the step when ``fresh``, else the fixed set) as the techniques
        that place points (adaptive sampling) make them."""
        for technique in self.techniques.values():
            if hasattr(technique, "place"):
                points = self._shared(technique.place(points, fresh))
        return points

    def field(self, x: Tensor, data: dict[str, Tensor] | None = None) -> Field:
        p = self.problem
        return Field(self.net, x, p.variables, self.engine, p.spatial_dims, p.outputs, data)

    #: each term's residual vector from :meth:`losses`, kept while :meth:`step_losses` collects them
    _kept_residuals: dict[str, Tensor] | None = None

    def fields(self, points: Points) -> dict[str, Field]:
        """Per term, the network at its points: one :class:`Field` per point set, so terms that share their
        points (:class:`~sciml.problem.SharedPoints`: Navier-Stokes' residuals) share one evaluation. The sets
        are told apart by the terms' samplers (``source``), not by the points' identity, which a compiled
        evaluation would guard on and recompile for at every fresh draw."""
        made: dict[str, Field] = {}
        out = {}
        for name, term in self.terms.items():
            source = term.source or name
            if source not in made:
                made[source] = self.field(*points[name])
            out[name] = made[source]
        return out

    def losses(self, points: dict[str, tuple[Tensor, dict[str, Tensor]]]) -> dict[str, Tensor]:
        out = {}
        fields = self.fields(points)
        for name, term in self.terms.items():
            r = term.residual(fields[name])
            if self._kept_residuals is not None:
                self._kept_residuals[name] = r.reshape(-1)
            out[name] = r.square().mean()
        return out

    def step_losses(self, points, compiled: bool) -> dict[str, Tensor]:
        """The losses at the step's start. A balancer that reads residual vectors (``needs_residuals``,
        NTK weights) is handed each term's, from the same evaluation (never compiled: ``eager_reason``)."""
        if not self.balancer.needs_residuals:
            return self.compiled_losses(points) if compiled else self.losses(points)
        self._kept_residuals = kept = {}
        try:
            losses = self.losses(points)
        finally:
            self._kept_residuals = None
        if set(kept) != set(losses):
            raise ConfigError("balancer", f"{type(self.balancer).__name__} needs each term's residual vector, "
                                          f"which {type(self).__name__} with engine '{self.engine.name}' "
                                          "does not form (its loss is not a mean square)")
        self.balancer.take_residuals(kept)
        return losses

    def residual_vector(self, points) -> Tensor:
        """``r`` with ``Σ_i w_i mean(r_i²) = ‖r‖²``: what Gauss-Newton type optimizers linearise."""
        parts = []
        fields = self.fields(points)
        for (name, term), w in zip(self.terms.items(), self.balancer.objective_weights):
            r = term.residual(fields[name]).reshape(-1)
            parts.append(r * mean_square_scale(w, r))
        return torch.cat(parts)

    def linearize(self, points, params: list[Tensor]) -> tuple[Tensor, Tensor] | None:
        """``(r, J)``: :meth:`residual_vector` and its Jacobian with respect to ``params`` (columns in their
        order), detached, from :meth:`term_jacobians` scaled by the step's weights; ``None`` under data
        parallelism (the optimizer then linearises by itself)."""
        if self.world.active:
            return None
        rows, blocks = [], []
        for (r, jac), w in zip(self.term_jacobians(points, params).values(), self.balancer.objective_weights):
            scale = mean_square_scale(w, r)
            rows.append(r * scale)
            blocks.append(jac * scale)
        return torch.cat(rows), torch.cat(blocks)

    def term_jacobians(self, points, params: list[Tensor]) -> dict[str, tuple[Tensor, Tensor]]:
        """Per term, its residual ``r`` (flattened) and ``J = ∂r/∂θ`` for ``params``, detached. Rows are built
        per point with ``torch.func`` (:mod:`sciml.train.jacobian`) where the term's residual can be traced
        point by point, else by batched backward passes through that term's residual alone
        (``jacobian_route`` records which)."""
        out = {}
        for name, term in self.terms.items():
            x, data = points[name]
            try:
                out[name] = per_point_jacobian(self.trainable, params,
                                               lambda xi, di, t=term: t.residual(self.field(xi, di)), x, data)
                self.jacobian_route[name] = "per point"
            except (RuntimeError, KeyError, ValueError, NotImplementedError, IndexError):
                with torch.enable_grad():
                    r = term.residual(self.field(x, data)).reshape(-1)
                    out[name] = r.detach(), residual_jacobian(r, params)
                self.jacobian_route[name] = "backward"
        return out

    def _check_unknowns(self, losses: dict[str, Tensor]) -> None:
        """Refuse an unknown that no residual uses (it could not be identified)."""
        names = list(self.scalars)
        grads = torch.autograd.grad(sum(losses.values()), [u.raw for u in self.scalars.values()],
                                    retain_graph=True, allow_unused=True)
        unused = [n for n, g in zip(names, grads) if g is None]
        if unused:
            raise ConfigError("pde", f"unknown(s) {unused} of problem '{self.problem.name}' appear in no residual "
                                     f"(terms: {list(self.terms)}); use them in a residual or remove them")
        self._unknowns_checked = True

    def unknown_report(self, prior: float = 1e-8) -> dict[str, dict]:
        """Each unknown's value with its Laplace standard deviation and 95 % interval
        (:mod:`sciml.uncertainty`), on the fixed point set when there is one, else on a fresh batch."""
        params = [p for p in self.trainable.parameters() if p.requires_grad]
        points = self._fixed_points if self._fixed_points is not None else self.sample()
        blocks = self.term_jacobians(points, params)
        column = {id(p): sum(q.numel() for q in params[:i]) for i, p in enumerate(params)}
        scalars = [column[id(u.raw)] for u in self.scalars.values()]
        try:
            cov, _ = laplace_covariance(blocks, {name: term.noise_std for name, term in self.terms.items()},
                                        scalars, prior)
        except (ValueError, RuntimeError):  # no information, or a singular Hessian
            return {name: {"value": u.value, "std": None, "ci95": None} for name, u in self.scalars.items()}
        return {name: interval(u.value, u.derivative(), float(cov[i, i]))
                for i, (name, u) in enumerate(self.scalars.items())}

    def points_for(self, phase: Phase) -> dict[str, tuple[Tensor, dict[str, Tensor]]]:
        if self.resample and phase.first_order:
            return self.hand_off(self.sample(), fresh=True)
        stale = self.refresh_every and self.step - self._fixed_drawn_at >= self.refresh_every
        if self._fixed_points is None or stale:
            self._fixed_points, self._fixed_drawn_at = self.sample(), self.step
        return self.hand_off(self._fixed_points, fresh=False)

    def train_step(self) -> tuple[dict[str, Tensor], Tensor]:
        """One optimizer step under the step contract: the balancer decides once, on the losses at the
        step's start; every re-evaluation the optimizer asks for (line search, damping retries) sees the
        objective of that decision, on the same points and, for stochastic engines, the same sampled
        directions (the generator is rewound to the step's first evaluation)."""
        phase = self.plan.at(self.step)
        if self.tail_compiled:  # closure and Gauss-Newton phases re-evaluate through eager graphs (Jacobians)
            self.model.compile_tail = phase.first_order
        points = self.points_for(phase)
        opt = phase.optimizer
        opt.zero_grad(set_to_none=True)
        draws = None if phase.first_order else self.generator.get_state()
        compiled = self.compiled_losses is not None and phase.compiles_losses
        if self.jet_plan_pending:
            # the session's first evaluation, eager and discarded, tells which derivatives are needed; the
            # step's own evaluation then runs under the plan, as every later one does, so that a resumed run
            # (which learns its plan at its first step) computes each step as an uninterrupted run does
            self.jet_plan_pending = False
            self.engine.learn_plan(lambda: self.losses(points))
        losses = self.step_losses(points, compiled)
        if not self._unknowns_checked:
            self._check_unknowns(losses)
        if phase.consumes == "term_gradients":  # MultiAdam: α and the per-term gradients of the one decision
            alpha = self.balancer.decide(losses, self.step, first_order=False)
            grads = self.balancer.term_gradients(losses)  # cached by the decision, averaged over ranks
            total = self.balancer.objective(losses).detach()
            if self.world.active:
                total = average_gradients(self.balancer.params, total)
            opt.step(term_gradients=dict(zip(self.balancer.names, grads)),
                     weights=dict(zip(self.balancer.names, alpha.tolist())), pde_terms=self.problem.pde_term_names)
        elif phase.first_order:
            total = self.balancer.backward(losses, self.step)
            if self.world.active:
                total = average_gradients(self.balancer.params, total)
            opt.step()
        else:
            self.balancer.decide(losses, self.step, first_order=False)
            total = self.balancer.objective(losses).detach()
            pending = [losses]  # the decision's evaluation is the closure's first

            def again(evaluate):
                """Re-evaluations draw a stochastic engine's directions as the first evaluation did."""
                def replayed(*args):
                    self.generator.set_state(draws)
                    return evaluate(*args)
                return replayed

            losses_at = self.compiled_losses if compiled else self.losses

            @again
            def closure() -> Tensor:
                opt.zero_grad(set_to_none=True)
                objective = self.balancer.objective(pending.pop() if pending else losses_at(points))
                objective.backward()
                value = objective.detach()
                return average_gradients(self.balancer.params, value) if self.world.active else value

            if phase.consumes == "residuals":
                opt.step(closure, residuals=again(lambda: self.residual_vector(points)),
                         linearize=again(lambda params: self.linearize(points, params)))
            else:
                opt.step(closure)
        if phase.scheduler is not None:
            phase.scheduler.step()
        for technique in self.techniques.values():
            technique.after_step()
        self.step += 1
        return losses, total

    # --- evaluation -------------------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """The error metrics (:meth:`reference_metrics`) and the problem's own scores (``problem.score(net)
        -> {name: value}``, e.g. the error of a recovered coefficient), tracked best-so-far."""
        out = self.reference_metrics()
        if hasattr(self.problem, "score"):
            with torch.no_grad():
                out.update(self.problem.score(self.net))
        for k, v in out.items():
            self.best[k] = min(self.best.get(k, math.inf), v)
        self.last_metrics = out
        return out

    def reference_metrics(self) -> dict[str, float]:
        """Relative L2 and max error on the reference set (``{}`` without one)."""
        if self.reference is None:
            return {}
        pred = self.problem.score_values(self.predict(self.reference.x))
        exact = self.reference.u
        out = {}
        if "rel_l2" in self.metric_names:
            out["rel_l2"] = relative_l2(pred, exact)
        if "max_abs" in self.metric_names:
            out["max_abs"] = float((pred - exact).abs().max())
        return out

    def predict(self, x: Tensor) -> Tensor:
        return evaluate(self.net, x)

    # --- the loop ---------------------------------------------------------------------------------------
    _rates: StepRates  # the train time of each step of the current ``fit`` call (set there)

    def fit(self) -> dict:
        """Train for ``steps`` steps; returns the summary (also written to ``summary.json``).

        Callbacks are objects with any of ``on_train_start(trainer)``, ``on_step_end(trainer, losses)``
        and ``on_train_end(trainer, summary)``; ``on_step_end`` sees the step's (graph-free) losses.
        Each step's train time (``train_step`` alone) feeds :class:`~sciml.train.step_rates.StepRates`;
        they restart with every call, so a resumed run warms up and measures its steady rate anew.
        """
        self._rates = StepRates(self.steps - self.step)
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
                seconds = time.perf_counter() - t0
                self.train_time += seconds
                self._rates.record(seconds)
                if self.guard.enabled and not self.guard.healthy(self, total):
                    self.guard.recover(self, total)
                    progress.advance(self.step)
                    continue
                self.guard.maybe_snapshot(self)
                self._notify("on_step_end", losses)
                self.wall_time = time.perf_counter() - wall_start
                self.switch_phase_on_time()
                stopped = self.stop_reason(losses)
                self._after_step(losses, total, progress, final=stopped is not None)
                if stopped is not None:
                    self.info["stopped"] = f"step {self.step}: {stopped}"
                    break
        finally:
            progress.close()
        return self.finish(self.train_time, time.perf_counter() - wall_start)

    def switch_phase_on_time(self) -> None:
        """Start the next optimizer phase at the next step if its ``start_minutes`` has passed (every rank
        decides together, on the same plan)."""
        due = self.plan.following(self.step)
        if due is None or due.start_minutes is None or self.step >= self.steps:
            return
        if any_rank(self.wall_time >= 60 * due.start_minutes, self.device):
            due.start = self.step
            self.info[f"started {due.name}"] = (f"step {self.step}: the wall time reached {due.start_minutes:g} min "
                                                f"(optimizer.switch_minutes)")

    def stop_reason(self, losses: dict[str, Tensor]) -> str | None:
        """Why training ends after this step before ``steps`` (``None``: it goes on)."""
        if self.step >= self.steps:
            return None
        if self.stop_at_noise and self.noise_reached(losses):
            return "the data reached its noise level (trainer.stop_at_noise)"
        if self.max_minutes and any_rank(self.wall_time >= 60 * self.max_minutes, self.device):
            return f"the wall-time budget of {self.max_minutes:g} min was reached (trainer.max_minutes)"
        return None

    def noise_reached(self, losses: dict[str, Tensor]) -> bool:
        """Whether every term with a known noise level fits its data to that level (``mean(r²) ≤ σ²``)."""
        return all(float(losses[name].detach()) <= level for name, level in self.noise_levels.items())

    def _after_step(self, losses: dict[str, Tensor], total: Tensor, progress: Progress, final: bool = False) -> None:
        """Evaluate, log and checkpoint on their schedules (and all three at the ``final`` step)."""
        last = final or self.step == self.steps
        metrics = {}
        if self.world.is_main and ((self.eval_every and self.step % self.eval_every == 0) or last):
            metrics = self.evaluate()
        if (self.log_every and self.step % self.log_every == 0) or last or metrics:
            row = self.metrics_row(losses, total, self.train_time, self.wall_time)
            row.update(metrics)
            if self.files:
                self.files.log(row)
            progress.update(self.step, row, self._rates.recent_rate())
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
        """The metrics row of the current step; ``steps_per_s_window`` is the rate (train time only) over the
        steps since the previous row of this ``fit`` call (absent when none was timed), and starts the next
        row's window."""
        row: dict[str, float | int] = {"step": self.step, "train_s": round(train_time, 4), "wall_s": round(wall, 4),
                                       "loss": float(total)}
        window = self._rates.row_rate()
        if window is not None:
            row["steps_per_s_window"] = round(window, 3)
        for name, value in losses.items():
            row[f"loss/{name}"] = float(value.detach())
        for name, w in self.balancer.weight_dict().items():
            row[f"weight/{name}"] = w
        row["lr"] = self.plan.at(max(self.step - 1, 0)).lr()
        for technique in self.techniques.values():
            row.update(technique.metrics())
        row.update({f"unknown/{name}": value for name, value in unknown_values(self.unknowns).items()})
        return row

    def finish(self, train_time: float, wall: float) -> dict:
        """Write and return the summary. ``steps_per_s`` is all steps over all train time (of every session
        of a resumed run); ``warmup_s`` is the train time of this ``fit`` call's first ``warmup_steps``
        steps, and ``steady_steps_per_s`` its later steps over their train time (``None`` without any)."""
        if self._rates.timed:  # a session that ran no step (resuming a finished run) keeps the last rates
            steady = self._rates.steady_rate()
            self.session_rates = {"warmup_steps": self._rates.warmed_up, "warmup_s": round(self._rates.warmup_s, 3),
                                  "steady_steps_per_s": None if steady is None else round(steady, 3)}
        summary = {
            **self.info,
            "pde": self.problem.name,
            "steps": self.step,
            "wall_s": round(wall, 3),
            "train_s": round(train_time, 3),
            "steps_per_s": round(self.step / max(train_time, 1e-12), 3),
            **self.session_rates,
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "num_params": sum(p.numel() for p in self.model.parameters()),
        }
        summary.update({k: v for k, v in self.last_metrics.items()})
        summary.update({f"best_{k}": v for k, v in self.best.items()})
        if self.scalars:
            summary["unknowns"] = self.unknown_report()
        if self.files:
            self.checkpoints.save_final(self.checkpoint())
            self.files.write_summary(summary)
            if self.plot and self.reference is not None:
                from sciml.io.plots import plot_solution  # noqa: PLC0415 (matplotlib only when plotting)

                plot_solution(self.problem, self.predict, self.files.dir / "prediction.png", self.dtype,
                              self.device)
        self._notify("on_train_end", summary)
        return summary

    def stateful_parts(self) -> dict[str, object]:
        """Every part that holds training state, by checkpoint key: the model, the optimizer plan, the
        balancer, the engine, each term's sampler and each technique. Parts are found, not listed: any of
        them with ``state_dict``/``load_state_dict`` is saved, and a checkpoint that lacks one is refused."""
        parts: dict[str, object] = {"model": self.model, "optimizer": self.plan, "balancer": self.balancer,
                                    "engine": self.engine}
        if len(self.unknowns):
            parts["unknowns"] = self.unknowns
        parts.update({f"sampler/{name}": term.sampler for name, term in self.terms.items()})
        parts.update({f"technique/{name}": technique for name, technique in self.techniques.items()})
        return {k: v for k, v in parts.items() if callable(getattr(v, "state_dict", None))}

    def training_state(self, include_rng: bool = True) -> dict:
        """Everything needed to continue exactly: the state of every part (:meth:`stateful_parts`), the
        step, timers, the last and best metrics, the fixed point set and the random generators' states."""
        state = {name: part.state_dict() for name, part in self.stateful_parts().items()}
        state.update({"step": self.step, "best": dict(self.best), "last_metrics": dict(self.last_metrics),
                      "train_time": self.train_time, "wall_time": self.wall_time, "info": dict(self.info),
                      "fixed_points": self._fixed_points, "fixed_drawn_at": self._fixed_drawn_at,
                      "session_rates": dict(self.session_rates)})
        if include_rng:
            state["rng"] = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        return state

    def load_training_state(self, state: dict) -> None:
        parts = self.stateful_parts()
        missing = [name for name in parts if name not in state]
        if missing:
            raise ConfigError("resume", f"the checkpoint holds no state for {missing}: it was written by a "
                                        "run with other parts")
        for name, part in parts.items():
            part.load_state_dict(state[name])
        self.step = int(state["step"])
        self.best = dict(state.get("best", {}))
        self.last_metrics = dict(state.get("last_metrics", {}))
        self.session_rates = dict(state.get("session_rates", {}))
        self.train_time = float(state.get("train_time", 0.0))
        self.wall_time = float(state.get("wall_time", 0.0))
        self._fixed_points = state.get("fixed_points")
        self._fixed_drawn_at = int(state.get("fixed_drawn_at", 0))
        if "rng" in state:
            self.generator.set_state(state["rng"]["generator"])
            torch.set_rng_state(state["rng"]["torch"])

    def checkpoint(self) -> dict:
        return self.training_state()
