"""What the PINNacle cases share: reference files, the protocol's training points and its evaluation sets.

Training points (PINNACLE.md §1.3–1.4): PINNacle draws a fixed set of interior ("domain"), boundary and, for
time-dependent cases, initial points by DeepXDE's Hammersley sampler. A box-shaped space-time domain is one
Hammersley set of the ``(d+1)``-cube; any other domain pairs a spatial set with a randomly permuted set of
times. The PDE residual is evaluated on **all** of these points (:class:`Union`), each boundary or initial
condition on its own share of them. Counts: 8,192 / 2,048 / 2,048, or 32,768 / 8,192 / 8,192 for the cases
that call ``training_points(mul=4)``; a boundary condition on some parts of ``∂Ω`` receives the parts' share of
the boundary points by measure.

Evaluation (§1.5): the L2RE ``‖Y − Y_ref‖_F / ‖Y_ref‖_F`` jointly over all points and outputs, on the
reference file's nodes crossed with its time levels (:func:`crossed`), or on the exact solution at DeepXDE's
evaluation points (:meth:`PinnacleProblem.evaluation_points`).

The reference files ship in ``data/pinnacle`` as float32 ``.npz`` (``data/pinnacle/convert.py`` made them from
PINNacle's ``ref/*.dat``, MIT licence); setting ``SCIML_DATA`` reads ``$SCIML_DATA/pinnacle`` instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from pdes._reference import DATA
from sciml.errors import ConfigError
from sciml.geometry import Box, Difference, SpaceTime
from sciml.geometry.quasi_random import check_method
from sciml.problem import Problem, Reference, Residual, Sampler, Term, batch_sizes

#: the protocol's training point counts (§1.4): base and ``training_points(mul=4)``
BASE = {"domain": 8192, "boundary": 2048, "initial": 2048}
TIMES_FOUR = {"domain": 32768, "boundary": 8192, "initial": 8192}


def data_dir() -> Path:
    """``$SCIML_DATA/pinnacle`` when ``SCIML_DATA`` is set, else ``data/pinnacle`` in the repository."""
    return Path(os.environ.get("SCIML_DATA") or DATA) / "pinnacle"


def load(name: str) -> dict[str, np.ndarray]:
    """The arrays of ``data/pinnacle/<name>`` (see ``data/pinnacle/convert.py`` for their layout)."""
    path = data_dir() / name
    if not path.is_file():
        raise ConfigError("reference", f"reference data {path} not found; set SCIML_DATA to the folder that "
                                       f"holds pinnacle/{name}")
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def crossed(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(x, y, …, t)`` and values ``(n, k)`` of a reference file, as PINNacle's
    ``trans_time_data_to_dataset`` lays them out (§1.5): every node crossed with every time level (one block of
    all nodes per level, levels in file order), rows holding NaN dropped. Steady data: the nodes themselves."""
    nodes, values = data["nodes"], data["values"]
    if "times" in data:
        times = data["times"]
        count, levels = len(nodes), len(times)
        x = np.concatenate([np.tile(nodes, (levels, 1)), np.repeat(times, count)[:, None]], axis=1)
        u = values.transpose(1, 0, 2).reshape(count * levels, -1)
    else:
        x, u = nodes, values.reshape(len(nodes), -1)
    keep = ~(np.isnan(x).any(axis=1) | np.isnan(u).any(axis=1))
    return x[keep], u[keep]


def split(n: int, shares: Sequence[float]) -> list[int]:
    """``n`` divided in proportion to ``shares`` by rounding the cumulative shares (the parts sum to ``n``)."""
    total = float(sum(shares))
    cuts, acc = [0], 0.0
    for share in shares:
        acc += share
        cuts.append(round(n * acc / total))
    return [b - a for a, b in zip(cuts, cuts[1:])]


class Union:
    """Points of several samplers together, ``n`` divided among them in proportion to their ``counts`` (the
    protocol's interior, boundary and initial counts: where PINNacle evaluates a PDE residual). Per-point
    data of the parts (normals) are dropped."""

    def __init__(self, parts: Sequence[tuple[Sampler, int]]) -> None:
        self.parts = list(parts)
        self.dim = self.parts[0][0].dim

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        xs = []
        for (sampler, _), m in zip(self.parts, split(n, [count for _, count in self.parts])):
            if m:
                out = sampler.sample(m, generator, dtype)
                xs.append(out[0] if isinstance(out, tuple) else out)
        return torch.cat(xs)

    def state_dict(self) -> dict:
        return {str(i): s.state_dict() for i, (s, _) in enumerate(self.parts) if hasattr(s, "state_dict")}

    def load_state_dict(self, state: dict) -> None:
        for i, (sampler, _) in enumerate(self.parts):
            if str(i) in state:
                sampler.load_state_dict(state[str(i)])


