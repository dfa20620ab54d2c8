"""Constructive solid geometry in torch: boxes, balls, and a box (or ball) with holes cut out.

A domain ``Ω = A \\ (H_1 ∪ … ∪ H_m)`` is an outer shape ``A`` minus holes ``H_k`` (boxes or balls, in any
dimension; holes may overlap each other or cut the outer boundary). Its boundary is split into **parts**:
each face of a box and the sphere of a ball, outer shape first. A part keeps the points of its surface
that lie on ``∂Ω`` (up to sets of zero surface measure):

- a point of the outer surface is kept when it lies in no closed hole ``H̄_j`` (so a hole face that coincides
  with the outer boundary removes it, as for the backward-facing step ``[0,4]×[0,2] \\ [0,2]×[1,2]``);
- a point of the surface of ``H_k`` is kept when it lies in the open outer interior ``A°`` and in no other
  closed hole ``H̄_j``, ``j ≠ k``.

Each part has the measure ``|Γ_k|`` of its kept points. It equals the full surface measure (a face's area
``Π_{j≠a} L_j``, a sphere's ``2 π^{d/2} r^{d-1} / Γ(d/2)``) when closed-form tests show that nothing can
remove a point (the hole lies inside ``A°`` and meets no other hole; no hole meets the face); otherwise it
is the full measure times the kept fraction of ``2^16`` shifted Halton points of the surface's
parametrisation (an equal-weight quasi-Monte-Carlo estimate, error about ``10^-4`` relative for the curves
and faces of 2-D and 3-D domains). The volume ``|Ω|`` is exact when the holes are pairwise disjoint and each lies inside
``A°``, outside ``A``, or is a box cut by a box outer shape; otherwise it is estimated in the same way.

Boundary points follow the surface measure: a batch of ``n`` points is split among the selected parts in
proportion to ``|Γ_k|`` (systematic rounding: ``n_k = ⌊n c_k + v⌋ − ⌊n c_{k−1} + v⌋`` with ``c_k`` the
cumulative measure share and ``v`` uniform on ``[0, 1)``, so ``E n_k = n |Γ_k| / Σ|Γ|`` and
``|n_k − n |Γ_k| / Σ|Γ|| < 1``), and the points of a part are uniform on its kept surface, by rejection. Every
boundary point carries the outward unit normal of ``Ω`` (on a hole it points into the hole) and its part id.
On an edge or a corner of a box a point carries the normal of the face it was drawn on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.geometry.quasi_random import UnitCubePoints, check_method, halton
from sciml.geometry.samplers import _check_bounds

_ESTIMATE_POINTS = 2**16


def _sphere_area(dim: int, radius: float) -> float:
    """Surface measure of the sphere of radius ``r`` in ``ℝ^d``: ``2 π^{d/2} r^{d−1} / Γ(d/2)``."""
    return 2 * math.pi ** (dim / 2) * radius ** (dim - 1) / math.gamma(dim / 2)


def _estimate_points(dim: int) -> Tensor:
    """The Halton points ``i = 0, …, N − 1`` (``N = 2^16``) shifted by ``1 / (2N)`` modulo 1: in the first
    coordinate the midpoints ``(k + 1/2) / N``, which measure an interval with rational end points ``a / N``
    exactly."""
    n = _ESTIMATE_POINTS if dim else 1
    return (halton(n, dim, start=0) + 0.5 / n) % 1.0


def _gaussian(u: Tensor) -> Tensor:
    """Standard normal quantiles ``Φ^{-1}(u) = √2 erf^{-1}(2u − 1)``, with ``u`` kept inside ``(0, 1)``."""
    eps = torch.finfo(u.dtype).eps
    return math.sqrt(2.0) * torch.erfinv(2 * u.clamp(eps, 1 - eps) - 1)


@dataclass(frozen=True)
class _Slab:
    """The closed, possibly degenerate, box ``Π [lo_i, hi_i]`` (a face of a box has ``lo_a = hi_a``)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]


