"""Unknown coefficients of an inverse problem: scalars trained with the network.

A problem declares an unknown by assigning an :class:`Unknown` to an attribute (``self.nu = Unknown(0.1,
positive=True)``) and uses it in residuals like any number (``self.nu() * u.d("x", "x")``). The trainer
finds the problem's unknowns (:meth:`sciml.problem.Problem.unknowns`), trains their parameters with the
network's under every optimizer plan and balancer (the Gauss-Newton Jacobian gains their columns), saves them
in checkpoints, logs their values (``unknown/<name>`` in ``metrics.jsonl``) and reports them, with a Laplace
standard deviation and 95 % interval, in ``summary.json`` (:mod:`sciml.uncertainty`).

Parametrisations keep an unknown where it may live: ``θ = p`` (free), ``θ = exp p`` (``positive``), or
``θ = lo + (hi − lo) σ(p)`` (``lower`` and ``upper`` bounds); one bound alone shifts the exponential
(``θ = lo + exp p`` or ``θ = hi − exp p``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError


def to_range(p: Tensor, lower: float | None, upper: float | None, soft: bool) -> Tensor:
    """Map an unconstrained ``p`` into ``(lower, upper)``: ``lo + (hi − lo) σ(p)`` with both bounds, else
    ``lo + φ(p)`` / ``hi − φ(p)`` with ``φ = exp`` (or ``softplus`` when ``soft``), else ``p``."""
    if lower is not None and upper is not None:
        return lower + (upper - lower) * torch.sigmoid(p)
    if lower is None and upper is None:
        return p
    grow = nn.functional.softplus(p) if soft else torch.exp(p)
    return lower + grow if lower is not None else upper - grow


def range_jet(p: Tensor, lower: float | None, upper: float | None) -> tuple[Tensor, Tensor, Tensor]:
    """``T(p)``, ``T'(p)`` and ``T''(p)`` of :func:`to_range` with ``soft=True`` (sigmoid, softplus or identity)."""
    if lower is None and upper is None:
        return p, torch.ones_like(p), torch.zeros_like(p)
    s = torch.sigmoid(p)
    if lower is not None and upper is not None:
        span = upper - lower
        return lower + span * s, span * s * (1 - s), span * s * (1 - s) * (1 - 2 * s)
    sign = 1.0 if lower is not None else -1.0  # softplus' = σ, softplus'' = σ (1 − σ)
    return to_range(p, lower, upper, soft=True), sign * s, sign * s * (1 - s)


def from_range(value: float, lower: float | None, upper: float | None, soft: bool) -> float:
    """The ``p`` with ``to_range(p) = value``."""
    if lower is not None and upper is not None:
        s = (value - lower) / (upper - lower)
        return math.log(s / (1 - s))
    gap = value - lower if lower is not None else upper - value if upper is not None else None
    if gap is None:
        return value
    return math.log(math.expm1(gap)) if soft else math.log(gap)


class Unknown(nn.Module):
    """A scalar unknown with initial value ``init``, optional bounds and positivity.

    Calling it returns the current value as a 0-dimensional tensor (differentiable in its parameter).
    """

    def __init__(self, init: float, lower: float | None = None, upper: float | None = None,
                 positive: bool = False) -> None:
        super().__init__()
        init = float(init)
        if positive:
            if lower is not None and lower < 0:
                raise ConfigError("unknown", f"positive=True conflicts with lower={lower}")
            lower = 0.0 if lower is None else lower
        if lower is not None and upper is not None and not lower < upper:
            raise ConfigError("unknown", f"needs lower < upper, got {lower}, {upper}")
        inside = (lower is None or init > lower) and (upper is None or init < upper)
        if not math.isfinite(init) or not inside:
            raise ConfigError("unknown", f"initial value {init} must lie strictly inside ({lower}, {upper})")
        self.lower, self.upper = lower, upper
        self.raw = nn.Parameter(torch.tensor(from_range(init, lower, upper, soft=False), dtype=torch.float64))

    def forward(self) -> Tensor:
        return to_range(self.raw, self.lower, self.upper, soft=False)

    def derivative(self) -> float:
        """``dθ/dp`` at the current parameter (maps a covariance of ``p`` to one of ``θ``)."""
        with torch.enable_grad():
            p = self.raw.detach().double().requires_grad_(True)
            return float(torch.autograd.grad(to_range(p, self.lower, self.upper, soft=False), p)[0])

    @property
    def value(self) -> float:
        return float(self().detach())


