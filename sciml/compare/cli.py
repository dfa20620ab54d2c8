"""``sciml-compare DIR [DIR ...]``: compare the runs found under sweep or run directories.

Writes ``table.md`` and ``table.csv`` (final and best relative L2, wall time, steps/s per run, labelled by
the overrides that differ between runs), ``curves.png`` (error and loss of every run on one axis),
``weights.png`` (each run's term weights over time) and, for runs recorded with the gradient-histogram
callback, ``grad_hist_<n>.png``. Only run directories are read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sciml.compare import figures
from sciml.compare.runs import find_runs
from sciml.compare.table import markdown, table_rows, write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sciml-compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", help="sweep directories (sciml-train -m) or run directories")
    parser.add_argument("--out", help="output directory (default: <first dir>/compare)")
    parser.add_argument("--hist-steps", type=int, nargs="*", help="gradient-histogram steps to show (all)")
    args = parser.parse_args(argv)
    for d in args.dirs:
        if not Path(d).is_dir():
            print(f"error: dirs: {d} is not a directory", file=sys.stderr)
            return 2
    runs = find_runs(args.dirs)
    if not runs:
        print(f"error: dirs: no run directories (with metrics.jsonl) under {args.dirs}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.dirs[0]) / "compare"
    rows = table_rows(runs, Path(args.dirs[0]))
    write_tables(rows, out)
    figures.curves(runs, out / "curves.png")
    figures.weights(runs, out / "weights.png")
    for n, run in enumerate(runs):
        figures.gradient_histograms(run, out / f"grad_hist_{n}.png", args.hist_steps)
    print(markdown(rows), end="")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