@dataclass(frozen=True)
class _Surface:
    """One boundary surface of a shape: a box face or a sphere.

    ``point`` maps parameters ``u ∈ [0, 1)^{param_dim}`` to points uniform on the surface with respect to its
    measure, and returns them with the shape's outward unit normals. ``region`` is a closed set holding the
    surface, for the intersection tests.
    """

    suffix: str
    measure: float
    param_dim: int
    region: _Slab | Ball
    point: Callable[[Tensor], tuple[Tensor, Tensor]]


class Box:
    """The closed box ``Π [lo_i, hi_i]``."""

    def __init__(self, bounds: Sequence[Sequence[float]]) -> None:
        self.bounds = _check_bounds(bounds)
        self.dim = len(self.bounds)
        self.lo = tuple(b[0] for b in self.bounds)
        self.hi = tuple(b[1] for b in self.bounds)
        self.volume = math.prod(h - low for low, h in self.bounds)
        self.interior_dim = self.dim

    def _limits(self, like: Tensor) -> tuple[Tensor, Tensor]:
        return (torch.tensor(self.lo, dtype=like.dtype, device=like.device),
                torch.tensor(self.hi, dtype=like.dtype, device=like.device))

    def contains(self, x: Tensor, closed: bool = True) -> Tensor:
        """``lo <= x <= hi`` on every axis (``lo < x < hi`` when ``closed`` is false), ``(n,)`` bool."""
        lo, hi = self._limits(x)
        if closed:
            return ((x >= lo) & (x <= hi)).all(dim=1)
        return ((x > lo) & (x < hi)).all(dim=1)

    def from_unit(self, u: Tensor) -> Tensor:
        """The affine map ``x = lo + (hi − lo) u`` of the unit cube onto the box (uniform to uniform)."""
        lo, hi = self._limits(u)
        return lo + (hi - lo) * u

    def surfaces(self) -> list[_Surface]:
        """The ``2d`` faces: ``lo0, lo1, …`` (``x_a = lo_a``, normal ``−e_a``) then ``hi0, hi1, …``."""
        out = []
        for side, label in ((0, "lo"), (1, "hi")):
            for axis in range(self.dim):
                value = self.bounds[axis][side]
                lo = tuple(value if j == axis else self.lo[j] for j in range(self.dim))
                hi = tuple(value if j == axis else self.hi[j] for j in range(self.dim))
                area = math.prod(h - low for j, (low, h) in enumerate(self.bounds) if j != axis)
                out.append(_Surface(f"{label}{axis}", area, self.dim - 1, _Slab(lo, hi),
                                    self._face_map(axis, value, 2.0 * side - 1.0)))
        return out

    def _face_map(self, axis: int, value: float, sign: float) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
        free = [j for j in range(self.dim) if j != axis]

        def point(u: Tensor) -> tuple[Tensor, Tensor]:
            x = torch.full((u.shape[0], self.dim), value, dtype=u.dtype, device=u.device)
            if free:
                lo = torch.tensor([self.lo[j] for j in free], dtype=u.dtype, device=u.device)
                hi = torch.tensor([self.hi[j] for j in free], dtype=u.dtype, device=u.device)
                x[:, free] = lo + (hi - lo) * u
            normal = torch.zeros_like(x)
            normal[:, axis] = sign
            return x, normal

        return point


