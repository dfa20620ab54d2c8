"""Samplers of collocation points.

Every sampler draws on the generator's device in the requested dtype (nothing is moved after the fact).
High-dimensional balls and boxes are sampled directly with torch; low-dimensional domains with holes,
polygons, disks and CSG shapes come from DeepXDE's geometry module (:class:`DeepXDESampler`), which also
offers quasi-random sequences (Sobol, Halton, Hammersley, LHS).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from sciml.errors import ConfigError, positive_int


def _bounds_tensors(bounds: Sequence[Sequence[float]], dtype: torch.dtype,
                    device: torch.device) -> tuple[Tensor, Tensor]:
    lo = torch.tensor([b[0] for b in bounds], dtype=dtype, device=device)
    hi = torch.tensor([b[1] for b in bounds], dtype=dtype, device=device)
    return lo, hi


def _check_bounds(bounds: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    if len(bounds) < 1:
        raise ConfigError("bounds", "a box needs at least one dimension")
    out = []
    for i, b in enumerate(bounds):
        lo, hi = float(b[0]), float(b[1])
        if not hi > lo:
            raise ConfigError(f"bounds[{i}]", f"upper bound must exceed lower bound, got ({lo}, {hi})")
        out.append((lo, hi))
    return out


class BoxSampler:
    """Uniform points in the box ``Π [lo_i, hi_i]``."""

    def __init__(self, bounds: Sequence[Sequence[float]]) -> None:
        self.bounds = _check_bounds(bounds)
        self.dim = len(self.bounds)

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        lo, hi = _bounds_tensors(self.bounds, dtype, generator.device)
        u = torch.rand(n, self.dim, generator=generator, dtype=dtype, device=generator.device)
        return lo + (hi - lo) * u


class FaceSampler:
    """Uniform points on one face ``x_axis = value`` of a box."""

    def __init__(self, bounds: Sequence[Sequence[float]], axis: int, side: int) -> None:
        self.bounds = _check_bounds(bounds)
        self.dim = len(self.bounds)
        self.axis, self.side = axis, side

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        x = BoxSampler(self.bounds).sample(n, generator, dtype)
        x[:, self.axis] = self.bounds[self.axis][self.side]
        return x


class BoxBoundarySampler:
    """Points on the boundary of a box, uniform with respect to surface measure.

    A face is chosen with probability proportional to its area, then a point uniformly on it. With
    ``per_face=True`` every face instead receives ``n // (2 d)`` points (the protocol of Wang et al. 2020,
    who draw a fixed batch per edge).
    """

    def __init__(self, bounds: Sequence[Sequence[float]], per_face: bool = False) -> None:
        self.bounds = _check_bounds(bounds)
        self.dim = len(self.bounds)
        self.per_face = per_face
        if self.dim == 1:
            self.per_face = True

    def face_areas(self) -> Tensor:
        lengths = torch.tensor([hi - lo for lo, hi in self.bounds], dtype=torch.float64)
        areas = torch.stack([lengths.prod() / lengths[a] for a in range(self.dim)])
        return torch.cat([areas, areas])  # faces (axis a, low side) then (axis a, high side)

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        device = generator.device
        num_faces = 2 * self.dim
        if self.per_face:
            face = torch.arange(num_faces, device=device).repeat_interleave(max(n // num_faces, 1))
            n = face.numel()
        else:
            probs = self.face_areas().to(device=device, dtype=torch.float64)
            face = torch.multinomial(probs, n, replacement=True, generator=generator)
        x = BoxSampler(self.bounds).sample(n, generator, dtype)
        lo, hi = _bounds_tensors(self.bounds, dtype, device)
        axis = face % self.dim
        high_side = face >= self.dim
        value = torch.where(high_side, hi[axis], lo[axis])
        x[torch.arange(n, device=device), axis] = value
        return x


class BallSampler:
    """Points in the ball ``‖x − c‖ <= R`` in any dimension.

    ``law="uniform"`` is the volume-uniform law (radius ``R U^{1/d}``); ``law="radial"`` draws the radius
    uniformly on ``[0, R]`` — the law used by the SDGD and STDE papers (Hu et al. 2023; Shi et al. 2024),
    which concentrates points near the centre in high dimension. The direction is a normalised Gaussian.
    """

    def __init__(self, dim: int, radius: float = 1.0, center: float | Sequence[float] = 0.0,
                 law: str = "uniform") -> None:
        self.dim = positive_int(dim, "dim")
        if radius <= 0:
            raise ConfigError("radius", f"must be positive, got {radius}")
        if law not in ("uniform", "radial"):
            raise ConfigError("law", f"unknown law {law!r}; options: uniform, radial")
        self.radius, self.center, self.law = float(radius), center, law

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        device = generator.device
        direction = torch.randn(n, self.dim, generator=generator, dtype=dtype, device=device)
        direction = direction / direction.norm(dim=1, keepdim=True)
        u = torch.rand(n, 1, generator=generator, dtype=dtype, device=device)
        r = u if self.law == "radial" else u ** (1.0 / self.dim)
        center = torch.as_tensor(self.center, dtype=dtype, device=device)
        return center + self.radius * r * direction


class GaussianSampler:
    """Points ``x ~ N(c, σ² I)`` on all of ``ℝᵈ`` (the law of the STDE experiments for the HJB and
    Black-Scholes-Barenblatt equations, which are posed on ``ℝᵈ``)."""

    def __init__(self, dim: int, std: float = 1.0, center: float | Sequence[float] = 0.0) -> None:
        self.dim = positive_int(dim, "dim")
        if not std > 0:
            raise ConfigError("std", f"must be positive, got {std}")
        self.std, self.center = float(std), center

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        device = generator.device
        x = torch.randn(n, self.dim, generator=generator, dtype=dtype, device=device)
        return torch.as_tensor(self.center, dtype=dtype, device=device) + self.std * x


class SphereSampler:
    """Uniform points on the sphere ``‖x − c‖ = R``."""

    def __init__(self, dim: int, radius: float = 1.0, center: float | Sequence[float] = 0.0) -> None:
        self.dim = positive_int(dim, "dim")
        self.radius, self.center = float(radius), center

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        device = generator.device
        direction = torch.randn(n, self.dim, generator=generator, dtype=dtype, device=device)
        center = torch.as_tensor(self.center, dtype=dtype, device=device)
        return center + self.radius * direction / direction.norm(dim=1, keepdim=True)


class TimeProduct:
    """Space-time points: ``(x, t)`` with ``x`` from a spatial sampler and ``t`` uniform on ``[t0, t1]``.

    ``t_value`` fixes the time (initial or terminal conditions). The time column is appended last.
    """

    def __init__(self, space, t0: float = 0.0, t1: float = 1.0, t_value: float | None = None) -> None:
        if not t1 > t0:
            raise ConfigError("time", f"t1 must exceed t0, got ({t0}, {t1})")
        self.space, self.t0, self.t1, self.t_value = space, float(t0), float(t1), t_value
        self.dim = space.dim + 1

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        x = self.space.sample(n, generator, dtype)
        if self.t_value is not None:
            t = torch.full((x.shape[0], 1), float(self.t_value), dtype=dtype, device=generator.device)
        else:
            u = torch.rand(x.shape[0], 1, generator=generator, dtype=dtype, device=generator.device)
            t = self.t0 + (self.t1 - self.t0) * u
        return torch.cat([x, t], dim=1)

    def state_dict(self) -> dict:
        """The spatial sampler's state (empty when it has none)."""
        return self.space.state_dict() if hasattr(self.space, "state_dict") else {}

    def load_state_dict(self, state: dict) -> None:
        if hasattr(self.space, "load_state_dict"):
            self.space.load_state_dict(state)


