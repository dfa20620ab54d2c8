"""Tables and error-against-wall-time plots from the run directories written by ``run_all.sh``.

    python benchmarks/optimizers/report.py RUNS_DIR [--out benchmarks/optimizers]

For every problem: the best learning rate of each method (lowest final relative L2), its best-so-far
error at fixed wall times, the ratio to Adam's error at the same time, one PNG of error against wall time,
and ``curves.json`` (the plotted curves, so the figures can be redrawn without the runs).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from sciml.io.history import read_metrics

TIMES = (5.0, 10.0, 20.0, 60.0, 300.0)
NO_LR = {"lbfgs", "ssbfgs", "gns", "lm", "engd"}  # lr unused (1.0); adam_* chains sweep nothing either


def curve(run: Path) -> list[tuple[float, float]]:
    """(wall seconds, best relative L2 so far) at every evaluation."""
    best, out = math.inf, []
    for row in read_metrics(run):
        if "rel_l2" in row and math.isfinite(row["rel_l2"]):
            best = min(best, row["rel_l2"])
            out.append((row["wall_s"], best))
    return out


def at(points: list[tuple[float, float]], t: float) -> float:
    """Best error reached by wall time ``t`` (``nan`` before the first evaluation)."""
    values = [e for s, e in points if s <= t]
    return values[-1] if values else math.nan


def collect(problem_dir: Path) -> dict[str, dict]:
    methods: dict[str, dict] = {}
    failed: dict[str, list[str]] = {}
    for run in sorted(problem_dir.iterdir()):
        if not (run / "summary.json").exists():  # stopped by the trainer's divergence guard (NaN)
            name, _, lr = run.name.rpartition("_lr")
            failed.setdefault(name, []).append(lr)
            continue
        summary = json.loads((run / "summary.json").read_text())
        points = curve(run)
        if not points:
            continue
        entry = methods.setdefault(summary["method"], {"runs": [], "budget": summary["budget_s"]})
        entry["runs"].append({"lr": summary["lr"], "steps": summary["steps"], "final": points[-1][1],
                              "steps_per_s": summary["steps_per_s"], "curve": points})
    for name, entry in methods.items():
        entry["best"] = min(entry["runs"], key=lambda r: at(r["curve"], entry["budget"]))
        entry["failed"] = failed.get(name, [])
    return methods


def _key(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def fmt(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.2e}"


def table(methods: dict[str, dict], budget: float) -> str:
    times = [t for t in TIMES if t < budget] + [budget]
    adam = methods.get("adam", {}).get("best")
    head = ("| method | lr sweep | best lr | steps | " + " | ".join(f"rel L2 @ {t:g} s" for t in times)
            + " | Adam / method @ end |")
    lines = [head, "|" + "---|" * (5 + len(times))]
    order = sorted(methods, key=lambda m: _key(at(methods[m]["best"]["curve"], budget)))
    for name in order:
        entry = methods[name]
        best = entry["best"]
        fixed = name in NO_LR or name.startswith("adam_")
        sweep = "—" if fixed else ", ".join(f"{r['lr']:g}" for r in sorted(entry["runs"], key=lambda r: r["lr"]))
        if entry["failed"]:
            sweep += "; NaN at " + ", ".join(entry["failed"])
        errs = [at(best["curve"], t) for t in times]
        ratio = at(adam["curve"], budget) / errs[-1] if adam and math.isfinite(errs[-1]) else math.nan
        lr = "—" if fixed else f"{best['lr']:g}"
        lines.append(f"| {name} | {sweep} | {lr} | {best['steps']} | "
                     + " | ".join(fmt(e) for e in errs) + f" | {ratio:.2g}× |")
    return "\n".join(lines)


def plot(methods: dict[str, dict], title: str, path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(8, 5))
    ax.set_prop_cycle(color=plt.cm.tab20.colors)
    for name in sorted(methods, key=lambda m: _key(at(methods[m]["best"]["curve"], methods[m]["budget"]))):
        best = methods[name]["best"]
        xs, ys = zip(*best["curve"])
        style = "--" if name in ("adam", "adam_lbfgs", "lbfgs") else "-"
        label = name if name in NO_LR or name.startswith("adam_") else f"{name} (lr {best['lr']:g})"
        ax.step(xs, ys, style, where="post", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("wall time [s] (1 CPU thread)")
    ax.set_ylabel("best relative L2 so far")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs")
    parser.add_argument("--out", default="benchmarks/optimizers")
    args = parser.parse_args()
    out = Path(args.out)
    curves = {}
    for problem_dir in sorted(p for p in Path(args.runs).iterdir() if p.is_dir()):
        methods = collect(problem_dir)
        if not methods:
            continue
        budget = max(m["budget"] for m in methods.values())
        plot(methods, problem_dir.name, out / f"{problem_dir.name}.png")
        print(f"## {problem_dir.name}\n\n{table(methods, budget)}\n")
        curves[problem_dir.name] = {name: {"lr": m["best"]["lr"], "curve": m["best"]["curve"]}
                                    for name, m in methods.items()}
    (out / "curves.json").write_text(json.dumps(curves, indent=0))


if __name__ == "__main__":
    main()