class Ball:
    """The closed ball ``‖x − c‖ <= r`` in ``ℝ^d``, ``d = len(center)``."""

    def __init__(self, center: Sequence[float], radius: float) -> None:
        self.center = tuple(float(c) for c in center)
        self.dim = len(self.center)
        if self.dim < 1:
            raise ConfigError("center", "a ball needs at least one coordinate")
        if not radius > 0:
            raise ConfigError("radius", f"must be positive, got {radius}")
        self.radius = float(radius)
        self.volume = math.pi ** (self.dim / 2) * self.radius ** self.dim / math.gamma(self.dim / 2 + 1)
        self.sphere_dim = 1 if self.dim <= 2 else (2 if self.dim == 3 else self.dim)
        self.interior_dim = 1 if self.dim == 1 else self.sphere_dim + 1

    def _center(self, like: Tensor) -> Tensor:
        return torch.tensor(self.center, dtype=like.dtype, device=like.device)

    def contains(self, x: Tensor, closed: bool = True) -> Tensor:
        """``‖x − c‖ <= r`` (``< r`` when ``closed`` is false), ``(n,)`` bool."""
        dist2 = (x - self._center(x)).square().sum(dim=1)
        return dist2 <= self.radius ** 2 if closed else dist2 < self.radius ** 2

    def _direction(self, u: Tensor) -> Tensor:
        """Unit vectors uniform on the sphere ``S^{d−1}`` from ``u ∈ [0,1)^{p}``: ``±1`` (d = 1), the angle
        ``2πu`` (d = 2), Archimedes' map ``z = 1 − 2u_0``, ``φ = 2πu_1`` (d = 3; ``z`` is uniform on the
        sphere), else a normalised standard Gaussian vector from ``d`` normal quantiles."""
        if self.dim == 1:
            return torch.where(u[:, :1] < 0.5, -1.0, 1.0).to(u.dtype)
        if self.dim == 2:
            angle = 2 * math.pi * u[:, 0]
            return torch.stack([angle.cos(), angle.sin()], dim=1)
        if self.dim == 3:
            z = 1 - 2 * u[:, 0]
            phi = 2 * math.pi * u[:, 1]
            rho = (1 - z.square()).clamp_min(0).sqrt()
            return torch.stack([rho * phi.cos(), rho * phi.sin(), z], dim=1)
        g = _gaussian(u[:, :self.dim])
        return g / g.norm(dim=1, keepdim=True)

    def from_unit(self, u: Tensor) -> Tensor:
        """Uniform points of the ball from ``u ∈ [0,1)^{interior_dim}``: the radius ``r ρ^{1/d}`` has the law
        of the distance to the centre (``P(‖x − c‖ <= s) = (s/r)^d``) and the direction is uniform; in 1-D the
        affine map of ``[c − r, c + r]``."""
        c = self._center(u)
        if self.dim == 1:
            return c + self.radius * (2 * u - 1)
        k = self.sphere_dim
        return c + self.radius * u[:, k:k + 1].pow(1.0 / self.dim) * self._direction(u[:, :k])

    def surfaces(self) -> list[_Surface]:
        """The sphere, with parameters of dimension :attr:`sphere_dim`: 1 (d <= 2), 2 (d = 3) or d."""
        def point(u: Tensor) -> tuple[Tensor, Tensor]:
            normal = self._direction(u)
            return self._center(u) + self.radius * normal, normal

        return [_Surface("", _sphere_area(self.dim, self.radius), self.sphere_dim, self, point)]


class Disk(Ball):
    """The closed disk ``‖x − c‖ <= r`` in the plane."""

    def __init__(self, center: Sequence[float], radius: float) -> None:
        if len(center) != 2:
            raise ConfigError("center", f"a disk has a 2-D centre, got {len(center)} coordinates")
        super().__init__(center, radius)


Shape = Box | Ball


# --- closed-form tests between closed sets ------------------------------------------------------------
def _meets(a: _Slab | Box | Ball, b: _Slab | Box | Ball) -> bool:
    """Whether two closed sets (boxes, possibly degenerate, or balls) intersect."""
    if isinstance(a, Ball) and not isinstance(b, Ball):
        a, b = b, a
    if isinstance(a, Ball):  # both balls: ‖c_1 − c_2‖ <= r_1 + r_2
        assert isinstance(b, Ball)
        return math.dist(a.center, b.center) <= a.radius + b.radius
    if isinstance(b, Ball):  # box and ball: the distance from the centre to the box is at most r
        gap = sum((min(max(c, lo), hi) - c) ** 2 for c, lo, hi in zip(b.center, a.lo, a.hi))
        return gap <= b.radius ** 2
    return all(max(l1, l2) <= min(h1, h2) for l1, h1, l2, h2 in zip(a.lo, a.hi, b.lo, b.hi))


def _touches(hole: Shape, surface: _Surface) -> bool:
    """Whether the closed ``hole`` may meet ``surface``: it meets the surface's closed region, and does not lie
    in the open ball whose sphere the surface is."""
    region = surface.region
    return _meets(hole, region) and not (isinstance(region, Ball) and _within_open(hole, region))