class PinnacleProblem(Problem):
    """A PINNacle case on ``space`` (a :class:`~sciml.geometry.Difference`), times ``time`` (``None``: steady).

    Subclasses set ``name``, ``variables``, ``outputs``, ``time``, ``counts`` and ``data_file`` (or implement
    :meth:`exact` and :meth:`evaluation_points`); their constructor sets ``space`` and calls :meth:`setup`, and
    :meth:`terms` builds the terms from :meth:`residual_sampler`, :meth:`boundary_sampler` and
    :meth:`initial_sampler`.
    """

    data_file: str | None = None
    grid_shape: tuple[int, ...] | None = None
    space: Difference
    time: tuple[float, float] | None = None
    counts: dict[str, int] = BASE
    sampling: str = "hammersley"

    def setup(self, sampling: str, batch_size: int | dict[str, int] | None, defaults: dict[str, int]) -> None:
        """Store the point law and the batch sizes (``None``: the protocol's ``defaults``), once ``space`` is set."""
        self.sampling = check_method(sampling)
        self.batch = batch_sizes(defaults if batch_size is None else batch_size, list(defaults))

    # --- geometry ---------------------------------------------------------------------------------------
    @property
    def box(self) -> list[tuple[float, float]]:
        """The bounding box of the inputs (space, then time)."""
        outer = self.space.outer
        if isinstance(outer, Box):
            space = list(outer.bounds)
        else:
            space = [(c - outer.radius, c + outer.radius) for c in outer.center]
        return space + ([self.time] if self.time is not None else [])

    def bounds(self) -> list[tuple[float, float]] | None:
        """The box, when the space-time domain is one."""
        return self.box if isinstance(self.space.outer, Box) and not self.space.holes else None

    def input_stats(self) -> tuple[Tensor, Tensor]:
        """Mean and standard deviation of uniform points of the bounding box."""
        lo = torch.tensor([b[0] for b in self.box], dtype=torch.float64)
        hi = torch.tensor([b[1] for b in self.box], dtype=torch.float64)
        return (lo + hi) / 2, (hi - lo) / math.sqrt(12.0)

    # --- training points --------------------------------------------------------------------------------
    def domain_sampler(self) -> Sampler:
        """Interior points: one set of the space-time box, or spatial points paired with permuted times."""
        if self.time is None:
            return self.space.interior(self.sampling)
        if self.bounds() is not None:
            return Difference(Box(self.box)).interior(self.sampling)
        return SpaceTime(self.space.interior(self.sampling), *self.time, method=self.sampling)

    def boundary_sampler(self, parts: str | Sequence[str] | None = None) -> Sampler:
        """Points on the selected parts of ``∂Ω`` (times ``[t0, t1]``), with outward normals and part ids. Parts
        of zero measure (a hole face on the outer boundary) are left out: none of their points lies on ``∂Ω``."""
        ids = [i for i in self.space.part_ids(parts) if self.space.parts[i].measure > 0]
        boundary = self.space.boundary([self.space.part_names[i] for i in ids], self.sampling)
        return boundary if self.time is None else SpaceTime(boundary, *self.time, method=self.sampling)

    def initial_sampler(self) -> Sampler:
        """Points of ``Ω × {t0}``."""
        assert self.time is not None
        return SpaceTime(self.space.interior(self.sampling), *self.time, t_value=self.time[0])

    def residual_sampler(self) -> Union:
        """All training points (interior, boundary, initial): where PINNacle evaluates the PDE residual."""
        parts = [(self.domain_sampler(), self.counts["domain"]), (self.boundary_sampler(), self.counts["boundary"])]
        if self.time is not None:
            parts.append((self.initial_sampler(), self.counts["initial"]))
        return Union(parts)

    def evolution_terms(self, ic: Residual | None, boundary: tuple[str, Residual]) -> dict[str, Term]:
        """``pde`` on the residual points, ``ic`` at ``t = t0`` (none when ``ic`` is ``None``: the network
        imposes it) and one condition on the whole boundary."""
        name, residual = boundary
        initial = {} if ic is None else {"ic": Term(self.initial_sampler(), ic, self.batch["ic"])}
        return {"pde": Term(self.residual_sampler(), self.pde_residual, self.batch["pde"]), **initial,
                name: Term(self.boundary_sampler(), residual, self.batch[name])}

    def boundary_shares(self, groups: dict[str, str | Sequence[str] | None]) -> dict[str, int]:
        """The protocol's boundary points divided among ``{term: parts}`` by the parts' measure."""
        measures = [self.space.boundary_measure(parts) for parts in groups.values()]
        return dict(zip(groups, split(self.counts["boundary"], measures)))

    # --- scoring ----------------------------------------------------------------------------------------
    @property
    def has_reference(self) -> bool:
        return self.data_file is not None

    def evaluation_points(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> Tensor:
        """DeepXDE's evaluation points of an analytic case (§1.5)."""
        raise NotImplementedError

    def reference(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                  resolution: int = 100, num_points: int = 20_000) -> Reference:
        """The protocol's evaluation set (§1.5); ``resolution`` and ``num_points`` are not used."""
        if self.data_file is not None:
            x, u = crossed(load(self.data_file))
            return Reference(torch.as_tensor(x, dtype=dtype, device=device),
                             self.score_values(torch.as_tensor(u, dtype=dtype, device=device)), self.grid_shape)
        x = self.evaluation_points(generator, dtype, device)
        with torch.no_grad():
            u = self.exact(x)
        assert u is not None
        return Reference(x, self.score_values(u))


def interior_grid(lo: float, hi: float, count: int) -> np.ndarray:
    """DeepXDE's uniform points of ``[lo, hi]`` without its end points: ``lo + (hi − lo) k / (count + 1)``,
    ``k = 1, …, count``."""
    return np.linspace(lo, hi, count + 1, endpoint=False)[1:]