def unknown_values(unknowns: nn.ModuleDict) -> dict[str, float]:
    """The current value of every scalar unknown, by name."""
    return {name: unknown.value for name, unknown in unknowns.items() if isinstance(unknown, Unknown)}


class UnknownField(nn.Module):
    """An unknown coefficient field ``a(x)`` given by its own network on some of the problem's inputs, with
    the same parametrisations as :class:`Unknown` applied pointwise (``positive``: ``a = lo + softplus(n)``;
    both bounds: ``a = lo + (hi − lo) σ(n)``).

    A problem declares it as an attribute (``self.a = UnknownField(inputs=[0, 1], positive=True)``) and lists
    its name among its ``outputs``: the trainer appends the field to the network's outputs, so residuals read
    it like any output (``f["a"].value``, ``f["a"].d("x")``), its errors are scored with the solution's, and
    exports and predictions carry it.

    Args:
        inputs: indices of the problem's variables the field depends on (e.g. the spatial ones).
        init: the field's initial value (a constant, through the output bias).
    """

    def __init__(self, inputs: list[int], width: int = 32, depth: int = 3, init: float | None = None,
                 lower: float | None = None, upper: float | None = None, positive: bool = False) -> None:
        super().__init__()
        from sciml.models import MLP  # noqa: PLC0415 (models import nothing from here; avoids a cycle at import)

        if positive:
            lower = 0.0 if lower is None else lower
        if lower is not None and upper is not None and not lower < upper:
            raise ConfigError("unknown", f"needs lower < upper, got {lower}, {upper}")
        self.inputs, self.lower, self.upper = list(inputs), lower, upper
        self.net = MLP(len(self.inputs), 1, width=width, depth=depth, normalize=False)
        if init is not None:
            with torch.no_grad():
                self.net.layers[-1].bias.fill_(from_range(float(init), lower, upper, soft=True))

    def forward(self, x: Tensor) -> Tensor:
        return to_range(self.net(x[:, self.inputs]), self.lower, self.upper, soft=True)

    def taylor(self, x: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives along ``dims`` (the contract of :meth:`sciml.models.MLP.taylor`):
        the directions restricted to the field's inputs, pushed through its network, then through the range map
        ``T`` by the chain rule ``(T(n), T'(n) n¹, T''(n) (n¹)² + T'(n) n²)``."""
        from sciml.models.jets import direction_matrix  # noqa: PLC0415 (see __init__)

        directions = direction_matrix(dims, x.shape[1], x)[:, self.inputs]
        n, n1, n2 = self.net.taylor(x[:, self.inputs], directions)
        value, slope, curvature = range_jet(n, self.lower, self.upper)
        return value, slope.unsqueeze(1) * n1, curvature.unsqueeze(1) * n1.square() + slope.unsqueeze(1) * n2


class WithFields(nn.Module):
    """The trained network's outputs followed by the unknown fields' (the order of the problem's outputs)."""

    def __init__(self, net: nn.Module, fields: list[UnknownField]) -> None:
        super().__init__()
        self.net, self.fields = net, nn.ModuleList(fields)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.net(x), *(field(x) for field in self.fields)], dim=1)

    @property
    def taylor(self) -> Callable[[Tensor, Tensor | None], tuple[Tensor, Tensor, Tensor]]:
        """Forward Taylor jets when the network has them (absent otherwise, so the engine differentiates this
        module by reverse mode)."""
        if not hasattr(self.net, "taylor"):
            raise AttributeError("taylor")
        return self._taylor

    def _taylor(self, x: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """The jets of the network and of every field, concatenated along the outputs."""
        jets = [self.net.taylor(x, dims), *(field.taylor(x, dims) for field in self.fields)]
        return tuple(torch.cat(parts, dim=-1) for parts in zip(*jets))