def _within_open(region: _Slab | Box | Ball, outer: Shape) -> bool:
    """Whether a closed set lies in the open interior of ``outer``."""
    if isinstance(outer, Box):
        if isinstance(region, Ball):
            return all(lo < c - region.radius and c + region.radius < hi
                       for c, lo, hi in zip(region.center, outer.lo, outer.hi))
        return all(lo < a and b < hi for a, b, lo, hi in zip(region.lo, region.hi, outer.lo, outer.hi))
    if isinstance(region, Ball):
        return math.dist(region.center, outer.center) + region.radius < outer.radius
    far = [max(abs(a - c), abs(b - c)) for a, b, c in zip(region.lo, region.hi, outer.center)]
    return math.hypot(*far) < outer.radius


def _overlap_volume(outer: Shape, hole: Shape) -> float | None:
    """``|A ∩ H|`` when it has a closed form (inside, disjoint, or box ∩ box), else ``None``."""
    if _within_open(hole, outer):
        return hole.volume
    if not _meets(outer, hole):
        return 0.0
    if isinstance(outer, Box) and isinstance(hole, Box):
        return math.prod(max(0.0, min(h1, h2) - max(l1, l2))
                         for l1, h1, l2, h2 in zip(outer.lo, outer.hi, hole.lo, hole.hi))
    return None


@dataclass(frozen=True)
class _Part:
    """A boundary part: a surface of shape ``shape`` (0 the outer shape, ``k + 1`` hole ``k``)."""

    name: str
    shape: int
    surface: _Surface
    sign: float  # +1 on the outer shape, −1 on a hole (the domain's outward normal points into the hole)
    cutters: tuple[int, ...]  # holes whose closed set may remove points of the surface
    inside_outer: bool  # whether a point must also be checked to lie in the open outer interior
    measure: float  # measure of the kept points

    @property
    def exact(self) -> bool:
        """Whether every point of the surface is on ``∂Ω`` (no test needed)."""
        return not self.cutters and not self.inside_outer


