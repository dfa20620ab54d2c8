"""Export of a solution with meshio: prediction, exact (or reference) solution and pointwise error.

Steady grids go to VTU (``<piece>.vtu``), time series to XDMF + HDF5 (``<piece>.xdmf``, one step per
time), see :mod:`sciml.io.grids` for the layout. For every output ``u`` of the problem the point data hold
``u`` (prediction), ``u_exact`` and ``u_error = u - u_exact`` when an exact solution or a gridded
reference data set is known. A ``manifest.json`` lists what was written, for renders and reports.

This module sees a problem and a prediction function only, never a trainer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import meshio
import numpy as np
import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.io.grids import Piece, grid_lines, layout
from sciml.problem import Problem

MAX_INPUT_BYTES = 2 * 2**30  # largest grid of input points one export piece may build


class ExportTooLarge(ConfigError):
    """The export grid of a very high-dimensional problem would not fit in memory."""

Predict = Callable[[Tensor], Tensor]
MANIFEST = "manifest.json"


@dataclass
class ExportSettings:
    """Grid resolution per spatial axis (``None``: 513 / 129 / 33 points for 1-/2-/3-D, 129 for slices),
    number of time steps of a series, and the 2-D slices of a problem with more than three spatial
    variables (``[{"axes": ["x0", "x1"], "at": {"x2": 0.5}}]``, unnamed variables at the centre)."""

    resolution: int | None = None
    time_steps: int = 51
    slices: Sequence[dict] | None = None


@dataclass
class Truth:
    """Where the comparison values come from: ``exact(x)``, or a reference data set on a grid."""

    values: Callable[[Tensor], Tensor] | None
    lines: dict[int, np.ndarray]
    source: str | None  # "exact" | "reference" | None


def truth(problem: Problem, dtype: torch.dtype, device: torch.device) -> Truth:
    """The problem's exact solution, else its reference data when they lie on a tensor-product grid."""
    if problem.has_exact:
        return Truth(problem.exact, {}, "exact")
    ref = problem.reference(torch.Generator(device).manual_seed(0), dtype, device)
    if ref is None or ref.grid_shape is None:
        return Truth(None, {}, None)
    found = grid_lines(ref.x.detach().cpu().double().numpy(), ref.grid_shape)
    if found is None:
        return Truth(None, {}, None)
    lines, axis_of = found
    d = len(lines)
    grid = ref.u.detach().reshape(*ref.grid_shape, -1).permute(*axis_of, d)

    def lookup(x: Tensor) -> Tensor:
        index = tuple((x[:, v, None] - torch.as_tensor(lines[v], dtype=x.dtype, device=x.device)).abs().argmin(1)
                      for v in range(d))
        return grid.to(x.device)[index]

    return Truth(lookup, dict(enumerate(lines)), "reference")


def point_data(problem: Problem, predict: Predict, truth: Truth, x: np.ndarray, dtype: torch.dtype,
               device: torch.device) -> dict[str, np.ndarray]:
    """Prediction, exact value and error of every output at the points ``x``.

    When the comparison values are not the outputs themselves (reference data of
    ``problem.score_values``, e.g. ``|h|`` of a complex field) they are compared as ``scored``.
    """
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    pred = predict(xt).detach()
    data = {name: pred[:, k].cpu().numpy() for k, name in enumerate(problem.outputs)}
    if truth.values is None:
        return data
    with torch.no_grad():
        exact = truth.values(xt).detach().to(pred.dtype)
    names = list(problem.outputs)
    if exact.shape[1] != pred.shape[1]:
        pred = problem.score_values(pred)
        names = ["scored"] if pred.shape[1] == 1 else [f"scored{k}" for k in range(pred.shape[1])]
        data.update({name: pred[:, k].cpu().numpy() for k, name in enumerate(names)})
    for k, name in enumerate(names):
        data[f"{name}_exact"] = exact[:, k].cpu().numpy()
        data[f"{name}_error"] = (pred[:, k] - exact[:, k]).cpu().numpy()
    return data


def primary(fields: list[str], outputs: list[str]) -> str:
    """The array that renders show: the first one with an exact counterpart, else the first output."""
    compared = [f[: -len("_exact")] for f in fields if f.endswith("_exact")]
    return compared[0] if compared else outputs[0]


