"""Reference solutions on a space-time grid, loaded from the ``.mat`` files of Raissi et al. (2019).

The files (MIT licence, from the PINNs repository of M. Raissi) ship with the repository in
``data/raissi`` (see ``data/README.md``); setting ``SCIML_DATA`` reads ``$SCIML_DATA/raissi`` instead. Each
holds a spatial axis, a time axis and the solution on their tensor grid:

=====================  ==========================  ==========================  ===============================
file                   x                           t                           u
=====================  ==========================  ==========================  ===============================
``NLS.mat``            ``x`` (1×256)               ``tt`` (1×201)              ``uu`` (256×201, complex)
``burgers_shock.mat``  ``x`` (256×1)               ``t`` (100×1)               ``usol`` (256×100)
``AC.mat``             ``x`` (1×512)               ``tt`` (1×201)              ``uu`` (512×201)
=====================  ==========================  ==========================  ===============================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.problem import Reference

#: the repository's own data folder, read unless ``SCIML_DATA`` names another one
DATA = Path(__file__).resolve().parents[1] / "data"

#: file name -> (x key, t key, u key)
KEYS = {
    "NLS.mat": ("x", "tt", "uu"),
    "burgers_shock.mat": ("x", "t", "usol"),
    "AC.mat": ("x", "tt", "uu"),
}


def data_dir() -> Path:
    """``$SCIML_DATA/raissi`` when ``SCIML_DATA`` is set, else ``data/raissi`` in the repository."""
    return Path(os.environ.get("SCIML_DATA") or DATA) / "raissi"


@dataclass
class GridData:
    """A solution ``u[i, j] = u(x_i, t_j)`` on the grid ``x × t`` (NumPy arrays, float64 or complex128)."""

    x: np.ndarray
    t: np.ndarray
    u: np.ndarray

    def points(self, dtype: torch.dtype, device: torch.device | str) -> Tensor:
        """The grid as ``(len(x) * len(t), 2)`` points ``(x, t)``, ``x`` varying slowest."""
        xx, tt = np.meshgrid(self.x, self.t, indexing="ij")
        pts = np.stack([xx.reshape(-1), tt.reshape(-1)], axis=1)
        return torch.as_tensor(pts, dtype=dtype, device=device)

    def values(self, dtype: torch.dtype, device: torch.device | str) -> Tensor:
        """``u`` at :meth:`points` as ``(n, 1)`` (real) or ``(n, 2)`` (real and imaginary parts)."""
        flat = self.u.reshape(-1)
        cols = [flat.real, flat.imag] if np.iscomplexobj(flat) else [flat]
        return torch.as_tensor(np.stack(cols, axis=1), dtype=dtype, device=device)

    def interpolate(self, x: Tensor) -> Tensor:
        """Bilinear interpolation of :meth:`values` at points ``(x, t)`` (exact at the grid nodes)."""
        xs = torch.as_tensor(self.x, dtype=x.dtype, device=x.device)
        ts = torch.as_tensor(self.t, dtype=x.dtype, device=x.device)
        table = self.values(x.dtype, x.device).reshape(len(xs), len(ts), -1)
        i, wx = _bracket(xs, x[:, 0])
        j, wt = _bracket(ts, x[:, 1])
        wx, wt = wx.unsqueeze(1), wt.unsqueeze(1)
        return ((1 - wx) * (1 - wt) * table[i, j] + wx * (1 - wt) * table[i + 1, j]
                + (1 - wx) * wt * table[i, j + 1] + wx * wt * table[i + 1, j + 1])


def _bracket(axis: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """Left index and linear weight of each query on a sorted axis (clamped to the axis' range)."""
    i = (torch.searchsorted(axis, q.contiguous(), right=True) - 1).clamp(0, len(axis) - 2)
    w = ((q - axis[i]) / (axis[i + 1] - axis[i])).clamp(0.0, 1.0)
    return i, w


def load(name: str) -> GridData:
    """Load one of :data:`KEYS` from :func:`data_dir`, failing with a clear message when missing."""
    if name not in KEYS:
        raise ConfigError("reference", f"unknown data set {name!r}; options: {', '.join(KEYS)}")
    path = data_dir() / name
    if not path.is_file():
        raise ConfigError("reference", f"reference data {path} not found; set SCIML_DATA to the folder that "
                                       f"holds raissi/{name}")
    from scipy.io import loadmat  # noqa: PLC0415 (only when reference data are used)

    raw = loadmat(str(path))
    kx, kt, ku = KEYS[name]
    u = np.asarray(raw[ku])
    return GridData(np.asarray(raw[kx], dtype=np.float64).reshape(-1),
                    np.asarray(raw[kt], dtype=np.float64).reshape(-1),
                    u if np.iscomplexobj(u) else u.astype(np.float64))


class OnReferenceGrid:
    """Mixin for problems scored on a reference data set: ``data_file`` names one of :data:`KEYS`.

    :meth:`reference` returns the data grid itself; :meth:`exact` interpolates the data bilinearly (exact
    at the nodes), which serves plots and spot checks between nodes.
    """

    data_file: str
    has_reference = True

    def grid(self) -> GridData:
        if getattr(self, "_grid", None) is None:
            self._grid = load(self.data_file)
        return self._grid

    def exact(self, x: Tensor) -> Tensor:
        return self.grid().interpolate(x)

    def reference(self, generator: torch.Generator, dtype: torch.dtype, device: torch.device,
                  resolution: int = 100, num_points: int = 20_000) -> Reference:
        g = self.grid()
        return Reference(g.points(dtype, device), self.score_values(g.values(dtype, device)), (len(g.x), len(g.t)))
