"""Plan and run a suite: one hydra multirun of ``sciml-train`` per (case, method), the seeds swept.

Runs go to ``<out>/<case>/<method>/<seed>``. A seed whose ``summary.json`` exists is finished and not run again,
so an interrupted suite resumes where it stopped. Every (case, method) is validated before anything runs by
composing its config: a method whose config does not compose (an option or key that does not exist) is reported
in one line and left out, and the rest of the suite runs.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sciml.bench.budget import budget_overrides
from sciml.bench.suites import Suite
from sciml.cli.build import build, user_import_path
from sciml.cli.train import CONFIG_DIR
from sciml.errors import ConfigError, require

#: hydra launcher overrides; ``{jobs}`` is the number of runs at a time
LAUNCHERS = {
    "basic": ["hydra/launcher=basic"],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs={jobs}"],
    "submitit_slurm": ["hydra/launcher=submitit_slurm", "hydra.launcher.array_parallelism={jobs}"],
}


@dataclass(frozen=True)
class Job:
    """One (case, method): its overrides, its directory, and its seeds still to run and already finished."""

    case: str
    method: str
    directory: Path
    overrides: list[str]
    todo: list[int]
    done: list[int]


def finished(directory: Path, seed: int) -> bool:
    return (directory / str(seed) / "summary.json").is_file()


def one_line(error: BaseException) -> str:
    """A composition error in one line: its first line, and its cause's first line when it has one."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        line += f" ({str(cause).strip().splitlines()[0]})"
    return line


def protocol_counts(cfg: DictConfig) -> tuple[int, dict[str, int]]:
    """The run's steps and the problem's own per-term point counts (what ``--budget`` scales)."""
    user_import_path()
    problem = build("pde", cfg.pde)
    return int(cfg.trainer.steps), {name: int(term.batch_size) for name, term in problem.terms().items()}


def plan(suite: Suite, cases: list[str], methods: list[str], seeds: list[int], budget: float, out: Path,
         extra: Sequence[str] = ()) -> tuple[list[Job], list[str]]:
    """The jobs of ``cases`` × ``methods``, and one line per case or method left out because its config does not
    compose. ``extra`` overrides go to every run, after the budget's (so an extra step or point count wins); the
    budget scales the case's protocol counts, composed without them, so that an extra override meant for some
    methods' keys (``balancer.others``) leaves out only the methods that lack those keys, not the case."""
    jobs, unavailable = [], []
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for case in cases:
            base = [f"recipe={suite.recipe}", *suite.cases[case].overrides]
            try:
                scale = budget_overrides(*protocol_counts(compose("config", overrides=base)), budget, suite.budget)
            except (HydraException, OmegaConfBaseException, ConfigError) as error:
                unavailable.append(f"case {case} unavailable: {one_line(error)}")
                continue
            for method in methods:
                overrides = [*suite.overrides(case, method), *scale, *extra]
                try:
                    compose("config", overrides=overrides)
                except (HydraException, OmegaConfBaseException) as error:
                    name = f"{method} ({case})" if suite.methods[method] is None else method
                    line = f"method {name} unavailable: {one_line(error)}"
                    if line not in unavailable:
                        unavailable.append(line)
                    continue
                directory = out / case / method
                done = [s for s in seeds if finished(directory, s)]
                jobs.append(Job(case, method, directory, overrides, [s for s in seeds if s not in done], done))
    return jobs, unavailable


def command(job: Job, launcher: str = "basic", jobs: int = 1) -> list[str]:
    """``python -m sciml.train --multirun`` of the job's unfinished seeds into ``<directory>/<seed>``."""
    require(launcher in LAUNCHERS, "launcher", f"unknown launcher {launcher!r}; options: {', '.join(LAUNCHERS)}")
    return [sys.executable, "-m", "sciml.train", "--multirun", *job.overrides,
            "seed=" + ",".join(map(str, job.todo)), f"hydra.sweep.dir={job.directory}", "hydra.sweep.subdir=${seed}",
            *(o.format(jobs=jobs) for o in LAUNCHERS[launcher])]


def last_error(log: Path) -> str:
    """The last ``error:`` line of a log, else its last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["(empty log)"])[-1]


def run(jobs: list[Job], launcher: str = "basic", n_jobs: int = 1,
        echo: Callable[[str], None] = print) -> list[str]:
    """Run the unfinished seeds of every job, one multirun at a time (its output in ``<directory>/bench.log``);
    returns one line per job that left seeds unfinished."""
    failures = []
    for i, job in enumerate(jobs, 1):
        name = f"{job.case}/{job.method}"
        if not job.todo:
            echo(f"[{i}/{len(jobs)}] {name}: seeds {','.join(map(str, job.done))} finished, skipped")
            continue
        echo(f"[{i}/{len(jobs)}] {name}: seeds {','.join(map(str, job.todo))}")
        job.directory.mkdir(parents=True, exist_ok=True)
        log = job.directory / "bench.log"
        cmd = command(job, launcher, n_jobs)
        with log.open("a") as f:
            f.write(f"$ {shlex.join(cmd)}\n")
            f.flush()
            code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
        missing = [s for s in job.todo if not finished(job.directory, s)]
        if code or missing:
            failures.append(f"{name}: seeds {','.join(map(str, missing))} unfinished (exit {code}): "
                            f"{last_error(log)} [{log}]")
    return failures
