"""Comparison figures: error and loss curves on one axis, term weights over time, gradient histograms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sciml.compare.runs import Run
from sciml.diagnostics.grad_hist import FILE, load
from sciml.io.plots import pyplot


def save_grid(fig, axes, used: int, path: Path, dpi: int) -> Path:
    """Blank the unused panels of a grid of axes, save the figure to ``path`` and close it."""
    for ax in list(axes.flat)[used:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def curves(runs: list[Run], path: Path) -> Path:
    """Relative L2 error and total loss against the step, every run on the same axes."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5 + 0.3 * len(runs)))
    for r in runs:
        err = [(m["step"], m["rel_l2"]) for m in r.metrics if "rel_l2" in m]
        loss = [(m["step"], m["loss"]) for m in r.metrics if "loss" in m]
        if err:
            axes[0].plot(*zip(*err), label=r.label)
        if loss:
            axes[1].plot(*zip(*loss), label=r.label)
    for ax, title in zip(axes, ("relative L2 error", "weighted loss")):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels() if any("rel_l2" in m for r in runs for m in r.metrics) \
        else axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=1 if len(runs) > 8 else 2, fontsize=7)
    fig.tight_layout(rect=(0, 0.06 * math.ceil(len(runs) / 2) if len(runs) <= 8 else 0.03 * len(runs), 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def weights(runs: list[Run], path: Path) -> Path:
    """Each run's term weights over time, one panel per run."""
    plt = pyplot()
    cols = min(3, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, r in zip(axes.flat, runs):
        keys = sorted({k for m in r.metrics for k in m if k.startswith("weight/")})
        for k in keys:
            pts = [(m["step"], m[k]) for m in r.metrics if k in m]
            ax.plot(*zip(*pts), label=k.split("/", 1)[1])
        values = [m[k] for m in r.metrics for k in keys if k in m]
        if values and min(values) > 0:
            ax.set_yscale("log")
        ax.set_title(r.label, fontsize=8)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    return save_grid(fig, axes, len(runs), path, dpi=120)


def gradient_histograms(run: Run, path: Path, steps: list[int] | None = None) -> Path | None:
    """Wang et al. Fig. 3: per layer (columns) and recorded step (rows), a histogram of each term's gradient.

    Gradients are shown weighted (``w_i ∇_W L_i``, the weights in force at that step), so the picture is
    what the optimizer sees.
    """
    file = run.directory / FILE
    if not file.is_file():
        return None
    recorded, terms, layers, arrays = load(file)
    chosen = [s for s in recorded if steps is None or s in steps]
    if not chosen:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(len(chosen), len(layers), figsize=(3.2 * len(layers), 2.6 * len(chosen)),
                             squeeze=False)
    for i, step in enumerate(chosen):
        w = arrays[f"s{step}__weights"]
        for j, layer in enumerate(layers):
            ax = axes[i, j]
            values = {t: w[k] * arrays[f"s{step}__{t}__{layer}"] for k, t in enumerate(terms)}
            top = max(float(np.abs(v).max()) for v in values.values()) or 1.0
            bins = np.linspace(-top, top, 81)
            for t, v in values.items():
                ax.hist(v, bins=bins, histtype="step", density=True, log=True, label=t)
            ax.set_title(f"step {step}: {layer}", fontsize=8)
            ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(run.label, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
