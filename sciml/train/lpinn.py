"""Lagrangian PINN (Mojgani, Balajewicz & Hassanzadeh, CMAME 2023, arXiv 2205.02902).

The equation ``u_t + a(u) u_x = ν u_xx`` is solved along its characteristics. A particle that starts at
``ξ`` moves to ``X(ξ, t)`` with ``∂_t X = a(U)`` and carries ``U(ξ, t) = u(X(ξ, t), t)``, which obeys the
pure diffusion ``∂_t U = ν ∂²U/∂X²`` (their Eq. 10–12). The second derivative is taken with respect to the
moving coordinate by the chain rule through ``X(ξ, t)``:

    ∂U/∂X = U_ξ / X_ξ,        ∂²U/∂X² = (U_ξξ X_ξ − U_ξ X_ξξ) / X_ξ³.

Terms: ``x`` (``r_x = ∂_t X − a(U)``), ``u`` (``r_u = ∂_t U − ν ∂²U/∂X²``), ``x0`` (``X(ξ, 0) = ξ``),
``u0`` (``U(ξ, 0) = u₀(ξ)``) and ``bc`` (Dirichlet: ``U = u_b`` at both ends; periodic, unless the model
is exactly periodic: ``U`` and ``X − ξ`` equal at both ends). The network is
:class:`~sciml.models.lagrangian.LagrangianNet` with outputs ``[X, U]``.

Scoring maps the Lagrangian solution back to the Eulerian grid: at each time of the test set, ``U`` on a
fine ``ξ`` grid is interpolated linearly at the test positions from the particle positions ``X`` (wrapped
into the period on periodic domains), so a run is scored on the same grid and metric as a PINN.

A problem has a Lagrangian form when it is 1-D in space with variables ``(x, t)`` and defines
``characteristic_speed(U) -> a(U)``, ``viscosity``, ``initial(x) -> (n, 1)``, ``periodic`` (bool), when
not periodic ``boundary_value``, and optionally ``speed_scale`` (a typical ``|a|``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field, evaluate
from sciml.geometry import BoxBoundarySampler, BoxSampler, TimeProduct
from sciml.geometry.periodic import PeriodicPairSampler
from sciml.problem import Problem, Reference, Term
from sciml.train.trainer import Trainer

TERMS = ("x", "u", "x0", "u0", "bc")


#: names of the network's inputs and outputs inside the residuals
VARIABLES, OUTPUTS = ["xi", "t"], ["X", "U"]


class PeriodicEnds:
    """``n // 2`` random times at ``ξ = lo``, each with its partner ``(hi, t)`` as ``data["end"]``
    (the draws of :class:`~sciml.geometry.periodic.PeriodicPairSampler`). A periodic boundary row then
    depends on one sampled point only, as the per-point residual Jacobian (:mod:`sciml.train.jacobian`) and
    data-parallel sharding of the points assume."""

    dim = 2

    def __init__(self, lo: float, hi: float, t0: float, t1: float) -> None:
        self.pairs = PeriodicPairSampler(lo, hi, t0, t1)

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> tuple[Tensor, dict[str, Tensor]]:
        x = self.pairs.sample(n, generator, dtype)
        m = x.shape[0] // 2
        return x[:m], {"end": x[m:]}


class LagrangianProblem(Problem):
    """The Lagrangian form of an Eulerian ``problem``.

    Its terms are evaluated on fields with inputs ``(xi, t)`` and outputs ``[X, U]``
    (:data:`VARIABLES`, :data:`OUTPUTS`); ``variables`` and ``outputs`` stay the Eulerian ones, which are
    what the trainer's :meth:`LPINNTrainer.predict` returns (plots and exports see the Eulerian solution).
    """

    def __init__(self, problem: Problem, batch_size: dict[str, int], weights: dict[str, float]) -> None:
        missing = [a for a in ("characteristic_speed", "viscosity", "initial", "periodic") if not hasattr(problem, a)]
        if missing or problem.variables != ["x", "t"] or len(problem.outputs) != 1:
            raise ConfigError("trainer", f"problem '{problem.name}' has no Lagrangian form (a scalar 1-D "
                                         "evolution with characteristic_speed and viscosity, e.g. "
                                         "convection, convection_diffusion, burgers)")
        self.eulerian = problem
        self.variables, self.outputs = list(problem.variables), list(problem.outputs)
        self.name = f"{problem.name} (lagrangian)"
        (self.lo, self.hi), (self.t0, self.t1) = problem.bounds()
        self.periodic = bool(problem.periodic)
        self.has_reference = getattr(problem, "has_reference", False)
        self.with_bc = not self.periodic or getattr(problem, "periodic_bc", True)
        names = [n for n in TERMS if n != "bc" or self.with_bc]
        for key, given in (("batch_size", batch_size), ("weights", weights)):
            unknown = set(given) - set(TERMS)
            if unknown:
                raise ConfigError(f"trainer.{key}", f"unknown term(s) {sorted(unknown)}; terms are {list(TERMS)}")
        self.batch = {n: positive_int(batch_size.get(n, 256), f"trainer.batch_size.{n}") for n in names}
        self.weights = {n: float(weights.get(n, 1.0)) for n in names}

    def bounds(self) -> list[tuple[float, float]]:
        return self.eulerian.bounds()

    def unknowns(self) -> dict:
        """The Eulerian problem's unknowns (its residuals use them)."""
        return self.eulerian.unknowns()

    # --- residuals ------------------------------------------------------------------------------------
    def characteristic_residual(self, f: Field) -> Tensor:
        """``(∂_t X − a(U)) / a_ref``: relative to the problem's typical speed, so that its size (and the
        balance of the terms) does not grow with the transport speed."""
        scale = float(getattr(self.eulerian, "speed_scale", 1.0))
        return (f["X"].d("t") - self.eulerian.characteristic_speed(f["U"].value)) / scale

    def state_residual(self, f: Field) -> Tensor:
        X, U = f["X"], f["U"]
        r = U.d("t")
        nu = float(self.eulerian.viscosity)
        if nu:
            x1 = X.d("xi")
            u_XX = (U.d("xi", "xi") * x1 - U.d("xi") * X.d("xi", "xi")) / x1 ** 3
            r = r - nu * u_XX
        return r

    def position_ic(self, f: Field) -> Tensor:
        return f["X"].value - f.var("xi")

    def state_ic(self, f: Field) -> Tensor:
        return f["U"].value - self.eulerian.initial(f.var("xi"))[:, 0]

    def boundary(self, f: Field) -> Tensor:
        """Dirichlet: ``U − u_b`` at both ends; periodic: rows ``[U(lo, t) − U(hi, t), s(lo, t) − s(hi, t)]``
        with the shift ``s = X − ξ``, the partner point ``(hi, t)`` of each point given as ``data["end"]``."""
        U = f["U"].value
        if not self.periodic:
            return U - float(self.eulerian.boundary_value)
        end = Field(f.model, f.data["end"], f.variables, f.engine, f.spatial_dims, f.outputs)
        shift, end_shift = f["X"].value - f.var("xi"), end["X"].value - end.var("xi")
        return torch.stack([U - end["U"].value, shift - end_shift], dim=1)

    def terms(self) -> dict[str, Term]:
        space = BoxSampler([(self.lo, self.hi)])
        start = TimeProduct(space, self.t0, self.t1, t_value=self.t0)
        residuals: dict[str, tuple[object, Callable[[Field], Tensor]]] = {
            "x": (BoxSampler(self.bounds()), self.characteristic_residual),
            "u": (BoxSampler(self.bounds()), self.state_residual),
            "x0": (start, self.position_ic),
            "u0": (start, self.state_ic),
        }
        if self.with_bc:
            ends = PeriodicEnds(self.lo, self.hi, self.t0, self.t1) if self.periodic else \
                TimeProduct(BoxBoundarySampler([(self.lo, self.hi)]), self.t0, self.t1)
            residuals["bc"] = (ends, self.boundary)
        return {n: Term(s, r, self.batch[n], self.weights[n]) for n, (s, r) in residuals.items()}

    # --- scoring (Eulerian) ---------------------------------------------------------------------------
    def exact(self, x: Tensor) -> Tensor | None:
        return self.eulerian.exact(x)

    def score_values(self, u: Tensor) -> Tensor:
        return self.eulerian.score_values(u)

    def reference(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                  resolution: int = 100, num_points: int = 20_000) -> Reference | None:
        return self.eulerian.reference(generator, dtype, device, resolution, num_points)