class Difference:
    """The domain ``Ω = A \\ (H_1 ∪ … ∪ H_m)``: an outer box or ball minus holes (boxes or balls).

    ``names`` names the outer shape and the holes (default ``"box"`` or ``"ball"``, then ``"hole0"``,
    ``"hole1"``, …). Boundary parts are named after them: ``"<name>.lo<a>"`` / ``"<name>.hi<a>"`` for the
    face ``x_a = lo_a`` / ``x_a = hi_a`` of a box, ``"<name>"`` for a ball's sphere; their integer ids are
    positions in :attr:`part_names`. A selector in ``parts=`` is a part name or a shape name (all its parts),
    or a shell-style pattern of them (``"hole*"``). See the module docstring for the laws and the measures.
    """

    def __init__(self, outer: Shape, holes: Sequence[Shape] = (), names: Sequence[str] | None = None) -> None:
        self.outer, self.holes = outer, list(holes)
        self.dim = outer.dim
        for k, hole in enumerate(self.holes):
            if hole.dim != self.dim:
                raise ConfigError(f"holes[{k}]", f"has dimension {hole.dim}, the outer shape {self.dim}")
        default = ["box" if isinstance(outer, Box) else "ball"] + [f"hole{k}" for k in range(len(self.holes))]
        self.names = list(names) if names is not None else default
        if len(self.names) != len(default) or len(set(self.names)) != len(self.names):
            raise ConfigError("names", f"need {len(default)} distinct names (outer shape, then holes), "
                                       f"got {self.names}")
        self.parts = self._build_parts()
        self.part_names = [p.name for p in self.parts]
        self.volume = self._volume()

    # --- construction ---------------------------------------------------------------------------------
    def _shape(self, index: int) -> Shape:
        return self.outer if index == 0 else self.holes[index - 1]

    def _build_parts(self) -> list[_Part]:
        parts = []
        for index in range(len(self.holes) + 1):
            shape = self._shape(index)
            for surface in shape.surfaces():
                name = self.names[index] + (f".{surface.suffix}" if surface.suffix else "")
                others = [j for j, hole in enumerate(self.holes) if j + 1 != index and _touches(hole, surface)]
                inside = index > 0 and not _within_open(surface.region, self.outer)
                part = _Part(name, index, surface, 1.0 if index == 0 else -1.0, tuple(others), inside,
                             surface.measure)
                if part.exact:
                    parts.append(part)
                    continue
                u = _estimate_points(surface.param_dim)
                fraction = float(self._keep(part, u).to(torch.float64).mean())
                parts.append(replace(part, measure=surface.measure * fraction))
        return parts

    def _volume(self) -> float:
        disjoint = all(not _meets(a, b) for i, a in enumerate(self.holes) for b in self.holes[i + 1:])
        overlaps = [_overlap_volume(self.outer, hole) for hole in self.holes]
        if disjoint and all(v is not None for v in overlaps):
            return self.outer.volume - sum(v for v in overlaps if v is not None)
        u = _estimate_points(self.outer.interior_dim)
        return self.outer.volume * float(self._keep_interior(u).to(torch.float64).mean())

    # --- membership -----------------------------------------------------------------------------------
    def _keep(self, part: _Part, u: Tensor) -> Tensor:
        """Which surface parameters ``u`` of ``part`` give points of ``∂Ω``."""
        x, _ = part.surface.point(u)
        keep = self.outer.contains(x, closed=False) if part.inside_outer else torch.ones_like(x[:, 0], dtype=bool)
        for j in part.cutters:
            keep &= ~self.holes[j].contains(x)
        return keep

    def _keep_interior(self, u: Tensor) -> Tensor:
        return self.contains(self.outer.from_unit(u))

    def contains(self, x: Tensor) -> Tensor:
        """Points of ``A`` in no closed hole, ``(n,)`` bool."""
        keep = self.outer.contains(x)
        for hole in self.holes:
            keep &= ~hole.contains(x)
        return keep

    # --- parts ----------------------------------------------------------------------------------------
    def part_ids(self, parts: str | Sequence[str] | None = None) -> list[int]:
        """Ids of the parts named by ``parts`` (part or shape names, or shell-style patterns of them such as
        ``"hole*"``; ``None``: all), in id order."""
        if parts is None:
            return list(range(len(self.parts)))
        selectors = [parts] if isinstance(parts, str) else list(parts)
        chosen: set[int] = set()
        for sel in selectors:
            ids = [i for i, p in enumerate(self.parts)
                   if fnmatchcase(p.name, sel) or fnmatchcase(self.names[p.shape], sel)]
            if not ids:
                raise ConfigError("parts", f"unknown part {sel!r}; parts are {self.part_names}")
            chosen.update(ids)
        return sorted(chosen)

    def boundary_measure(self, parts: str | Sequence[str] | None = None) -> float:
        """``Σ |Γ_k|`` over the selected parts (perimeter in 2-D, surface area in 3-D)."""
        return sum(self.parts[i].measure for i in self.part_ids(parts))

    # --- samplers -------------------------------------------------------------------------------------
    def interior(self, method: str = "pseudo") -> InteriorSampler:
        """A sampler of points uniform in ``Ω``."""
        return InteriorSampler(self, method)

    def boundary(self, parts: str | Sequence[str] | None = None, method: str = "pseudo",
                 counts: Mapping[str, int] | None = None) -> BoundarySampler:
        """A sampler of points on the selected parts of ``∂Ω``, uniform with respect to surface measure.

        With ``counts`` (``{selector: number}``, instead of ``parts``) each selector's parts receive that
        many points per batch (split among them by measure) and the requested batch size is ignored.
        """
        return BoundarySampler(self, parts, method, counts)


