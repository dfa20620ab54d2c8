"""The leaderboard of a suite: per case, the published values beside this platform's mean ± std over seeds.

Reads every finished run under ``<out>/<case>/<method>/<seed>`` (``sciml.compare``'s reader) and writes
``leaderboard.md`` (one row per case: published PINN, published best and its method, this platform's PINN with
its wall time and steps, every method, the platform's best method and its ratio to the published best, and the
ratio of the one recipe for new problems, the method :data:`RECIPE`, to that best method),
``leaderboard.csv`` (one row per case and method, plain numbers), ``leaderboard.png`` and per case
``<case>/curves.png`` (every run's error and loss). As PINNacle reports (PINNACLE.md §1.5–1.6), a run's value
is the metric at its last step, a cell is the mean over seeds, and runs with a non-finite value are dropped;
the spread is the population standard deviation (``ddof = 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sciml.bench.figure import bars
from sciml.bench.suites import Suite
from sciml.compare import figures
from sciml.compare.runs import Run, find_runs
from sciml.compare.table import markdown, write_csv

CSV_COLUMNS = ["case", "label", "method", "seeds", "failed", "mean", "std", "wall_s_mean", "steps",
               "published_pinn", "published_best", "published_best_method", "ratio_to_published_best",
               "best_here", "ratio_to_best_here"]
#: the method that runs the one recipe for new problems (configs/recipe/new_problem.yaml): its gap to each case's
#: best method is the platform's measure of how well it serves a problem it has not been tuned on
RECIPE = "recipe"


def num(value: float | None, digits: int = 2) -> str:
    """``1.45e-02`` (PINNacle's tables print errors so); – for a missing or non-finite value."""
    return f"{value:.{digits}e}" if value is not None and math.isfinite(value) else "–"


@dataclass(frozen=True)
class Cell:
    """One (case, method): the finished seeds' final metric values, wall times and step counts."""

    values: list[float]
    failed: int
    wall_s: list[float]
    steps: list[int]

    @classmethod
    def of(cls, runs: list[Run], metric: str) -> Cell:
        values = [float(r.summary[metric]) for r in runs]
        finite = [v for v in values if math.isfinite(v)]
        return cls(finite, len(values) - len(finite), [float(r.summary.get("wall_s", math.nan)) for r in runs],
                   [int(r.summary.get("steps", 0)) for r in runs])

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float:
        return float(np.std(self.values)) if self.values else math.nan

    def text(self) -> str:
        failed = f", {self.failed} non-finite" if self.failed else ""
        return f"{num(self.mean)} ± {num(self.std, 1)} ({len(self.values)}{failed})" if self.values \
            else f"– (0{failed})"


def collect(suite: Suite, out: Path) -> dict[str, dict[str, list[Run]]]:
    """``{case: {method: finished runs}}`` under ``out``, suite order; a run is finished when its summary holds
    the metric. Runs are labelled ``<method> seed <seed>``."""
    board: dict[str, dict[str, list[Run]]] = {}
    for case in suite.cases:
        for method in suite.methods:
            directory = out / case / method
            if not directory.is_dir():
                continue
            runs = [r for r in find_runs([directory]) if r.directory.parent == directory
                    and r.directory.name.isdigit() and suite.metric in r.summary]
            for r in runs:
                r.label = f"{method} seed {r.directory.name}"
            if runs:
                board.setdefault(case, {})[method] = runs
    return board


def best_method(cells: dict[str, Cell]) -> str | None:
    """The method with the lowest mean (``None`` without a finite one)."""
    ranked = [(c.mean, m) for m, c in cells.items() if c.values]
    return min(ranked)[1] if ranked else None


def ratio(value: float, published: float | None) -> float | None:
    return value / published if published and math.isfinite(value) else None


def ratio_text(value: float | None) -> str:
    return f"{value:.3g}" if value is not None else "–"


def to_best(cell: Cell, by_method: dict[str, Cell], best: str | None) -> float | None:
    """``cell``'s mean over the case's best method's mean (``None`` without a finite best)."""
    return ratio(cell.mean, by_method[best].mean) if best else None


def csv_rows(suite: Suite, cells: dict[str, dict[str, Cell]]) -> list[dict]:
    rows = []
    for case, by_method in cells.items():
        pub, best = suite.cases[case].published, best_method(by_method)
        for method, cell in by_method.items():
            rows.append({"case": case, "label": suite.cases[case].label, "method": method,
                         "seeds": len(cell.values), "failed": cell.failed, "mean": cell.mean, "std": cell.std,
                         "wall_s_mean": float(np.mean(cell.wall_s)), "steps": max(cell.steps),
                         "published_pinn": pub.pinn, "published_best": pub.best,
                         "published_best_method": pub.best_method,
                         "ratio_to_published_best": ratio(cell.mean, pub.best),
                         "best_here": method == best, "ratio_to_best_here": to_best(cell, by_method, best)})
    return rows


def markdown_table(suite: Suite, cells: dict[str, dict[str, Cell]]) -> str:
    """One row per case of the suite, one column per method with a finished run, then the sources' notes."""
    methods = [m for m in suite.methods if any(m in by_method for by_method in cells.values())]
    others = [m for m in methods if m != "pinn"]
    gap = [f"{RECIPE} / best here"] if RECIPE in methods else []
    columns = ["case", "published PINN", "published best", "pinn here", "pinn wall s", "pinn steps", *others,
               "best here", "best here / published best", *gap]
    rows = []
    for case, spec in suite.cases.items():
        by_method, pub = cells.get(case, {}), spec.published
        pinn, best = by_method.get("pinn"), best_method(by_method)
        against = ratio(by_method[best].mean, pub.best) if best else None
        rows.append({
            "case": spec.label, "published PINN": num(pub.pinn),
            "published best": f"{num(pub.best)} ({pub.best_method or '?'})" if pub.best is not None else "–",
            "pinn here": pinn.text() if pinn else "–",
            "pinn wall s": f"{np.mean(pinn.wall_s):.1f}" if pinn else "–",
            "pinn steps": max(pinn.steps) if pinn else "–",
            **{m: by_method[m].text() if m in by_method else "–" for m in others},
            "best here": f"{best} {num(by_method[best].mean)}" if best else "–",
            "best here / published best": ratio_text(against),
            **{column: ratio_text(to_best(by_method[RECIPE], by_method, best) if RECIPE in by_method else None)
               for column in gap},
        })
    notes = "".join(f"- {spec.label}: {spec.published.status}. {spec.published.note}\n"
                    for spec in suite.cases.values() if spec.published.status or spec.published.note)
    return (f"# {suite.name} leaderboard ({suite.metric}, final value)\n\n" + markdown(rows, columns)
            + f"\nThis platform: mean ± std (population) over finished seeds, their count in brackets; non-finite "
              f"runs dropped. Published values and their sources: configs/bench/{suite.name}.yaml.\n\n" + notes)


def write_leaderboard(suite: Suite, out: Path) -> list[Path]:
    """Write ``leaderboard.{md,csv,png}`` and ``<case>/curves.png`` under ``out``; returns the files written."""
    board = collect(suite, out)
    cells = {case: {m: Cell.of(runs, suite.metric) for m, runs in by_method.items()}
             for case, by_method in board.items()}
    out.mkdir(parents=True, exist_ok=True)
    md = out / "leaderboard.md"
    md.write_text(markdown_table(suite, cells))
    written = [md, write_csv(csv_rows(suite, cells), out / "leaderboard.csv", CSV_COLUMNS)]
    if cells:
        written.append(bars(suite, cells, out / "leaderboard.png"))
    for case, by_method in board.items():
        written.append(figures.curves([r for runs in by_method.values() for r in runs], out / case / "curves.png"))
    return written
