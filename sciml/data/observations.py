"""Observations of a solution, read from a user's file, and the loss term that fits a network to them.

:func:`load_observations` reads the named input and output columns (formats: :mod:`sciml.data.readers`),
drops rows with missing values, keeps a random subset and adds noise on request; :func:`observation_term`
turns the result into a :class:`~sciml.problem.Term` whose residual is the misfit of the named outputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sciml.data.readers import Column, open_table
from sciml.errors import ConfigError, non_negative_number, positive_int, require
from sciml.fields import Field
from sciml.geometry import FixedPoints
from sciml.problem import Term

NAN_POLICIES = ("drop", "refuse")


@dataclass
class Observations:
    """Observed outputs ``u`` ``(n, k)`` at inputs ``x`` ``(n, d)`` (float64), as read from ``source``.

    ``dropped`` counts the rows left out because one of the chosen columns was NaN or infinite.
    """

    x: Tensor
    u: Tensor
    input_names: list[str]
    output_names: list[str]
    source: Path
    dropped: int = 0

    def __len__(self) -> int:
        return self.x.shape[0]


def _columns(value: Column | Sequence[Column], key: str) -> list[Column]:
    columns = [value] if isinstance(value, (str, int)) else list(value)
    require(len(columns) > 0, key, "name at least one column")
    for c in columns:
        require(isinstance(c, (str, int)) and not isinstance(c, bool), key,
                f"columns are names or integer indices, got {c!r}")
    return columns


def load_observations(path: str | Path, inputs: Column | Sequence[Column], outputs: Column | Sequence[Column], *,
                      subset: int | None = None, noise: float = 0.0, seed: int = 0, nan: str = "drop",
                      expected_dim: int | None = None) -> Observations:
    """Read observations from ``path`` (``.csv``, ``.txt``/``.dat``, ``.npz``, ``.mat``, ``.vtu``/``.vtk``/``.xdmf``).

    Args:
        inputs / outputs: column names (or integer indices) of the points and of the observed values; an
            array with several columns contributes all of them.
        subset: keep this many rows, drawn at random without replacement (file order kept).
        noise: add Gaussian noise of standard deviation ``noise × std(u)``, per output column, the std taken
            over the kept rows (the convention of Raissi et al. 2019: ``noise=0.01`` is 1 % noise).
        seed: seed of the subset and noise draws (a ``torch.Generator``), so a data set is reproducible.
        nan: ``"drop"`` rows with a NaN (or infinite value) in a chosen column, with a warning giving the
            count, or ``"refuse"`` the file.
        expected_dim: the number of input columns the problem needs (checked when given).

    Every mistake (missing file, unknown format or column, a mismatch in dimension, no rows left, a subset
    larger than the data) is a :class:`~sciml.errors.ConfigError` naming the file.
    """
    path = Path(path)
    inputs, outputs = _columns(inputs, "inputs"), _columns(outputs, "outputs")
    require(nan in NAN_POLICIES, "nan", f"must be one of {', '.join(NAN_POLICIES)}, got {nan!r}")
    noise = non_negative_number(noise, "noise")
    require(isinstance(seed, int) and not isinstance(seed, bool), "seed", f"must be an integer, got {seed!r}")
    subset = None if subset is None else positive_int(subset, "subset")
    expected_dim = None if expected_dim is None else positive_int(expected_dim, "expected_dim")
    columns = open_table(path).select(inputs, outputs)
    if expected_dim is not None and columns.x.shape[1] != expected_dim:
        raise ConfigError("inputs", f"{path}: {columns.x.shape[1]} input columns {columns.input_names}, but the "
                                    f"problem has {expected_dim} inputs")
    bad = ~(np.isfinite(columns.x).all(axis=1) & np.isfinite(columns.u).all(axis=1))
    dropped = int(bad.sum())
    if dropped and nan == "refuse":
        raise ConfigError("nan", f"{path}: {dropped} rows with NaN or infinite values (nan=drop leaves them out)")
    if dropped:
        warnings.warn(f"{path}: dropped {dropped} of {len(bad)} rows with NaN or infinite values", stacklevel=2)
    x = torch.as_tensor(columns.x[~bad], dtype=torch.float64)
    u = torch.as_tensor(columns.u[~bad], dtype=torch.float64)
    if x.shape[0] == 0:
        raise ConfigError("path", f"{path}: no rows left (of {len(bad)}) after dropping missing values")
    generator = torch.Generator().manual_seed(seed)
    if subset is not None:
        if subset > x.shape[0]:
            raise ConfigError("subset", f"{path}: subset={subset} is more than the {x.shape[0]} rows of the data")
        keep = torch.randperm(x.shape[0], generator=generator)[:subset].sort().values
        x, u = x[keep], u[keep]
    if noise:
        scale = u.std(dim=0, correction=0) if u.shape[0] > 1 else torch.zeros(u.shape[1], dtype=u.dtype)
        u = u + noise * scale * torch.randn(u.shape, generator=generator, dtype=u.dtype)
    return Observations(x, u, columns.input_names, columns.output_names, path, dropped)


class RowBatches:
    """``n`` random rows (without replacement) of fixed points and their per-point data at every draw."""

    def __init__(self, x: Tensor, data: dict[str, Tensor]) -> None:
        self.x, self.data = x, data
        self.dim = x.shape[1]

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> tuple[Tensor, dict[str, Tensor]]:
        device = generator.device
        rows = torch.randperm(self.x.shape[0], generator=generator, device=device)[:n].cpu()
        return (self.x[rows].to(device=device, dtype=dtype),
                {k: v[rows].to(device=device, dtype=dtype) for k, v in self.data.items()})


def observation_term(obs: Observations, outputs: Sequence[str], weight: float = 1.0,
                     batch_size: int | None = None) -> Term:
    """A loss term fitting the network's ``outputs`` (names of the problem's outputs, one per column of
    ``obs.u``, in order) to the observations: its residual is ``u[o].value − observed`` stacked over the
    outputs, so its loss is the mean square misfit over points and outputs.

    ``batch_size=None`` uses every observation at every step; a number draws that many random rows per step.
    """
    outputs = list(outputs)
    require(len(outputs) == obs.u.shape[1], "outputs",
            f"{obs.source}: {obs.u.shape[1]} observed columns {obs.output_names} need as many output names, "
            f"got {outputs}")
    data = {"obs": obs.u}
    if batch_size is None:
        sampler: FixedPoints | RowBatches = FixedPoints(obs.x, data=data)
        size = len(obs)
    else:
        size = positive_int(batch_size, "batch_size")
        require(size <= len(obs), "batch_size", f"{obs.source}: {size} is more than the {len(obs)} observations")
        sampler = RowBatches(obs.x, data)

    def misfit(u: Field) -> Tensor:
        observed = u.data["obs"]
        return torch.stack([u[name].value - observed[:, j] for j, name in enumerate(outputs)], dim=1)

    return Term(sampler, misfit, size, float(weight))
