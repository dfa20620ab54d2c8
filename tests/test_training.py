"""Short training runs reduce the error; seeds make runs reproducible; optimizer plans switch phases."""

import json
from functools import partial

import pytest
import torch

from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.models import MLP
from sciml.train import RunSettings, Trainer


def make_trainer(optimizer, steps=300, seed=0, dtype=torch.float32, **kwargs):
    torch.manual_seed(seed)
    problem = Poisson(dim=2, batch_size={"pde": 256, "bc": 128})
    model = MLP(2, 1, width=20, depth=2, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights({"bc": 10.0}), optimizer, steps=steps, seed=seed,
                   eval_every=0, log_every=0, progress=False, dtype=dtype, eval_resolution=30, **kwargs)


def test_short_adam_run_reduces_error():
    trainer = make_trainer(partial(optim.adam, lr=5e-3), steps=400)
    before = trainer.evaluate()["rel_l2"]
    summary = trainer.fit()
    assert summary["rel_l2"] < 0.3 * before
    assert summary["best_rel_l2"] <= summary["rel_l2"]
    assert summary["steps"] == 400 and summary["steps_per_s"] > 0


def test_same_seed_same_parameters():
    runs = []
    for _ in range(2):
        trainer = make_trainer(partial(optim.adam, lr=1e-3), steps=20, seed=3)
        trainer.fit()
        runs.append(torch.cat([p.detach().flatten() for p in trainer.model.parameters()]))
    assert torch.equal(runs[0], runs[1])
    other = make_trainer(partial(optim.adam, lr=1e-3), steps=20, seed=4)
    other.fit()
    assert not torch.equal(runs[0], torch.cat([p.detach().flatten() for p in other.model.parameters()]))


def test_adam_then_lbfgs_switches_and_improves():
    plan = partial(optim.chain, phases=[partial(optim.adam, lr=5e-3), partial(optim.lbfgs)], switch=[0.5])
    trainer = make_trainer(plan, steps=200, dtype=torch.float64)
    assert [p.name for p in trainer.plan.phases] == ["adam", "lbfgs"]
    assert trainer.plan.at(99).name == "adam" and trainer.plan.at(100).name == "lbfgs"
    trainer.steps = 100
    trainer.fit()
    after_adam = trainer.evaluate()["rel_l2"]
    trainer.steps = 200
    trainer.fit()
    assert trainer.evaluate()["rel_l2"] < 0.5 * after_adam


@pytest.mark.parametrize("switch, steps, lengths", [([0.15], 20000, [3000, 17000]), ([0.15], 2, [1, 1]),
                                                     ([0.5], 3, [2, 1]), ([3000], 3000, [3000, 0])])
def test_switch_points_as_steps_or_fractions(switch, steps, lengths):
    plan = optim.chain(torch.nn.Linear(2, 1), steps, [partial(optim.adam), partial(optim.lbfgs)], switch)
    assert [p.steps for p in plan] == lengths


def test_switch_points_out_of_range_are_refused():
    phases = [partial(optim.adam), partial(optim.lbfgs)]
    for switch, steps in (([3001], 3000), ([0], 10), ([1.5], 10)):
        with pytest.raises(ConfigError, match="switch"):
            optim.chain(torch.nn.Linear(2, 1), steps, phases, switch)


def wall_clock_plan(minutes):
    return partial(optim.chain, phases=[partial(optim.adam, lr=5e-3), partial(optim.lbfgs)], switch=[0.9],
                   switch_minutes=[minutes])


def lbfgs_iterations(trainer) -> int:
    lbfgs = trainer.plan.phases[1].optimizer
    return lbfgs.state[lbfgs._params[0]].get("n_iter", 0)


