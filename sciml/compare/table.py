"""The comparison table: final and best error, wall time and speed of every run (markdown and CSV).

Speed is the steady rate (``steady_steps_per_s``: steps after the warm-up over their train time); runs whose
summary predates it show none."""

from __future__ import annotations

import csv
from pathlib import Path

from sciml.compare.runs import Run

COLUMNS = ["run", "pde", "steps", "rel_l2", "best_rel_l2", "wall_s", "train_s", "steady_steps_per_s",
           "directory"]


def table_rows(runs: list[Run], root: Path | None = None) -> list[dict]:
    rows = []
    for r in runs:
        s = r.summary
        final = s.get("rel_l2", _last(r, "rel_l2"))
        best = s.get("best_rel_l2", min((m["rel_l2"] for m in r.metrics if "rel_l2" in m), default=None))
        rows.append({
            "run": r.label, "pde": s.get("pde", ""), "steps": s.get("steps", _last(r, "step")),
            "rel_l2": final, "best_rel_l2": best, "wall_s": s.get("wall_s", _last(r, "wall_s")),
            "train_s": s.get("train_s", _last(r, "train_s")), "steady_steps_per_s": s.get("steady_steps_per_s"),
            "directory": str(r.directory.relative_to(root)) if root and r.directory.is_relative_to(root)
            else str(r.directory),
        })
    return rows


def _last(run: Run, key: str):
    values = [m[key] for m in run.metrics if key in m]
    return values[-1] if values else None


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3e}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def markdown(rows: list[dict], columns: list[str] = COLUMNS) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(_fmt(r[c]) for c in columns) + " |\n" for r in rows)


def write_csv(rows: list[dict], path: Path, columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_tables(rows: list[dict], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    md = out / "table.md"
    md.write_text(markdown(rows))
    return md, write_csv(rows, out / "table.csv")