def write_vtu(path: Path, piece: Piece, data: dict[str, np.ndarray]) -> Path:
    meshio.write(path, meshio.Mesh(piece.points(), piece.cells(), point_data=data), file_format="vtu")
    return path


class _SeriesWriter(meshio.xdmf.TimeSeriesWriter):
    """meshio's XDMF time-series writer with its HDF5 file beside the XDMF file.

    (meshio 5.3 opens ``<stem>.h5`` in the working directory while the XDMF file refers to it as a path
    relative to itself, so a series written elsewhere than the working directory would not open.)
    """

    def __enter__(self) -> _SeriesWriter:
        import h5py  # noqa: PLC0415 (as in meshio: only needed for HDF5 output)

        self.h5_filename = str(self.filename.with_suffix(".h5"))
        self.h5_file = h5py.File(self.h5_filename, "w")
        return self


def write_series(path: Path, piece: Piece, frames: Iterable[tuple[float, dict[str, np.ndarray]]]) -> Path:
    """An XDMF time series (heavy data in ``path.with_suffix('.h5')``): one grid, data per time."""
    with _SeriesWriter(path) as writer:
        writer.write_points_cells(piece.points(), piece.cells())
        for t, data in frames:
            writer.write_data(float(t), point_data=data)
    return path


def export_solution(problem: Problem, predict: Predict, out_dir: str | Path, dtype: torch.dtype = torch.float32,
                    device: torch.device | str = "cpu", settings: ExportSettings | None = None) -> Path:
    """Evaluate ``predict`` (and the exact/reference solution) on the export layout; returns the manifest."""
    settings = settings or ExportSettings()
    device = torch.device(device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bounds = problem.bounds() or _bounding_box(problem, dtype, device)
    known = truth(problem, dtype, device)
    tvar = problem.time_variable if problem.time_variable in problem.variables else None
    time_index = problem.variables.index(tvar) if tvar is not None else None
    pieces = layout(problem.variables, tvar, bounds, settings.resolution, settings.time_steps, settings.slices,
                    known.lines)
    need = max(int(np.prod(piece.shape)) for piece in pieces) * problem.dim * 8
    if need > MAX_INPUT_BYTES:
        raise ExportTooLarge("callbacks.outputs.resolution",
                             f"the export grid would need {need / 2**30:.1f} GiB of input points at d = "
                             f"{problem.dim}; lower the resolution (e.g. sciml-export RUN_DIR --resolution 33)")
    datasets = []
    for piece in pieces:
        entry = {"name": piece.name, "axes": [problem.variables[a] for a in piece.axes],
                 "fixed": {problem.variables[i]: v for i, v in piece.fixed.items()}, "shape": list(piece.shape),
                 "cell_type": piece.cells()[0][0]}
        if piece.times is None or time_index in piece.axes:
            data = point_data(problem, predict, known, piece.inputs(problem.dim), dtype, device)
            write_vtu(out / f"{piece.name}.vtu", piece, data)
            entry.update(kind="grid", file=f"{piece.name}.vtu", fields=list(data))
        else:
            fields: list[str] = []

            def frames(piece: Piece = piece, fields: list[str] = fields) -> Iterator[tuple[float, dict]]:
                """One time step at a time, so that a long series never sits in memory whole."""
                for t in piece.times:
                    data = point_data(problem, predict, known, piece.inputs(problem.dim, time_index, t), dtype,
                                      device)
                    fields[:] = list(data)
                    yield float(t), data

            write_series(out / f"{piece.name}.xdmf", piece, frames())
            entry.update(kind="series", file=f"{piece.name}.xdmf", data_file=f"{piece.name}.h5",
                         time_variable=tvar, times=[float(t) for t in piece.times], fields=fields)
        datasets.append(entry)
    manifest = {"problem": problem.name, "variables": list(problem.variables), "outputs": list(problem.outputs),
                "primary": primary(datasets[0]["fields"], list(problem.outputs)), "time_variable": tvar,
                "truth": known.source, "datasets": datasets}
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _bounding_box(problem: Problem, dtype: torch.dtype, device: torch.device) -> list[tuple[float, float]]:
    x = problem.test_points(4096, torch.Generator(device).manual_seed(0), dtype, device)
    lo, hi = x.min(0).values.tolist(), x.max(0).values.tolist()
    return list(zip(lo, hi))


def read_manifest(fields_dir: str | Path) -> dict:
    return json.loads((Path(fields_dir) / MANIFEST).read_text())
