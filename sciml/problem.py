"""The problem protocol: what a PDE module declares and the trainer consumes.

A :class:`Problem` names its input variables and outputs, and gives a dictionary of :class:`Term` s.
Each term couples a sampler (where its points come from) with a residual (what must vanish there).
The loss of a term is the mean of its squared residual. Optional: ``exact`` (closed-form solution, used for
error metrics), ``reference`` (a fixed data set used instead), ``constrain`` (a hard-constraint wrapper
around the network), ``input_stats`` (for input normalisation) and ``output_scale`` (the solution's typical
magnitude, for output scaling).

No module of :mod:`sciml` imports :mod:`pdes`: the catalogue in ``pdes/`` and a user's own file implement
this protocol in exactly the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int, require
from sciml.unknowns import Unknown, UnknownField, WithFields

if TYPE_CHECKING:
    from sciml.fields import Field


class Sampler(Protocol):
    """Draws ``n`` points as an ``(n, dim)`` tensor (or ``(x, data)`` with per-point data tensors).

    Points are created on ``generator.device`` in ``dtype``, so sampling never leaves the device.
    """

    dim: int

    def sample(self, n: int, generator: torch.Generator,
               dtype: torch.dtype) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        ...


Residual = Callable[["Field"], Tensor]


@dataclass
class SharedPoints:
    """The sampler of a term evaluated where term ``source`` is: in a training step the term takes that term's
    points (``Trainer.sample``), and the trainer evaluates the network once for both (one :class:`Field` per
    point set). Navier-Stokes' three residuals share their points so; so do gPINN's derivative terms. Drawn
    on its own (diagnostics), it draws as ``sampler`` does."""

    source: str
    sampler: Sampler

    @property
    def dim(self) -> int:
        return self.sampler.dim

    def sample(self, n: int, generator: torch.Generator,
               dtype: torch.dtype) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        return self.sampler.sample(n, generator, dtype)


@dataclass
class Term:
    """One loss term: ``weight * mean(residual(u)**2)`` over ``batch_size`` points from ``sampler``.

    ``noise_std``: the known standard deviation of the residuals' noise (measurements), used by the Laplace
    uncertainty of unknowns (:mod:`sciml.uncertainty`); ``None``: estimated from the residuals."""

    sampler: Sampler
    residual: Residual
    batch_size: int
    weight: float = 1.0
    noise_std: float | None = None

    @property
    def source(self) -> str | None:
        """The term whose points this one takes (:class:`SharedPoints`), ``None`` when it draws its own."""
        return getattr(self.sampler, "source", None)


@dataclass
class Reference:
    """Points and solution values used to score a run (exact solution on a grid, or reference data)."""

    x: Tensor
    u: Tensor
    grid_shape: tuple[int, ...] | None = None


class Problem:
    """Base class of a PDE problem.

    Subclasses set ``variables`` (input names, e.g. ``["x", "y"]`` or ``["x0", ..., "t"]``), ``outputs``
    (default ``["u"]``), ``bounds`` (a ``(lo, hi)`` pair per variable when the domain is a box, used for
    input normalisation and plots) and implement :meth:`terms`.
    """

    name: str = "problem"
    variables: list[str]
    outputs: list[str] = ["u"]
    time_variable: str | None = "t"
    #: the terms that are PDE residuals, where that is not just the one named ``pde`` (Navier-Stokes: its
    #: momentum and continuity residuals); balancers and MultiAdam that treat PDE and other terms apart
    #: (PINN-w's weights, NTK, annealing's reference) read it unless their config's ``pde_terms`` is set
    pde_term_names: tuple[str, ...] | None = None
    _output_scale: float = 1.0

    # --- what a training set-up may adapt to -----------------------------------------------------------
    @property
    def output_scale(self) -> float:
        """The typical magnitude of the solution, which a network's output is multiplied by so tanh units need
        not saturate to reach it (taken by ``model.output_scale: auto``, as the recipes in ``configs/recipe/`` do).

        1.0 unless the problem declares more: by assigning it (the ball problems set ``√d`` in ``__init__``),
        by overriding this property, or through an ``output_scale`` key in its config.
        """
        return self._output_scale

    @output_scale.setter
    def output_scale(self, value: float) -> None:
        require(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf,
                "output_scale", f"must be a positive number, got {value!r}")
        self._output_scale = float(value)

    # --- geometry -------------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Number of input variables."""
        return len(self.variables)

    @property
    def spatial_dims(self) -> list[int]:
        """Indices of the variables that a Laplacian sums over (all but the time variable)."""
        return [i for i, v in enumerate(self.variables) if v != self.time_variable]

    def bounds(self) -> list[tuple[float, float]] | None:
        """Box bounds of every input, when the domain has them."""
        return None

    def input_stats(self) -> tuple[Tensor, Tensor] | None:
        """Mean and standard deviation of the inputs under uniform sampling of the bounding box."""
        bounds = self.bounds()
        if bounds is None:
            return None
        lo = torch.tensor([b[0] for b in bounds], dtype=torch.float64)
        hi = torch.tensor([b[1] for b in bounds], dtype=torch.float64)
        return (lo + hi) / 2, (hi - lo) / math.sqrt(12.0)

    # --- the loss -------------------------------------------------------------------------------------
    def terms(self) -> dict[str, Term]:
        raise NotImplementedError

    def unknowns(self) -> dict[str, Unknown | UnknownField]:
        """The problem's unknown coefficients, scalars (:class:`~sciml.unknowns.Unknown`) and fields
        (:class:`~sciml.unknowns.UnknownField`), by name: every attribute holding one
        (``self.nu = Unknown(0.05, positive=True)``), unless a subclass says otherwise."""
        return {name: value for name, value in vars(self).items() if isinstance(value, (Unknown, UnknownField))}

    def unknown_fields(self) -> dict[str, UnknownField]:
        """The unknown fields, in the order of :attr:`outputs`, where each must be named (after the
        network's own outputs)."""
        fields = {n: v for n, v in self.unknowns().items() if isinstance(v, UnknownField)}
        missing = [n for n in fields if n not in self.outputs]
        if missing or self.outputs[len(self.outputs) - len(fields):] != [o for o in self.outputs if o in fields]:
            raise ConfigError("pde", f"unknown field(s) {sorted(fields)} of problem '{self.name}' must be the last "
                                     f"of its outputs {self.outputs}")
        return {n: fields[n] for n in self.outputs if n in fields}

    def solution_net(self, model: nn.Module) -> nn.Module:
        """What residuals and scores evaluate: :meth:`constrain` applied to the trained network, followed by
        the unknown fields' outputs (:class:`~sciml.unknowns.WithFields`) when there are any."""
        net = self.constrain(model)
        fields = self.unknown_fields()
        return WithFields(net, list(fields.values())) if fields else net

    @property
    def network_outputs(self) -> list[str]:
        """The outputs the trained network gives: all but the unknown fields."""
        return self.outputs[: len(self.outputs) - len(self.unknown_fields())]

    def constrain(self, model: nn.Module) -> nn.Module:
        """Wrap the network to impose constraints exactly (identity unless a problem overrides it; overrides
        wrap what this returns). A network built for one kind of domain has ``check_domain(problem, bounds)``
        (:meth:`sciml.models.separable.SeparableNet.check_domain`), which refuses this problem's domain
        (:meth:`bounds`, ``None`` when it is not a box) with a :class:`~sciml.errors.ConfigError`."""
        check = getattr(model, "check_domain", None)
        if callable(check):
            check(self.name, self.bounds())
        return model

    # --- scoring --------------------------------------------------------------------------------------
    def exact(self, x: Tensor) -> Tensor | None:
        """Closed-form solution at ``x`` with shape ``(n, len(outputs))``, or ``None`` when unknown."""
        return None

    def score_values(self, u: Tensor) -> Tensor:
        """What the error metrics compare, from model outputs ``(n, k)`` (default: the outputs; NLS: ``|h|``)."""
        return u

    @property
    def has_exact(self) -> bool:
        probe = torch.zeros(1, self.dim, dtype=torch.float64)
        return self.exact(probe) is not None

    def reference(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                  resolution: int = 100, num_points: int = 20_000) -> Reference | None:
        """Test points and values: a grid over the box for ``dim <= 2``, random samples otherwise."""
        if not self.has_exact:
            return None
        bounds = self.bounds()
        if bounds is not None and self.dim <= 2:
            axes = [torch.linspace(lo, hi, resolution, dtype=dtype, device=device) for lo, hi in bounds]
            mesh = torch.meshgrid(*axes, indexing="ij")
            x = torch.stack([m.reshape(-1) for m in mesh], dim=1)
            shape = tuple(len(a) for a in axes)
        else:
            x = self.test_points(num_points, generator, dtype, device)
            shape = None
        with torch.no_grad():
            u = self.exact(x)
        assert u is not None
        u = self.score_values(u)
        return Reference(x=x, u=u, grid_shape=shape)

    def test_points(self, n: int, generator: torch.Generator, dtype: torch.dtype,
                    device: torch.device) -> Tensor:
        """Points at which to score the solution when no grid is used (default: the first term's law)."""
        first = next(iter(self.terms().values()))
        out = first.sampler.sample(n, generator, dtype)
        return out[0] if isinstance(out, tuple) else out


