"""Structured grids on which a solution is exported: points, cells and the layout of a problem.

A problem with ``d`` spatial variables (every variable but ``time_variable``, which is the last one) is
exported on

- one tensor-product grid over all spatial variables when ``d <= 3`` (line / quad / hexahedron cells);
- 2-D slices through chosen coordinates when ``d > 3`` (the other variables held fixed);

and, for a time-dependent problem, on that spatial grid at every one of ``time_steps`` times (plus, when the
whole space-time box has at most three variables, one space-time grid over it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sciml.errors import ConfigError, positive_int

CELL_TYPES = {1: "line", 2: "quad", 3: "hexahedron"}
AUTO_RESOLUTION = {1: 513, 2: 129, 3: 33}


@dataclass
class Piece:
    """A structured grid over the variables ``axes`` with the others held at ``fixed`` values.

    ``lines[i]`` are the coordinates along ``axes[i]``; ``times`` (a time series) gives the values of the
    time variable at which the grid is evaluated, ``None`` for a steady grid.
    """

    name: str
    axes: list[int]
    lines: list[np.ndarray]
    fixed: dict[int, float] = field(default_factory=dict)
    times: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(line) for line in self.lines)

    def inputs(self, dim: int, time_index: int | None = None, t: float | None = None) -> np.ndarray:
        """The ``(n, dim)`` input points of the grid (row-major, ``ij`` order), at time ``t`` if given."""
        mesh = np.meshgrid(*self.lines, indexing="ij")
        x = np.zeros((mesh[0].size, dim))
        for axis, m in zip(self.axes, mesh):
            x[:, axis] = m.reshape(-1)
        for axis, value in self.fixed.items():
            x[:, axis] = value
        if t is not None:
            assert time_index is not None
            x[:, time_index] = t
        return x

    def points(self) -> np.ndarray:
        """``(n, 3)`` geometric points: the grid's own coordinates, padded with zeros."""
        mesh = np.meshgrid(*self.lines, indexing="ij")
        pts = np.zeros((mesh[0].size, 3))
        for i, m in enumerate(mesh):
            pts[:, i] = m.reshape(-1)
        return pts

    def cells(self) -> list[tuple[str, np.ndarray]]:
        return [(CELL_TYPES[len(self.shape)], structured_cells(self.shape))]


