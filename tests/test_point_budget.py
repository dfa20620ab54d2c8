"""trainer.point_budget: every drawing term's count scaled by one factor; shared and fixed point sets follow or
stay; a budgeted run draws the same points as the problem declared with the scaled counts."""

from functools import partial

import pytest
import torch
from hydra import compose, initialize_config_dir

from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.cli.train import CONFIG_DIR, prepare
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.geometry import FixedPoints
from sciml.models import MLP
from sciml.problem import Term
from sciml.train import Trainer
from sciml.train.point_budget import drawn_points, within_budget

pytestmark = pytest.mark.usefixtures("one_thread")


def poisson_trainer(batch_size: dict[str, int], **kwargs) -> Trainer:
    torch.manual_seed(0)
    problem = Poisson(dim=2, batch_size=batch_size)
    model = MLP(2, 1, width=16, depth=2, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights({"bc": 10.0}), partial(optim.adam, lr=1e-3), steps=3,
                   seed=0, eval_every=0, log_every=0, progress=False, resample=False, compile=False, **kwargs)


def test_counts_scale_in_proportion_and_the_run_is_the_one_declared_with_them():
    budgeted = poisson_trainer({"pde": 768, "bc": 256}, point_budget=256)
    assert {n: t.batch_size for n, t in budgeted.terms.items()} == {"pde": 192, "bc": 64}
    assert budgeted.info["points"] == "256 a step, the problem's 1024 scaled to trainer.point_budget=256"
    declared = poisson_trainer({"pde": 192, "bc": 64})
    assert "points" not in declared.info
    for trainer in (budgeted, declared):
        trainer.fit()
    for a, b in zip(budgeted.model.parameters(), declared.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_problem_within_the_budget_is_left_as_declared():
    terms = Poisson(dim=2, batch_size={"pde": 100, "bc": 20}).terms()
    assert within_budget(terms, 120) is terms and within_budget(terms, 0) is terms


def test_shared_points_follow_their_source_and_a_single_point_stays():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=["pde=pinnacle_ns2d_c", "model.width=8", "model.depth=1",
                                           "optimizer=adam", "trainer.steps=1", "trainer.resample=false",
                                           "trainer.point_budget=1434", "trainer.gpinn.enabled=true",
                                           "trainer.gpinn.terms=[mom_x]", "trainer.progress=false",
                                           "trainer.plot=false"])
    trainer = prepare(cfg, None, {})
    sizes = {n: t.batch_size for n, t in trainer.terms.items()}
    assert sizes["mom_x"] == sizes["mom_y"] == sizes["cont"] == 10240 // 10
    assert sizes["top_u"] == sizes["top_v"] == 51 and sizes["wall_u"] == 153
    assert sizes["p_point"] == 1  # the gauge point is a fixed set: kept, not counted (14,336 drawn, scaled to 10 %)
    assert {sizes[n] for n in sizes if n.startswith("mom_x_d")} == {1024}  # gPINN terms take their residual's
    points = trainer.sample()
    assert points["mom_y"][0] is points["mom_x"][0] and points["mom_x"][0].shape[0] == 1024
    assert drawn_points(trainer.terms) <= 1434


def test_fixed_points_keep_their_count_and_do_not_count():
    terms = Poisson(dim=2, batch_size={"pde": 300, "bc": 100}).terms()
    data = torch.rand(50, 2)
    terms["data"] = Term(FixedPoints(data), lambda u: u.value, 50)
    scaled = within_budget(terms, 200)
    assert drawn_points(terms) == 400
    assert {n: t.batch_size for n, t in scaled.items()} == {"pde": 150, "bc": 50, "data": 50}
    assert scaled["data"] is terms["data"]


@pytest.mark.parametrize("value", [-1, 2.5, "many", True])
def test_a_budget_that_is_not_a_count_is_refused(value):
    with pytest.raises(ConfigError, match="trainer.point_budget"):
        poisson_trainer({"pde": 10, "bc": 10}, point_budget=value)