def batch_sizes(batch_size: int | dict[str, int], names: list[str]) -> dict[str, int]:
    """Expand a single batch size or a per-term mapping into ``{term: size}``, validating each."""
    if isinstance(batch_size, int):
        sizes = {name: batch_size for name in names}
    else:
        unknown = set(batch_size) - set(names)
        if unknown:
            raise ConfigError("batch_size", f"unknown term(s) {sorted(unknown)}; terms are {names}")
        sizes = dict(batch_size)
        missing = set(names) - set(sizes)
        if missing:
            raise ConfigError("batch_size", f"no batch size for term(s) {sorted(missing)}")
    return {name: positive_int(n, f"batch_size.{name}") for name, n in sizes.items()}


def chosen_terms(terms: Sequence[str] | None, available: Iterable[str], key: str, verb: str,
                 declared: Sequence[str] | None = None) -> list[str]:
    """The terms a technique acts on: ``terms`` as given (each must exist), else the problem's ``declared`` PDE
    terms (:attr:`Problem.pde_term_names`), else ``["pde"]``. ``key`` names the option in errors, ``verb`` what
    the technique does to them ("weight", "adapt", ...)."""
    names = list(available)
    if terms is None:
        terms = declared
    if terms is None:
        if "pde" not in names:
            raise ConfigError(key, f"no 'pde' term to {verb}; name the residual terms among {names}")
        return ["pde"]
    unknown = set(terms) - set(names)
    if unknown:
        raise ConfigError(key, f"unknown term(s) {sorted(unknown)}; terms are {names}")
    return list(terms)