class InteriorSampler:
    """Points uniform in a :class:`Difference`: the outer shape's law (pseudo-random or quasi-random in the
    unit cube, mapped by a measure-preserving map) restricted to ``Ω`` by rejection."""

    def __init__(self, domain: Difference, method: str = "pseudo") -> None:
        self.domain, self.dim = domain, domain.dim
        self.points = UnitCubePoints(domain.outer.interior_dim, method)
        self.rate = domain.volume / domain.outer.volume

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        keep = self.domain._keep_interior if self.domain.holes else None
        u = self.points.accept(n, generator, dtype, keep, self.rate)
        return self.domain.outer.from_unit(u)

    def state_dict(self) -> dict[str, int]:
        return self.points.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.points.load_state_dict(state)


class BoundarySampler:
    """Points on some parts of ``∂Ω`` with per-point data ``{"normal": (n, d), "part": (n,)}``: the outward
    unit normal of ``Ω`` (in the sampling dtype) and the part id (int64, a position in
    ``domain.part_names``). Each part draws from its own unit-cube stream; :meth:`state_dict` holds their
    positions."""

    def __init__(self, domain: Difference, parts: str | Sequence[str] | None = None, method: str = "pseudo",
                 counts: Mapping[str, int] | None = None) -> None:
        check_method(method)
        self.domain, self.dim = domain, domain.dim
        self.groups: list[tuple[list[int], int | None]] = []
        if counts is not None:
            if parts is not None:
                raise ConfigError("parts", "give either parts or counts (whose keys select the parts)")
            seen: set[int] = set()
            for sel, count in counts.items():
                ids = domain.part_ids(sel)
                if seen & set(ids):
                    raise ConfigError("counts", f"selector {sel!r} overlaps another selector")
                if int(count) < 0:
                    raise ConfigError(f"counts.{sel}", f"must be non-negative, got {count}")
                seen.update(ids)
                self.groups.append((ids, int(count)))
        else:
            self.groups.append((domain.part_ids(parts), None))
        self.part_ids = sorted(i for ids, _ in self.groups for i in ids)
        for ids, count in self.groups:
            if sum(domain.parts[i].measure for i in ids) <= 0 and count != 0:
                names = [domain.part_names[i] for i in ids]
                raise ConfigError("parts", f"parts {names} have zero measure: no point of them lies on the boundary")
        self.points = {i: UnitCubePoints(domain.parts[i].surface.param_dim, method) for i in self.part_ids}

    def _allocate(self, n: int, ids: list[int], generator: torch.Generator) -> list[int]:
        """Systematic rounding of ``n |Γ_k| / Σ|Γ|``: ``n_k = ⌊n c_k + v⌋ − ⌊n c_{k−1} + v⌋``."""
        if n == 0:
            return [0] * len(ids)
        measures = [self.domain.parts[i].measure for i in ids]
        total = sum(measures)
        v = float(torch.rand((), generator=generator, dtype=torch.float64, device=generator.device))
        cuts, acc = [0], 0.0
        for m in measures:
            acc += m
            cuts.append(min(math.floor(n * acc / total + v), n))
        cuts[-1] = n
        return [b - a for a, b in zip(cuts, cuts[1:])]

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> tuple[Tensor, dict[str, Tensor]]:
        device = generator.device
        xs, normals, ids = [], [], []
        for group, count in self.groups:
            for i, m in zip(group, self._allocate(n if count is None else count, group, generator)):
                part = self.domain.parts[i]
                full = part.surface.measure
                keep = None if part.exact else (lambda u, p=part: self.domain._keep(p, u))
                u = self.points[i].accept(m, generator, dtype, keep, part.measure / full)
                x, normal = part.surface.point(u)
                xs.append(x)
                normals.append(part.sign * normal)
                ids.append(torch.full((m,), i, dtype=torch.int64, device=device))
        return torch.cat(xs), {"normal": torch.cat(normals), "part": torch.cat(ids)}

    def state_dict(self) -> dict[str, Tensor]:
        offsets = [self.points[i].offset for i in self.part_ids]
        return {"part_ids": torch.tensor(self.part_ids, dtype=torch.int64),
                "offsets": torch.tensor(offsets, dtype=torch.int64)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if [int(i) for i in state["part_ids"]] != self.part_ids:
            raise ValueError("the state belongs to a sampler of other parts")
        for i, offset in zip(self.part_ids, state["offsets"]):
            self.points[i].offset = int(offset)
