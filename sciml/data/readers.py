"""Readers of the files users bring: the columns they name, as float64 NumPy arrays.

The format follows the suffix:

- ``.csv``: comma-separated, with a header row of column names or none (then columns are integers);
- ``.txt`` / ``.dat``: whitespace-separated text tables as COMSOL exports them: lines starting with ``%`` (or
  ``#``) are comments and the last comment line before the data names the columns when it has one name per
  column (``% X  Y  u (1) @ t=0.5``: names are separated by two or more spaces, or single spaces when that
  gives the right count); a first non-numeric line is a header too;
- ``.npz`` / ``.mat``: named arrays. A 1-D array (or a ``(n, 1)`` / ``(1, n)`` one) is one column, an
  ``(n, c)`` array ``c`` columns ``name[j]``, a complex array its real and imaginary parts
  (``name.real``, ``name.imag``). Integer columns index the file's only array. Grid layout (Raissi et al.):
  when every input is a 1-D axis and every output an array of shape ``(len(axis_1), ..., len(axis_d))``,
  the points are the tensor product of the axes (the first varying slowest) and the outputs are flattened
  (without outputs, axes of different lengths are a grid);
- ``.vtu`` / ``.vtk`` / ``.xdmf`` (meshio): ``x``, ``y``, ``z`` (or integers) are the point coordinates,
  other names the ``point_data`` arrays.

Names match exactly, else case-insensitively when that is unambiguous (``x`` finds COMSOL's ``X``); integer
columns (or strings of digits that are no column's name) are always accepted.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sciml.errors import ConfigError

if TYPE_CHECKING:
    import meshio

Column = str | int

#: suffix -> kind of reader
FORMATS = {".csv": "csv", ".txt": "text", ".dat": "text", ".npz": "npz", ".mat": "mat",
           ".vtu": "mesh", ".vtk": "mesh", ".xdmf": "mesh"}
COORDINATES = ("x", "y", "z")
_COMMENT = ("%", "#")


@dataclass
class Columns:
    """Selected columns: inputs ``x`` ``(n, d)`` and outputs ``u`` ``(n, k)`` (float64), with their names."""

    x: np.ndarray
    u: np.ndarray
    input_names: list[str]
    output_names: list[str]


class Table:
    """A data file opened for column selection (:func:`open_table`)."""

    path: Path
    #: whether the file names its columns (a text table without a header does not)
    named: bool = True
    #: the mesh of a mesh file (``None`` for other formats)
    mesh: meshio.Mesh | None = None

    def available(self) -> str:
        """The selectable columns, for error messages."""
        raise NotImplementedError

    def raw(self, key: Column, role: str) -> tuple[str, np.ndarray]:
        """The array that ``key`` names (a column or a whole named array) and the name it is reported by."""
        raise NotImplementedError

    def select(self, inputs: list[Column], outputs: list[Column]) -> Columns:
        """The named inputs and outputs as point rows (every array split into columns, lengths checked)."""
        x_cols = [c for key in inputs for c in split_columns(*self.raw(key, "inputs"), "inputs")]
        u_cols = [c for key in outputs for c in split_columns(*self.raw(key, "outputs"), "outputs")]
        lengths = {name: len(col) for name, col in x_cols + u_cols}
        if len(set(lengths.values())) > 1:
            found = ", ".join(f"{name}: {n}" for name, n in lengths.items())
            raise ConfigError("inputs", f"{self.path}: the columns have different lengths ({found})")
        return _stack(x_cols, u_cols)


def _stack(x_cols: list[tuple[str, np.ndarray]], u_cols: list[tuple[str, np.ndarray]]) -> Columns:
    n = len((x_cols + u_cols)[0][1]) if x_cols + u_cols else 0
    x = np.stack([c for _, c in x_cols], axis=1) if x_cols else np.zeros((n, 0))
    u = np.stack([c for _, c in u_cols], axis=1) if u_cols else np.zeros((n, 0))
    return Columns(x.astype(np.float64), u.astype(np.float64), [k for k, _ in x_cols], [k for k, _ in u_cols])


def split_columns(name: str, array: np.ndarray, role: str) -> list[tuple[str, np.ndarray]]:
    """One 1-D column per component: vectors as they are, ``(n, c)`` arrays by column, complex ones split
    (``role``, ``inputs`` or ``outputs``, is the key of the error for an array of more dimensions)."""
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if np.iscomplexobj(array):
        return [c for part, values in (("real", array.real), ("imag", array.imag))
                for c in split_columns(f"{name}.{part}", values, role)]
    if array.ndim == 1:
        return [(name, array)]
    if array.ndim == 2:
        return [(f"{name}[{j}]", array[:, j]) for j in range(array.shape[1])]
    raise ConfigError(role, f"array {name!r} has shape {array.shape}; columns need 1-D or 2-D arrays")


def _match(key: str, names: list[str]) -> int | None:
    """Index of ``key`` in ``names``: exact, else the one case-insensitive match."""
    if key in names:
        return names.index(key)
    folded = [i for i, name in enumerate(names) if name.casefold() == key.casefold()]
    return folded[0] if len(folded) == 1 else None


def _as_index(key: Column) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    return int(key) if isinstance(key, str) and key.isdigit() else None


class TextTable(Table):
    """A numeric matrix ``(n, m)`` with optional column names (CSV or COMSOL-style text)."""

    def __init__(self, path: Path, values: np.ndarray, names: list[str] | None) -> None:
        self.path, self.values, self.names = path, values, names
        self.named = names is not None

    def available(self) -> str:
        m = self.values.shape[1]
        if self.names is None:
            return f"integer columns 0..{m - 1} (the file has no header)"
        return ", ".join(self.names)

    def raw(self, key: Column, role: str) -> tuple[str, np.ndarray]:
        m = self.values.shape[1]
        index = _match(key, self.names) if isinstance(key, str) and self.names else None
        name = key if isinstance(key, str) else None
        if index is None:
            index = _as_index(key)
            if index is None or not 0 <= index < m:
                raise ConfigError(role, f"{self.path}: no column {key!r}; columns: {self.available()}")
            name = self.names[index] if self.names else str(index)
        return str(name), self.values[:, index]


class ArrayTable(Table):
    """Named arrays (``.npz``, ``.mat``, a mesh's coordinates and point data); ``by_index`` is what integer
    columns index (the file's only array, or a mesh's points)."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray], by_index: tuple[list[str], np.ndarray] | None,
                 mesh: meshio.Mesh | None = None) -> None:
        self.path, self.arrays, self.by_index, self.mesh = path, arrays, by_index, mesh

    def available(self) -> str:
        return ", ".join(self.arrays) or "none"

    def raw(self, key: Column, role: str) -> tuple[str, np.ndarray]:
        names = list(self.arrays)
        index = _match(key, names) if isinstance(key, str) else None
        if index is not None:
            return str(key), self.arrays[names[index]]
        position = _as_index(key)
        if position is not None and self.by_index is not None:
            columns, matrix = self.by_index
            if 0 <= position < len(columns):
                return columns[position], matrix[:, position]
        raise ConfigError(role, f"{self.path}: no array {key!r}; arrays: {self.available()}")

    def select(self, inputs: list[Column], outputs: list[Column]) -> Columns:
        """Grid layout when the inputs are axes and the outputs arrays over their tensor grid (without outputs:
        when the axes differ in length), else rows."""
        if len(inputs) >= 2:
            axes = [self.raw(key, "inputs") for key in inputs]
            values = [self.raw(key, "outputs") for key in outputs]
            vectors = [a.reshape(-1) if a.ndim == 1 or (a.ndim == 2 and 1 in a.shape) else None for _, a in axes]
            shape = tuple(len(v) for v in vectors if v is not None)
            grid = all(a.shape == shape for _, a in values) if values else len(set(shape)) > 1
            if len(shape) == len(axes) and grid:
                mesh = np.meshgrid(*vectors, indexing="ij")
                x_cols = [(name, m.reshape(-1)) for (name, _), m in zip(axes, mesh)]
                u_cols = [c for name, a in values for c in split_columns(name, a.reshape(-1), "outputs")]
                return _stack(x_cols, u_cols)
        return super().select(inputs, outputs)