def interpolate_periodic(xp: Tensor, fp: Tensor, x: Tensor, lo: float | None, period: float | None) -> Tensor:
    """Piecewise-linear interpolation of samples ``fp`` (``(m, k)``) at positions ``xp`` (``(m,)``, any order).

    With ``period`` the positions are wrapped into ``[lo, lo + period)`` and the samples continued
    periodically; otherwise queries outside ``[min xp, max xp]`` take the end values.
    """
    if period is not None:
        xp = lo + torch.remainder(xp - lo, period)
        x = lo + torch.remainder(x - lo, period)
    xp, order = torch.sort(xp)
    fp = fp[order]
    if period is not None:
        xp = torch.cat([xp[-1:] - period, xp, xp[:1] + period])
        fp = torch.cat([fp[-1:], fp, fp[:1]])
    i = (torch.searchsorted(xp, x.contiguous(), right=True) - 1).clamp(0, xp.numel() - 2)
    gap = (xp[i + 1] - xp[i]).clamp_min(torch.finfo(xp.dtype).tiny)
    w = ((x - xp[i]) / gap).clamp(0.0, 1.0).unsqueeze(1)
    return (1 - w) * fp[i] + w * fp[i + 1]


class LPINNTrainer(Trainer):
    """The PINN loop on the Lagrangian form of ``problem`` (:class:`LagrangianProblem`).

    Only the problem (terms from the two-branch net) and :meth:`predict` (Lagrangian → Eulerian) differ
    from :class:`~sciml.train.Trainer`, so every balancer, optimizer and callback plugs in unchanged.

    The network maps ``(ξ, t)`` to ``[X, U]``: any model with ``1 + len(outputs)`` outputs (two, as the
    problem is scalar) is accepted, the first read as the particle position ``X`` and the rest as the state
    ``U``. :class:`~sciml.models.lagrangian.LagrangianNet` (``model=lagrangian``) is the one built for it
    (``X(ξ, 0) = ξ`` exactly); a model with another output count, such as every Eulerian network built for
    ``u(x, t)`` (one output), is refused with a :class:`~sciml.errors.ConfigError` before training.

    Args:
        batch_size: points per term (``x``, ``u``, ``x0``, ``u0``, ``bc``; default 256 each).
        weights: initial weight per term (default 1).
        particles: size of the ``ξ`` grid used to map the solution back to the Eulerian grid.
    """

    def __init__(self, problem: Problem, model: nn.Module, *args, batch_size: dict[str, int] | None = None,
                 weights: dict[str, float] | None = None, particles: int = 2048, **kwargs) -> None:
        self.particles = positive_int(particles, "trainer.particles")
        lagrangian = LagrangianProblem(problem, dict(batch_size or {}), dict(weights or {}))
        super().__init__(lagrangian, model, *args, **kwargs)
        corner = torch.tensor([[lagrangian.lo, lagrangian.t0]], dtype=self.dtype, device=self.device)
        with torch.no_grad():
            count = self.net(corner).shape[-1]
        wanted = 1 + len(lagrangian.outputs)
        if count != wanted:
            raise ConfigError("trainer", f"trainer=lpinn needs a network with outputs [X, U] on (ξ, t) such as "
                                         f"model=lagrangian; the model ({type(model).__name__}) has {count} "
                                         f"output{'s' if count != 1 else ''}, not {wanted}")

    def field(self, x: Tensor, data: dict[str, Tensor] | None = None) -> Field:
        return Field(self.net, x, VARIABLES, self.engine, [0], OUTPUTS, data)

    def predict(self, x: Tensor) -> Tensor:
        """``u(x, t)`` at Eulerian points: per distinct ``t``, interpolate ``U`` from the positions ``X``."""
        p: LagrangianProblem = self.problem  # type: ignore[assignment]
        times, inverse = torch.unique(x[:, 1], return_inverse=True)
        xi = torch.linspace(p.lo, p.hi, self.particles + p.periodic, dtype=x.dtype, device=x.device)
        xi = xi[:-1] if p.periodic else xi  # on a periodic domain ξ = hi is the particle ξ = lo
        grid = torch.stack([xi.repeat(len(times)), times.repeat_interleave(len(xi))], dim=1)
        out = evaluate(self.net, grid).reshape(len(times), len(xi), -1)
        pred = torch.empty(x.shape[0], out.shape[2] - 1, dtype=out.dtype, device=out.device)
        period = p.hi - p.lo if p.periodic else None
        for j in range(len(times)):
            rows = (inverse == j).nonzero().squeeze(1)
            pred[rows] = interpolate_periodic(out[j, :, 0], out[j, :, 1:], x[rows, 0], p.lo, period)
        return pred
