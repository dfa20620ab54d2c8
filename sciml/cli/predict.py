"""``sciml-predict RUN_DIR --points FILE``: a run's solution at the points of a file.

The points are read like observations (:mod:`sciml.data.readers`: CSV, COMSOL-style text, NPZ, MAT, VTU,
VTK, XDMF); the inputs default to the problem's variable names, to the first columns of a text table without
a header, and to the point coordinates of a mesh. The values come from the run's own trainer
(:func:`sciml.predict.load_predictor`). ``--out`` (default ``RUN_DIR/predictions.<suffix of the points file,
or csv>``) is written by its suffix: CSV (input and output columns under a header), NPZ (one array per
name), or VTU / VTK / XDMF (the input mesh, cells included, with the outputs added as point data; points from
a table become vertices). User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from sciml.cli.build import resolve_device
from sciml.cli.export import guarded
from sciml.data.readers import COORDINATES, Column, Columns, Table, open_table
from sciml.errors import ConfigError
from sciml.predict import load_predictor

TABLES = (".csv", ".npz")
MESHES = (".vtu", ".vtk", ".xdmf")


def default_out(run_dir: Path, points: Path) -> Path:
    """``RUN_DIR/predictions.<suffix>``: the points file's format when it can be written, else CSV."""
    suffix = points.suffix.lower()
    return run_dir / f"predictions{suffix if suffix in TABLES + MESHES else '.csv'}"


def default_inputs(table: Table, variables: list[str]) -> list[Column]:
    """The problem's variable names; the first columns of a mesh's points or of a text table without a header."""
    if table.mesh is not None or not table.named:
        return list(range(len(variables)))
    return list(variables)


def write_predictions(out: Path, columns: Columns, values: dict[str, np.ndarray], table: Table) -> None:
    """Write the points and the predicted ``values`` to ``out`` in the format of its suffix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    inputs = {name: columns.x[:, j] for j, name in enumerate(columns.input_names)}
    if suffix == ".csv":
        with out.open("w", newline="") as f:
            csv.writer(f).writerow([*inputs, *values])
            np.savetxt(f, np.column_stack([*inputs.values(), *values.values()]), delimiter=",", fmt="%.17g")
        return
    if suffix == ".npz":
        np.savez(out, **{**inputs, **values})
        return
    import meshio  # noqa: PLC0415 (only for mesh output)

    if table.mesh is not None:
        mesh = table.mesh
        cells, cell_data, point_data = mesh.cells, mesh.cell_data, {**mesh.point_data, **values}
        points = mesh.points
    else:
        if columns.x.shape[1] > len(COORDINATES):
            raise ConfigError("--out", f"{out}: a mesh holds at most 3 coordinates and the points have "
                                       f"{columns.x.shape[1]}; write .csv or .npz")
        points = np.zeros((columns.x.shape[0], 3))
        points[:, :columns.x.shape[1]] = columns.x
        cells, cell_data = [("vertex", np.arange(len(points)).reshape(-1, 1))], {}
        point_data = dict(values)
    meshio.write(out, meshio.Mesh(points, cells, point_data=point_data, cell_data=cell_data))


def predict(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else default_out(args.run_dir, args.points)
    if out.suffix.lower() not in TABLES + MESHES:
        raise ConfigError("--out", f"{out}: unknown format {out.suffix!r}; formats: {', '.join(TABLES + MESHES)}")
    try:
        table = open_table(args.points)
    except ConfigError as error:
        raise ConfigError("--points", error.message) from None
    predictor = load_predictor(args.run_dir, args.checkpoint, str(resolve_device(args.device)))
    inputs = args.inputs.split(",") if args.inputs else default_inputs(table, predictor.variables)
    try:
        columns = table.select(inputs, [])
    except ConfigError as error:
        raise ConfigError("--inputs", error.message) from None
    dim = len(predictor.variables)
    if columns.x.shape[1] != dim:
        raise ConfigError("--inputs", f"{args.points}: {columns.x.shape[1]} input columns {columns.input_names}, "
                                      f"but the run's problem has {dim} inputs {predictor.variables}")
    if not np.isfinite(columns.x).all():
        raise ConfigError("--points", f"{args.points}: the input columns hold NaN or infinite values")
    values = predictor(columns.x)
    write_predictions(out, columns, values, table)
    print(f"predictions: {out} ({columns.x.shape[0]} points; {', '.join(values)})", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sciml-predict", description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("run_dir", type=Path, help="a sciml-train run directory (config.yaml, checkpoint.pt)")
    parser.add_argument("--points", type=Path, required=True, help="points file: csv, txt, dat, npz, mat, vtu, "
                                                                    "vtk or xdmf")
    parser.add_argument("--out", type=Path, default=None, help="output file: csv, npz, vtu, vtk or xdmf "
                                                               "(default: RUN_DIR/predictions.<suffix>)")
    parser.add_argument("--inputs", default=None, help="comma-separated input columns (names or indices), one "
                                                       "per problem variable")
    parser.add_argument("--checkpoint", default="checkpoint.pt", help="checkpoint file inside the run directory")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default: cpu)")
    args = parser.parse_args(argv)
    return guarded(lambda: predict(args))


if __name__ == "__main__":
    sys.exit(main())
