"""Collect the c-sweep (PINN vs LPINN) and single runs into markdown tables from run directories.

Usage: python benchmarks/lpinn/table.py multirun/convection_sweep [RUN_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def sweep_table(root: Path) -> str:
    rows = ["| c | PINN rel. L2 | PINN wall s | LPINN rel. L2 | LPINN wall s | LPINN <= 1e-2 |",
            "|---|---|---|---|---|---|"]
    speeds = sorted({int(p.name[1:]) for p in root.glob("*/c*") if (p / "summary.json").is_file()})
    for c in speeds:
        cells = []
        for method in ("pinn", "lpinn"):
            run = root / method / f"c{c}"
            s = summary(run) if (run / "summary.json").is_file() else None
            cells += [f"{s['rel_l2']:.3e}", f"{s['wall_s']:.0f}"] if s else ["—", "—"]
        ok = cells[2] != "—" and float(cells[2]) <= 1e-2
        rows.append(f"| {c} | " + " | ".join(cells) + f" | {'met' if ok else 'missed'} |")
    return "\n".join(rows)


def runs_table(runs: list[Path]) -> str:
    rows = ["| run | pde | steps | rel. L2 (last) | best rel. L2 | wall s | steps/s |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        s = summary(run)
        rows.append(f"| {run.name} | {s['pde']} | {s['steps']} | {s['rel_l2']:.3e} | {s['best_rel_l2']:.3e} | "
                    f"{s['wall_s']:.0f} | {s['steps_per_s']:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(sweep_table(Path(sys.argv[1])))
    others = [Path(p) for p in sys.argv[2:] if (Path(p) / "summary.json").is_file()]
    if others:
        print()
        print(runs_table(others))
