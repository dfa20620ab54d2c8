"""``sciml-bench SUITE``: run a benchmark suite (cases × methods × seeds) and write its leaderboard.

``sciml-bench pinnacle [--cases a,b] [--methods pinn,lra] [--seeds 0,1,2] [--budget 1.0] [--jobs 2]
[--launcher joblib|submitit_slurm|basic] [--out multirun/bench/pinnacle] [--dry-run] [--table-only]
[KEY=VALUE ...]``: the suite is ``configs/bench/<SUITE>.yaml``; trailing hydra overrides go to every run
(``device=cuda``, ``hydra.launcher.timeout_min=600``). Finished runs are skipped, so the same command resumes
an interrupted suite; ``--table-only`` rebuilds the leaderboard from the runs under ``--out``. Exit status 1
when runs were left unfinished (the leaderboard is written all the same), 2 for a configuration error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sciml.bench.budget import check_budget
from sciml.bench.leaderboard import write_leaderboard
from sciml.bench.runner import LAUNCHERS, command, plan, run
from sciml.bench.suites import load_suite
from sciml.errors import ConfigError, positive_int


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in _names(text) or []]
    except ValueError:
        raise ConfigError("seeds", f"must be comma-separated integers, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sciml-bench", description=__doc__.split("\n\n")[0])
    p.add_argument("suite", help="a suite of configs/bench/ (pinnacle)")
    p.add_argument("overrides", nargs="*", help="hydra overrides for every run (KEY=VALUE)")
    p.add_argument("--cases", help="comma-separated cases (default: all of the suite)")
    p.add_argument("--methods", help="comma-separated methods (default: all of the suite)")
    p.add_argument("--seeds", help="comma-separated seeds (default: the suite's)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="scale steps and point counts by this factor, above the suite's floors (1: the protocol)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (joblib workers, slurm array parallelism)")
    p.add_argument("--launcher", choices=list(LAUNCHERS), help="hydra launcher (default: joblib if --jobs > 1)")
    p.add_argument("--out", help="suite directory (default: multirun/bench/<suite>)")
    p.add_argument("--dry-run", action="store_true", help="print the planned commands, run nothing")
    p.add_argument("--table-only", action="store_true", help="only rebuild the leaderboard from existing runs")
    return p


def bench(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    out = Path(args.out or f"multirun/bench/{args.suite}")
    if not args.table_only:
        launcher = args.launcher or ("joblib" if args.jobs > 1 else "basic")
        n_jobs = positive_int(args.jobs, "jobs")
        seeds = _seeds(args.seeds) if args.seeds else suite.seeds
        jobs, unavailable = plan(suite, suite.select("cases", _names(args.cases)),
                                 suite.select("methods", _names(args.methods)), seeds, check_budget(args.budget),
                                 out, args.overrides)
        for line in unavailable:
            print(line, flush=True)
        if args.dry_run:
            for job in jobs:
                print(shlex.join(command(job, launcher, n_jobs)) if job.todo
                      else f"# {job.case}/{job.method}: seeds {','.join(map(str, job.done))} finished")
            return 0
        failures = run(jobs, launcher, n_jobs, echo=lambda line: print(line, flush=True))
        for line in failures:
            print(f"failed: {line}", flush=True)
    written = write_leaderboard(suite, out)
    print((out / "leaderboard.md").read_text(), end="")
    print(f"written: {', '.join(str(p) for p in written if p.parent == out)}")
    return 1 if not args.table_only and failures else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_intermixed_args(argv)
    try:
        return bench(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