class FixedPoints:
    """Always returns the same points (and optional per-point data); ``n`` is ignored."""

    def __init__(self, x: Tensor, data: dict[str, Tensor] | None = None) -> None:
        self.x, self.data = x, data or {}
        self.dim = x.shape[1]

    def sample(self, n: int, generator: torch.Generator,
               dtype: torch.dtype) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        device = generator.device
        x = self.x.to(device=device, dtype=dtype)
        if not self.data:
            return x
        return x, {k: v.to(device=device, dtype=dtype) for k, v in self.data.items()}


_QUASI = ("pseudo", "LHS", "Halton", "Hammersley", "Sobol")
_EXTENSIBLE = ("LHS", "Halton", "Sobol")


class DeepXDESampler:
    """Points from a DeepXDE geometry (polygons, disks, CSG, ...), in its interior or on its boundary.

    ``method`` is ``"pseudo"`` (pseudo-random) or a quasi-random sequence (``LHS``, ``Halton``,
    ``Hammersley``, ``Sobol``). DeepXDE draws with NumPy: the seed is taken from ``generator`` so runs stay
    reproducible, and the points are moved to the generator's device once drawn.
    """

    def __init__(self, geometry, where: str = "interior", method: str = "pseudo") -> None:
        if where not in ("interior", "boundary"):
            raise ConfigError("where", f"unknown value {where!r}; options: interior, boundary")
        if method not in _QUASI:
            raise ConfigError("method", f"unknown value {method!r}; options: {', '.join(_QUASI)}")
        self.geometry, self.where, self.method = geometry, where, method
        self.dim = geometry.dim
        self._calls = 0

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=generator.device))
        if self.method == "pseudo":
            state = np.random.get_state()
            np.random.seed(seed)
            try:
                pts = self._draw(n, "pseudo")
            finally:
                np.random.set_state(state)
        elif self.method in _EXTENSIBLE:
            # deterministic sequences whose prefixes are the sequence: skip ahead so that successive calls differ
            pts = self._draw(n * (self._calls + 1), self.method)[-n:]
        else:
            # a Hammersley set depends on its size (first coordinate i/n): the tail of a larger set is not
            # spread over the domain, so every call returns the same n-point set
            pts = self._draw(n, self.method)
        self._calls += 1
        return torch.as_tensor(np.asarray(pts), dtype=dtype, device=generator.device)

    def state_dict(self) -> dict:
        """The number of draws so far (quasi-random sequences skip ahead by it)."""
        return {"calls": self._calls}

    def load_state_dict(self, state: dict) -> None:
        self._calls = int(state["calls"])

    def _draw(self, n: int, method: str) -> np.ndarray:
        if self.where == "interior":
            return self.geometry.random_points(n, random=method)
        return self.geometry.random_boundary_points(n, random=method)


def deepxde_geometry(kind: str, **kwargs):
    """Build a DeepXDE geometry by class name (``Disk``, ``Polygon``, ``Rectangle``, ...)."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    import deepxde.geometry as geometry  # noqa: PLC0415 (heavy import, only when asked for)

    if not hasattr(geometry, kind):
        raise ConfigError("geometry", f"unknown DeepXDE geometry {kind!r}")
    return getattr(geometry, kind)(**kwargs)
