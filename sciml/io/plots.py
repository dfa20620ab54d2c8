"""matplotlib figures of a solution: prediction, exact and error (1-D lines, 2-D maps, slices for d > 2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


def pyplot():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def slice_grid(problem, resolution: int, dtype: torch.dtype, device: torch.device,
               axes: tuple[int, int] = (0, 1)) -> tuple[Tensor, list[np.ndarray]]:
    """Points of a 2-D grid over variables ``axes``; other variables sit at the box centre (or 0)."""
    bounds = problem.bounds() or [(-1.0, 1.0)] * problem.dim
    centre = torch.tensor([(lo + hi) / 2 for lo, hi in bounds], dtype=dtype, device=device)
    lines = [torch.linspace(*bounds[a], resolution, dtype=dtype, device=device) for a in axes]
    mesh = torch.meshgrid(*lines, indexing="ij")
    x = centre.repeat(resolution * resolution, 1)
    for a, m in zip(axes, mesh):
        x[:, a] = m.reshape(-1)
    return x, [m.cpu().numpy() for m in mesh]


def _exact(problem, x: Tensor) -> np.ndarray | None:
    exact = problem.exact(x)
    return None if exact is None else exact[:, 0].cpu().numpy()


def plot_solution(problem, predict: Callable[[Tensor], Tensor], path: Path, dtype: torch.dtype,
                  device: torch.device, resolution: int = 128) -> Path:
    """Prediction, exact solution and pointwise error of the first output (the prediction alone when
    the problem has no closed-form solution), saved to ``path``."""
    plt = pyplot()
    if problem.dim == 1:
        lo, hi = (problem.bounds() or [(-1.0, 1.0)])[0]
        x = torch.linspace(lo, hi, 512, dtype=dtype, device=device).unsqueeze(1)
        pred, exact, x = predict(x)[:, 0].cpu().numpy(), _exact(problem, x), x.cpu().numpy()
        fig, axes = plt.subplots(1, 1 if exact is None else 2, figsize=(9, 3.5), squeeze=False)
        a = axes[0, 0]
        if exact is not None:
            a.plot(x, exact, label="exact")
            axes[0, 1].semilogy(x, np.abs(pred - exact))
            axes[0, 1].set_title("|error|")
            axes[0, 1].set_xlabel(problem.variables[0])
        a.plot(x, pred, "--", label="prediction")
        a.legend()
        a.set_xlabel(problem.variables[0])
    else:
        x, (gx, gy) = slice_grid(problem, resolution, dtype, device)
        pred = predict(x)[:, 0].reshape(resolution, resolution).cpu().numpy()
        exact = _exact(problem, x)
        panels = [("prediction", pred, "viridis")]
        if exact is not None:
            exact = exact.reshape(resolution, resolution)
            panels += [("exact", exact, "viridis"), ("|error|", np.abs(pred - exact), "magma")]
        fig, axes = plt.subplots(1, len(panels), figsize=(4.7 * len(panels), 4), squeeze=False)
        axes = axes[0]
        for ax, (title, values, cmap) in zip(axes, panels):
            mesh = ax.pcolormesh(gx, gy, values, cmap=cmap, shading="auto")
            fig.colorbar(mesh, ax=ax)
            ax.set_title(title)
            ax.set_xlabel(problem.variables[0])
            ax.set_ylabel(problem.variables[1])
            steady_plane = problem.dim == 2 and problem.time_variable not in problem.variables
            ax.set_aspect("equal" if steady_plane else "auto")
        if problem.dim > 2:
            fig.suptitle(f"slice through the centre, varying {problem.variables[0]}, {problem.variables[1]}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
