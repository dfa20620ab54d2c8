"""Step rates: the warm-up is reported apart, the steady rate and the windowed rates use train time only, and a
resumed run warms up and measures anew. Steps take known times: a clock that only the steps (and evaluation,
which must not count) advance, and once real sleeps with tolerances for timer noise."""

import json
import time
from functools import partial
from types import SimpleNamespace

import pytest
import torch

import sciml.train.trainer as trainer_module
from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.models import MLP
from sciml.train import RunSettings, Trainer
from sciml.train.progress import Progress
from sciml.train.step_rates import StepRates, warmup_steps


class Stop(Exception):
    """Ends a fit part-way, as a crash would."""


class StopAt:
    """A callback that stops training after ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Trainer, losses: dict) -> None:
        if trainer.step == self.step:
            raise Stop


def make_trainer(run_dir, steps: int, callbacks: list | None = None) -> Trainer:
    torch.manual_seed(0)
    problem = Poisson(dim=2, batch_size={"pde": 16, "bc": 8})
    model = MLP(2, 1, width=8, depth=1, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights({"bc": 1.0}), partial(optim.adam, lr=1e-3), steps=steps,
                   eval_every=0, log_every=10, progress=False, plot=False, eval_resolution=10,
                   run=RunSettings(run_dir=run_dir, callbacks=callbacks or []))


def timed(trainer: Trainer, clock: SimpleNamespace, slow: float, fast: float, slow_steps: int = 3) -> None:
    """Make each of the trainer's steps advance ``clock`` by ``slow`` (its first ``slow_steps`` steps of each
    fit) or ``fast`` seconds, and each evaluation by one second (which no step rate may include)."""
    step, evaluate, fit = trainer.train_step, trainer.evaluate, trainer.fit
    calls = [0]

    def train_step():
        out = step()
        calls[0] += 1
        clock.t += slow if calls[0] <= slow_steps else fast
        return out

    def evaluation():
        clock.t += 1.0
        return evaluate()

    def restarted():
        calls[0] = 0
        return fit()

    trainer.train_step, trainer.evaluate, trainer.fit = train_step, evaluation, restarted


@pytest.fixture
def clock(monkeypatch) -> SimpleNamespace:
    """The trainer's clock, advanced only by the steps and evaluations of :func:`timed`."""
    now = SimpleNamespace(t=0.0)
    monkeypatch.setattr(trainer_module, "time", SimpleNamespace(perf_counter=lambda: now.t))
    return now


def rows(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_warmup_length():
    assert [warmup_steps(n) for n in (1, 2, 9, 10, 40, 100, 101, 1000)] == [0, 1, 4, 5, 5, 5, 6, 50]
    rates = StepRates(planned=1)
    assert rates.steady_rate() is None and rates.recent_rate() is None and rates.row_rate() is None


def test_summary_and_rows_separate_the_warmup(tmp_path, clock, monkeypatch):
    shown = []
    monkeypatch.setattr(Progress, "update", lambda self, step, row, rate: shown.append((step, rate)))
    trainer = make_trainer(tmp_path, steps=80)
    timed(trainer, clock, slow=0.2, fast=0.01)
    summary = trainer.fit()
    # warm-up: the first 5 steps (3 × 0.2 s + 2 × 0.01 s); steady: 75 steps of 0.01 s
    assert summary["warmup_steps"] == 5
    assert summary["warmup_s"] == pytest.approx(0.62, abs=1e-3)
    assert summary["steady_steps_per_s"] == pytest.approx(100.0, abs=1e-2)
    # unchanged in meaning: every step over all train time, warm-up included, the final evaluation not
    assert summary["train_s"] == pytest.approx(1.37, abs=1e-3)
    assert summary["steps_per_s"] == pytest.approx(80 / 1.37, abs=1e-3)
    assert summary["wall_s"] == pytest.approx(2.37, abs=1e-3)
    assert json.loads((tmp_path / "summary.json").read_text())["steady_steps_per_s"] == summary["steady_steps_per_s"]
    logged = rows(tmp_path)
    assert [r["step"] for r in logged] == list(range(10, 81, 10))
    assert logged[0]["steps_per_s_window"] == pytest.approx(10 / 0.67, abs=1e-3)
    assert all(r["steps_per_s_window"] == pytest.approx(100.0, abs=1e-2) for r in logged[1:])
    # the progress bar: the last 50 steps (all of them at step 10, only fast ones from step 53 on)
    assert [s for s, _ in shown] == list(range(10, 81, 10))
    assert shown[0][1] == pytest.approx(10 / 0.67) and shown[-1][1] == pytest.approx(100.0)


def test_resumed_run_warms_up_again(tmp_path, clock):
    first = make_trainer(tmp_path, steps=40, callbacks=[StopAt(20)])
    timed(first, clock, slow=0.2, fast=0.01)
    with pytest.raises(Stop):
        first.fit()
    state = first.training_state()
    assert state["train_time"] == pytest.approx(0.77)
    resumed = make_trainer(tmp_path, steps=40)
    resumed.load_training_state(state)
    timed(resumed, clock, slow=0.3, fast=0.02)
    summary = resumed.fit()
    # the resumed fit times 20 steps: 5 of warm-up (3 × 0.3 s + 2 × 0.02 s), then 15 of 0.02 s
    assert summary["warmup_steps"] == 5
    assert summary["warmup_s"] == pytest.approx(0.94, abs=1e-3)
    assert summary["steady_steps_per_s"] == pytest.approx(50.0, abs=1e-2)
    assert summary["steps_per_s"] == pytest.approx(40 / (0.77 + 1.24), abs=1e-3)
    logged = rows(tmp_path)  # the stop came before step 20's row; the resumed fit's first row is its own
    assert [r["step"] for r in logged] == [10, 30, 40]
    assert logged[1]["steps_per_s_window"] == pytest.approx(10 / 1.04, abs=1e-3)
    assert logged[2]["steps_per_s_window"] == pytest.approx(50.0, abs=1e-2)


def test_real_sleeps(tmp_path):
    trainer = make_trainer(tmp_path, steps=24)
    step, calls = trainer.train_step, [0]

    def slept():
        out = step()
        calls[0] += 1
        time.sleep(0.1 if calls[0] <= 3 else 0.01)
        return out

    trainer.train_step = slept
    summary = trainer.fit()
    # sleeps never end early; the tiny step itself and a loaded machine add a little
    assert 0.32 <= summary["warmup_s"] < 0.6
    assert 30 < summary["steady_steps_per_s"] <= 100.5
    assert summary["steps_per_s"] == pytest.approx(24 / summary["train_s"], rel=1e-2)
    assert summary["steps_per_s"] < summary["steady_steps_per_s"]
    assert 30 < rows(tmp_path)[-1]["steps_per_s_window"] <= 100.5
