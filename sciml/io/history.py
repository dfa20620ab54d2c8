"""matplotlib plots of a run's ``metrics.jsonl``: losses, errors, learning rate and balancer weights.

Each figure has two panels sharing the series: against optimizer steps and against wall-clock seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from sciml.io.plots import pyplot

X_AXES = (("step", "step"), ("wall_s", "wall time [s]"))


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The rows of ``run_dir/metrics.jsonl`` (empty when the file is missing)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _series(rows: list[dict], key: str, x: str) -> tuple[list[float], list[float]]:
    pairs = [(r[x], r[key]) for r in rows if key in r and x in r and r[key] is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _keys(rows: list[dict], prefix: str) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k.startswith(prefix):
                seen.setdefault(k)
    return list(seen)


def _figure(rows: list[dict], keys: list[str], ylabel: str, title: str, log: bool):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (x, xlabel) in zip(axes, X_AXES):
        for key in keys:
            xs, ys = _series(rows, key, x)
            ax.plot(xs, ys, label=key, marker="." if len(xs) < 30 else None)
        if log and all(v > 0 for k in keys for v in _series(rows, k, x)[1]):
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def history_figures(rows: list[dict]) -> dict:
    """``{"losses", "errors", "lr", "weights", "unknowns"}`` figures (those with data) from metric rows."""
    figures = {}
    losses = [k for k in ["loss", *_keys(rows, "loss/")] if any(k in r for r in rows)]
    if losses:
        figures["losses"] = _figure(rows, losses, "loss", "total and per-term losses", log=True)
    errors = [k for k in ("rel_l2", "max_abs") if any(k in r for r in rows)]
    if errors:
        figures["errors"] = _figure(rows, errors, "error", "error against the exact / reference solution",
                                    log=True)
    if any("lr" in r for r in rows):
        figures["lr"] = _figure(rows, ["lr"], "learning rate", "learning rate", log=True)
    weights = _keys(rows, "weight/")
    if weights:
        figures["weights"] = _figure(rows, weights, "weight", "balancer weights", log=False)
    unknowns = _keys(rows, "unknown/")
    if unknowns:
        figures["unknowns"] = _figure(rows, unknowns, "value", "unknown coefficients", log=False)
    return figures


def plot_history(rows: list[dict], out_dir: str | Path) -> dict[str, Path]:
    """Save :func:`history_figures` as ``out_dir/<name>.png``; returns the paths."""
    plt = pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, fig in history_figures(rows).items():
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=90)
        plt.close(fig)
    return paths