def structured_cells(shape: Sequence[int]) -> np.ndarray:
    """Connectivity of the cells of a row-major structured grid of ``shape`` (1, 2 or 3 axes).

    Point ``(i, j, k)`` has index ``(i n1 + j) n2 + k``. Quads run counter-clockwise and hexahedra list
    the bottom face counter-clockwise then the top face, as VTK's ``VTK_QUAD`` / ``VTK_HEXAHEDRON`` expect.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in CELL_TYPES or min(shape) < 2:
        raise ValueError(f"structured cells need 1 to 3 axes of at least 2 points, got shape {shape}")
    index = np.arange(int(np.prod(shape))).reshape(shape)
    if len(shape) == 1:
        return np.stack([index[:-1], index[1:]], axis=1)
    if len(shape) == 2:
        corners = [index[:-1, :-1], index[1:, :-1], index[1:, 1:], index[:-1, 1:]]
        return np.stack([c.reshape(-1) for c in corners], axis=1)
    bottom = [index[:-1, :-1, :-1], index[1:, :-1, :-1], index[1:, 1:, :-1], index[:-1, 1:, :-1]]
    top = [index[:-1, :-1, 1:], index[1:, :-1, 1:], index[1:, 1:, 1:], index[:-1, 1:, 1:]]
    return np.stack([c.reshape(-1) for c in bottom + top], axis=1)


def _variable_index(variables: list[str], name: object, key: str) -> int:
    if name not in variables:
        raise ConfigError(key, f"unknown variable {name!r}; variables are {variables}")
    return variables.index(str(name))


def parse_slices(slices: Sequence[dict] | None, variables: list[str], spatial: list[int],
                 bounds: list[tuple[float, float]]) -> list[tuple[list[int], dict[int, float]]]:
    """``[{"axes": [a, b], "at": {var: value}}]`` -> ``[(axis indices, {index: value})]``.

    Variables missing from ``at`` sit at the centre of their range; the default is one slice over the
    first two spatial variables.
    """
    if not slices:
        slices = [{"axes": [variables[spatial[0]], variables[spatial[1]]]}]
    out = []
    for n, spec in enumerate(slices):
        key = f"slices[{n}]"
        if not isinstance(spec, dict) or "axes" not in spec:
            raise ConfigError(key, f"must be a mapping with 'axes' (two variable names), got {spec!r}")
        axes = [_variable_index(variables, a, f"{key}.axes") for a in spec["axes"]]
        if len(axes) != 2 or len(set(axes)) != 2 or not set(axes) <= set(spatial):
            raise ConfigError(f"{key}.axes", f"must name two different spatial variables, got {spec['axes']}")
        at = {_variable_index(variables, k, f"{key}.at"): float(v) for k, v in (spec.get("at") or {}).items()}
        if set(at) & set(axes):
            raise ConfigError(f"{key}.at", "cannot fix a variable the slice runs along")
        fixed = {i: at.get(i, (bounds[i][0] + bounds[i][1]) / 2) for i in spatial if i not in axes}
        out.append((axes, fixed))
    return out


def layout(variables: list[str], time_variable: str | None, bounds: list[tuple[float, float]],
           resolution: int | None = None, time_steps: int = 51, slices: Sequence[dict] | None = None,
           lines: dict[int, np.ndarray] | None = None) -> list[Piece]:
    """The pieces on which a problem is exported (see the module docstring).

    ``lines`` overrides the grid coordinates of some variables (a reference data set's own grid).
    """
    dim = len(variables)
    time_index = variables.index(time_variable) if time_variable in variables else None
    if time_index is not None and time_index != dim - 1:
        raise ConfigError("pde", f"the time variable {time_variable!r} must be the last variable, got {variables}")
    spatial = [i for i in range(dim) if i != time_index]
    if not spatial:
        raise ConfigError("pde", "export needs at least one spatial variable")
    n = positive_int(resolution, "resolution") if resolution is not None else \
        AUTO_RESOLUTION[min(len(spatial), 3) if len(spatial) <= 3 else 2]
    if n < 2:
        raise ConfigError("resolution", f"must be at least 2, got {n}")
    given = lines or {}

    def line(i: int, count: int) -> np.ndarray:
        return np.asarray(given[i], dtype=float) if i in given else np.linspace(*bounds[i], count)

    times = None
    if time_index is not None:
        steps = positive_int(time_steps, "time_steps")
        times = line(time_index, steps)
    if len(spatial) <= 3:
        spaces = [("field", spatial, {})]
    else:
        spaces = [(f"slice{k}_{variables[a]}_{variables[b]}", [a, b], fixed)
                  for k, ((a, b), fixed) in enumerate(parse_slices(slices, variables, spatial, bounds))]
    pieces = [Piece(name, axes, [line(i, n) for i in axes], fixed, times) for name, axes, fixed in spaces]
    if time_index is not None and dim <= 3:
        assert times is not None
        pieces.append(Piece("spacetime", list(range(dim)), [line(i, n) for i in spatial] + [times]))
    return pieces


def grid_lines(x: np.ndarray, shape: Sequence[int]) -> tuple[list[np.ndarray], list[int]] | None:
    """Recognise a tensor-product grid: the coordinate line of each variable and the array axis it runs on.

    ``x`` is ``(prod(shape), d)`` in row-major order of ``shape``. Returns ``(lines, axis_of_variable)``
    or ``None`` when ``x`` is not such a grid (every variable must vary along exactly one axis).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != x.shape[1] or int(np.prod(shape)) != x.shape[0]:
        return None
    grid = x.reshape(*shape, x.shape[1])
    lines, axis_of = [], []
    for var in range(x.shape[1]):
        values = grid[..., var]
        for axis in range(len(shape)):
            line = np.moveaxis(values, axis, 0).reshape(shape[axis], -1)[:, 0]
            along = line.reshape([-1 if a == axis else 1 for a in range(len(shape))])
            if shape[axis] > 1 and np.ptp(line) > 0 and np.allclose(values, along):
                lines.append(line.copy())
                axis_of.append(axis)
                break
        else:
            return None
    if sorted(axis_of) != list(range(len(shape))):
        return None
    return lines, axis_of
