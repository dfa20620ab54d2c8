"""The leaderboard figure: per case, each method's mean error with its spread, against the published values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from sciml.bench.suites import Suite
from sciml.compare.figures import save_grid
from sciml.io.plots import pyplot

if TYPE_CHECKING:
    from sciml.bench.leaderboard import Cell


def bars(suite: Suite, cells: dict[str, dict[str, Cell]], path: Path) -> Path:
    """One panel per case with runs: a bar per method (mean, ± std), a dashed line at the published PINN value
    and a solid one at the published best (log scale)."""
    plt = pyplot()
    cases = list(cells)
    cols = min(3, len(cases))
    rows = math.ceil(len(cases) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.4 * rows), squeeze=False)
    for ax, case in zip(axes.flat, cases):
        shown = {m: c for m, c in cells[case].items() if c.values}
        ax.bar(range(len(shown)), [c.mean for c in shown.values()], yerr=[c.std for c in shown.values()],
               capsize=3, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(shown)), list(shown), rotation=45, ha="right", fontsize=7)
        pub = suite.cases[case].published
        if pub.pinn is not None:
            ax.axhline(pub.pinn, color="grey", ls="--", label=f"published PINN {pub.pinn:.3g}")
        if pub.best is not None:
            ax.axhline(pub.best, color="tab:red", label=f"published best {pub.best:.3g} ({pub.best_method or '?'})")
        ax.set_yscale("log")
        ax.set_title(suite.cases[case].label, fontsize=9)
        ax.set_ylabel(suite.metric, fontsize=8)
        ax.grid(True, which="both", axis="y", alpha=0.3)
        if pub.pinn is not None or pub.best is not None:
            ax.legend(fontsize=6)
    return save_grid(fig, axes, len(cases), path, dpi=110)