def open_table(path: str | Path) -> Table:
    """Read ``path`` (format by suffix) for :meth:`Table.select`; a missing or unreadable file is a
    :class:`ConfigError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("path", f"{path}: no such file")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError("path", f"{path}: unknown format {path.suffix!r}; formats: {', '.join(FORMATS)}")
    try:
        if kind == "csv":
            return _read_csv(path)
        if kind == "text":
            return _read_text(path)
        if kind == "npz":
            with np.load(path, allow_pickle=False) as archive:
                return _arrays(path, {k: archive[k] for k in archive.files})
        if kind == "mat":
            import scipy.io  # noqa: PLC0415 (only for .mat files)

            content = scipy.io.loadmat(path)
            return _arrays(path, {k: v for k, v in content.items() if not k.startswith("__")})
        return _read_mesh(path)
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 (any reader failure is a bad file, reported in one line)
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError("path", f"{path}: cannot be read as {kind}: {detail}") from None


def _arrays(path: Path, content: dict[str, np.ndarray]) -> ArrayTable:
    arrays = {k: np.asarray(v) for k, v in content.items()
              if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.number)}
    if len(arrays) != 1:
        return ArrayTable(path, arrays, None)
    (name, only), = arrays.items()
    matrix = only.reshape(-1, 1) if only.ndim == 1 or (only.ndim == 2 and 1 in only.shape) else only
    columns = [name] if matrix.shape[1:] == (1,) else [f"{name}[{j}]" for j in range(matrix.shape[1])]
    return ArrayTable(path, arrays, (columns, matrix) if matrix.ndim == 2 else None)


def _read_mesh(path: Path) -> ArrayTable:
    import meshio  # noqa: PLC0415 (only for mesh files)

    mesh = meshio.read(path)
    points = np.asarray(mesh.points, dtype=np.float64)
    arrays = {name: points[:, j] for j, name in enumerate(COORDINATES[:points.shape[1]])}
    arrays.update({k: np.asarray(v) for k, v in mesh.point_data.items() if k not in arrays})
    return ArrayTable(path, arrays, (list(COORDINATES[:points.shape[1]]), points), mesh)


def _numbers(fields: list[str]) -> list[float] | None:
    """The fields as floats (empty ones as NaN), or ``None`` when one is not a number."""
    try:
        return [float(f) if f.strip() else float("nan") for f in fields]
    except ValueError:
        return None


def _matrix(path: Path, rows: list[tuple[int, list[float]]]) -> np.ndarray:
    if not rows:
        raise ConfigError("path", f"{path}: no data rows")
    width = len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise ConfigError("path", f"{path}: line {line} has {len(row)} values, the first data row {width}")
    return np.array([row for _, row in rows], dtype=np.float64).reshape(len(rows), width)


def _read_csv(path: Path) -> TextTable:
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = [(i, [c.strip() for c in row]) for i, row in enumerate(csv.reader(f), start=1) if row]
    if not lines:
        raise ConfigError("path", f"{path}: no data rows")
    names = None
    if _numbers(lines[0][1]) is None:
        names, lines = lines[0][1], lines[1:]
    rows = []
    for line, fields in lines:
        values = _numbers(fields)
        if values is None:
            raise ConfigError("path", f"{path}: line {line} holds a value that is not a number")
        rows.append((line, values))
    values = _matrix(path, rows)
    if names is not None and len(names) != values.shape[1]:
        raise ConfigError("path", f"{path}: the header has {len(names)} names, the rows {values.shape[1]} values")
    return TextTable(path, values, names)


def _header_names(line: str, width: int) -> list[str] | None:
    """Column names from a header line when it has one per column (names apart by 2+ spaces, or by 1)."""
    text = line.lstrip("%#").strip()
    for pattern in (r"\s{2,}|\t", r"\s+"):
        names = [n.strip() for n in re.split(pattern, text) if n.strip()]
        if len(names) == width:
            return names
    return None


def _read_text(path: Path) -> TextTable:
    header = None
    rows: list[tuple[int, list[float]]] = []
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(_COMMENT):
            if not rows:
                header = stripped
            continue
        values = _numbers(re.split(r"[,;\s]+", stripped.strip(",;")))
        if values is None:
            if rows:
                raise ConfigError("path", f"{path}: line {i} holds a value that is not a number")
            header = stripped
            continue
        rows.append((i, values))
    values = _matrix(path, rows)
    names = _header_names(header, values.shape[1]) if header is not None else None
    return TextTable(path, values, names)