def test_a_phase_starts_on_the_wall_clock_before_its_step_and_a_restored_plan_keeps_that_start():
    trainer = make_trainer(wall_clock_plan(1e-9), steps=10, dtype=torch.float64)
    assert trainer.plan.phases[1].start == 9 and trainer.plan.phases[1].start_minutes == 1e-9
    trainer.fit()
    assert trainer.plan.phases[1].start == 1 and trainer.plan.at(1).name == "lbfgs"
    assert trainer.info["started lbfgs"].startswith("step 1: the wall time reached")
    assert lbfgs_iterations(trainer) == 9  # steps 2 to 10: one L-BFGS iteration each
    restored = make_trainer(wall_clock_plan(1e-9), steps=10, dtype=torch.float64)
    restored.plan.load_state_dict(trainer.plan.state_dict())
    assert restored.plan.phases[1].start == 1


def test_a_wall_clock_switch_not_reached_leaves_the_step_switch():
    trainer = make_trainer(wall_clock_plan(1e6), steps=10, dtype=torch.float64)
    trainer.fit()
    assert trainer.plan.phases[1].start == 9 and "started lbfgs" not in trainer.info
    assert lbfgs_iterations(trainer) == 1


@pytest.mark.parametrize("minutes", [[0.0], [-1.0], [1.0, 2.0]])
def test_wall_clock_switch_points_out_of_range_are_refused(minutes):
    with pytest.raises(ConfigError, match="switch_minutes"):
        optim.chain(torch.nn.Linear(2, 1), 10, [partial(optim.adam), partial(optim.lbfgs)], [0.5], minutes)


def test_fixed_points_when_not_resampling():
    trainer = make_trainer(partial(optim.adam), steps=5, resample=False)
    phase = trainer.plan.at(0)
    a = trainer.points_for(phase)["pde"][0]
    b = trainer.points_for(phase)["pde"][0]
    assert a is b
    fresh = make_trainer(partial(optim.adam), steps=5, resample=True)
    assert not torch.equal(fresh.points_for(phase)["pde"][0], fresh.points_for(phase)["pde"][0])


def test_fixed_set_refreshed_every_k_steps():
    """``refresh_every=3``: an L-BFGS phase keeps its set for 3 steps, then draws a new one (kept in the
    checkpointed state)."""
    trainer = make_trainer(partial(optim.lbfgs, lr=1.0), steps=7, refresh_every=3)
    seen = []
    for _ in range(7):
        seen.append(trainer.points_for(trainer.plan.at(trainer.step))["pde"][0])
        trainer.train_step()
    same = [seen[i] is seen[i + 1] for i in range(6)]
    assert same == [True, True, False, True, True, False]
    assert all(not torch.equal(seen[i], seen[j]) for i, j in [(0, 3), (3, 6)])
    assert trainer.training_state()["fixed_drawn_at"] == 6


def test_schedules():
    model = MLP(2, 1, width=4, depth=1)
    phase = optim.adam(model, steps=100, lr=1.0, schedule="exponential", decay_rate=0.5, decay_steps=10)
    for _ in range(20):
        phase.optimizer.step()
        phase.scheduler.step()
    assert abs(phase.lr() - 0.25) < 1e-12
    phase = optim.adam(model, steps=100, lr=1.0, schedule="linear")
    for _ in range(75):
        phase.optimizer.step()
        phase.scheduler.step()
    assert abs(phase.lr() - 0.25) < 1e-12
    assert isinstance(optim.adam(model, steps=1, decoupled=True).optimizer, torch.optim.AdamW)


def test_wall_time_budget_ends_training_with_a_last_evaluation(tmp_path):
    trainer = make_trainer(partial(optim.adam, lr=5e-3), steps=1000, max_minutes=0.25 / 60,
                           run=RunSettings(run_dir=tmp_path))
    trainer.fit()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert 0 < summary["steps"] < 1000
    assert summary["wall_s"] >= 0.25
    assert summary["stopped"] == f"step {summary['steps']}: the wall-time budget of 0.00416667 min was reached " \
                                 "(trainer.max_minutes)"
    assert "rel_l2" in summary  # the last step was evaluated
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == summary["steps"] and "rel_l2" in rows[-1]


@pytest.mark.parametrize("value", [-1, "ten", True])
def test_wall_time_budget_refuses_what_is_not_minutes(value):
    with pytest.raises(ConfigError, match="trainer.max_minutes"):
        make_trainer(partial(optim.adam), steps=2, max_minutes=value)
