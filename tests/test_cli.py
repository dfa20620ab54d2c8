"""sciml-train end to end: default outputs, group choices, sweeps, clear user errors, a user's own PDE."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

FAST = ["trainer.steps=30", "trainer.eval_every=10", "trainer.progress=false", "trainer.eval_resolution=20",
        "model.width=8", "model.depth=2"]


def sciml_train(args, cwd, check=True):
    env = {**os.environ, "DDE_BACKEND": "pytorch", "HYDRA_FULL_ERROR": "0", "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-m", "sciml.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def test_default_run_writes_every_output(tmp_path):
    run = tmp_path / "run"
    proc = sciml_train([*FAST, f"hydra.run.dir={run}"], tmp_path)
    assert f"run directory: {run}" in proc.stdout
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "checkpoint.pt", "prediction.png"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    for key in ("pde", "trainer", "engine", "balancer", "optimizer", "steps", "wall_s", "steps_per_s",
                "rel_l2", "best_rel_l2", "device", "dtype"):
        assert key in summary, key
    assert summary["pde"] == "poisson" and summary["optimizer"] == "adam_lbfgs" and summary["steps"] == 30
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 30 and {"loss/pde", "loss/bc", "rel_l2", "loss", "wall_s"} <= set(rows[-1])
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 30 and "layers.0.weight" in state["model"]
    assert "width: 8" in (run / "config.yaml").read_text()


def test_groups_and_float64(tmp_path):
    run = tmp_path / "run"
    sciml_train([*FAST, "pde=helmholtz", "optimizer=adam", "dtype=float64", "model.width=10",
                 "model.depth=4", f"hydra.run.dir={run}"], tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pde"] == "helmholtz" and summary["dtype"] == "float64" and summary["optimizer"] == "adam"
    assert summary["num_params"] == 2 * 10 + 10 + 3 * (10 * 10 + 10) + 10 + 1


def test_multirun_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    sciml_train(["-m", "optimizer=adam,lbfgs", *FAST, f"hydra.sweep.dir={sweep}"], tmp_path)
    summaries = sorted(json.loads(p.read_text())["optimizer"] for p in sweep.glob("*/summary.json"))
    assert summaries == ["adam", "lbfgs"]


BAD = [
    (["pde=nonexistent"], ["pde", "helmholtz", "poisson"]),
    (["model.width=-5"], ["model.width", "positive integer"]),
    (["optimizer=adam", "optimizer.lr=-1"], ["optimizer.lr", "positive"]),
    (["optimizer.nonexistent_key=1"], ["optimizer.nonexistent_key"]),
]


@pytest.mark.parametrize("override, expected", BAD, ids=lambda v: str(v))
def test_bad_input_exits_with_one_clear_message(tmp_path, override, expected):
    """The process exits non-zero, prints no traceback and starts no training (see test_validation.py)."""
    proc = sciml_train([*FAST, *override, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    for text in expected:
        assert text in proc.stderr, (text, proc.stderr)
    metrics = tmp_path / "run" / "metrics.jsonl"
    assert not metrics.exists() or metrics.read_text() == ""


USER_PDE = textwrap.dedent('''
    """A user's own problem: u'' = -π² sin(πx) on [0, 1], u(0) = u(1) = 0."""
    import math
    import torch
    from sciml.geometry import BoxSampler, FixedPoints
    from sciml.problem import Problem, Term


    class MyPDE(Problem):
        name = "my_pde"
        variables = ["x"]

        def __init__(self, n_points: int = 64, with_exact: bool = True):
            self.n_points, self.with_exact = n_points, with_exact

        def bounds(self):
            return [(0.0, 1.0)]

        def terms(self):
            ends = FixedPoints(torch.tensor([[0.0], [1.0]]))
            return {
                "pde": Term(BoxSampler(self.bounds()),
                            lambda u: u.d("x", "x") + math.pi**2 * torch.sin(math.pi * u.x[:, 0]),
                            self.n_points),
                "bc": Term(ends, lambda u: u.value, 2),
            }

        def exact(self, x):
            return torch.sin(math.pi * x) if self.with_exact else None
''')


def test_custom_pde_from_users_file(tmp_path):
    (tmp_path / "my_pde.py").write_text(USER_PDE)
    run = tmp_path / "run"
    sciml_train(["pde=custom", "pde._target_=my_pde.MyPDE", "+pde.n_points=32", "trainer.steps=300",
                 "trainer.eval_every=100", "trainer.progress=false", "optimizer=adam", "optimizer.lr=5e-3",
                 f"hydra.run.dir={run}"], tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["pde"] == "my_pde" and summary["rel_l2"] < 0.1
    assert (run / "prediction.png").is_file()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["rel_l2"] < rows[0].get("rel_l2", 1.0)


def test_metric_without_exact_solution_is_refused(tmp_path):
    (tmp_path / "my_pde.py").write_text(USER_PDE)
    proc = sciml_train(["pde=custom", "pde._target_=my_pde.MyPDE", "+pde.with_exact=false",
                        "trainer.metrics=[rel_l2]", *FAST[:1], f"hydra.run.dir={tmp_path / 'run'}"],
                       tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "trainer.metrics" in proc.stderr and "exact solution" in proc.stderr
    # without asking for a metric the same problem trains and reports no error
    run = tmp_path / "ok"
    sciml_train(["pde=custom", "pde._target_=my_pde.MyPDE", "+pde.with_exact=false", *FAST,
                 f"hydra.run.dir={run}"], tmp_path)
    assert "rel_l2" not in json.loads((run / "summary.json").read_text())


def test_unknown_target_module(tmp_path):
    proc = sciml_train(["pde=custom", "pde._target_=no_such_module.Thing", *FAST], tmp_path, check=False)
    assert proc.returncode == 2 and "pde._target_" in proc.stderr and "Traceback" not in proc.stderr


def test_module_entry_point_matches_console_script():
    script = Path(sys.executable).parent / "sciml-train"
    assert script.exists()


def test_joblib_launcher_sweep_feeds_the_comparison(tmp_path):
    """Sweeps through the joblib launcher (parallel local runs); sciml-compare reads their directories."""
    sweep = tmp_path / "sweep"
    sciml_train(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "optimizer=adam,lbfgs", *FAST,
                 "~output", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert sorted(json.loads(p.read_text())["optimizer"] for p in sweep.glob("*/summary.json")) == ["adam", "lbfgs"]
    env = {**os.environ, "DDE_BACKEND": "pytorch"}
    out = subprocess.run([sys.executable, "-m", "sciml.compare.cli", str(sweep)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    table = next(sweep.rglob("table.csv")).read_text()
    assert "adam" in table and "lbfgs" in table
