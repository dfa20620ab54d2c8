"""Convert PINNacle's reference files (``ref/*.dat`` of i207M/PINNacle, MIT licence: ``LICENSE`` here) into the
compact float32 ``.npz`` files of this folder.

Run as ``python data/pinnacle/convert.py SOURCE_DIR`` where ``SOURCE_DIR`` holds the ``.dat`` files. PINNacle
itself casts its reference data to float32 on load, so float32 storage keeps everything the benchmark uses.

COMSOL exports (``%`` header lines, the last naming the columns) become

- ``nodes``: the spatial coordinates, ``(N, s)``;
- ``times``: the stored time levels, ``(T,)``, read from the ``@ t=...`` column names (absent for steady data);
- ``values``: ``(N, T, k)`` for time-dependent data (``k`` outputs interleaved per time level in the file), else
  ``(N, k)``.

Plain point files (no header) become ``points``, ``(N, columns)``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

#: source file -> (target file, spatial dimension, outputs per time level); ``None``: a plain point file
FILES: dict[str, tuple[str, int, int] | None] = {
    "burgers1d.dat": ("burgers1d.npz", 1, 1),
    "heat_longtime.dat": ("heat_longtime.npz", 2, 1),
    "lid_driven_a4.dat": ("lid_driven_a4.npz", 2, 3),
    "ns_0_obstacle.dat": ("ns_0_obstacle.npz", 2, 3),
    "poisson_boltzmann2d.dat": ("poisson_boltzmann2d.npz", 2, 1),
    "heatinv_points.dat": None,
}

_TIME = re.compile(r"@\s*t=([-+0-9.eE]+)")


def convert(path: Path, target: Path, space: int, outputs: int) -> None:
    """One COMSOL export: the header's time levels, the nodes and the values, in float32."""
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("%")]
    times = [float(t) for t in _TIME.findall(header[-1])]
    table = np.loadtxt(path, comments="%", dtype=np.float64)
    nodes, values = table[:, :space], table[:, space:]
    arrays = {"nodes": nodes.astype(np.float32)}
    if times:
        levels = times[::outputs]
        assert values.shape[1] == len(levels) * outputs, (path, values.shape, len(levels))
        arrays["times"] = np.asarray(levels, dtype=np.float32)
        arrays["values"] = values.reshape(len(nodes), len(levels), outputs).astype(np.float32)
    else:
        assert values.shape[1] == outputs, (path, values.shape)
        arrays["values"] = values.astype(np.float32)
    np.savez_compressed(target, **arrays)


def main(source: Path) -> None:
    here = Path(__file__).resolve().parent
    for name, spec in FILES.items():
        if spec is None:
            np.savez_compressed(here / name.replace(".dat", ".npz"),
                                points=np.loadtxt(source / name, dtype=np.float64).astype(np.float32))
        else:
            convert(source / name, here / spec[0], spec[1], spec[2])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
