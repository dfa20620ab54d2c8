"""The compiled loss evaluation (``trainer.compile``): the same training as eager, eager where it does not apply."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch._dynamo
from test_combinations import compose_config  # tests/ is on the path
from torch._dynamo.utils import counters

from pdes.helmholtz import Helmholtz
from sciml import optim
from sciml.balancing import Balancer, FixedWeights, LRAPinnacle, PCGrad
from sciml.cli.train import prepare
from sciml.engines import Engine, HutchinsonEngine, TaylorEngine
from sciml.errors import ConfigError
from sciml.models import MLP
from sciml.train import RunSettings, Trainer

STEPS = 20


class LossLog:
    """Each step's losses as floats."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_step_end(self, trainer: Trainer, losses: dict[str, torch.Tensor]) -> None:
        self.rows.append({name: float(value.detach()) for name, value in losses.items()})


def trainer(compile: bool | str, engine: Engine | None = None, optimizer=None, log: LossLog | None = None,
            steps: int = STEPS, balancer: Balancer | None = None, **options) -> Trainer:
    """Helmholtz on 32 + 32 fresh points per step, a 2×8 tanh MLP, float64, seed 0; ``options`` go to the
    trainer."""
    torch.manual_seed(0)
    model = MLP(2, 1, width=8, depth=2)
    return Trainer(Helmholtz(batch_size={"pde": 32, "bc": 32}), model, engine or Engine(), balancer or FixedWeights(),
                   optimizer or partial(optim.adam, lr=1e-2), steps=steps, eval_every=0, log_every=0,
                   metrics=[], progress=False, plot=False, dtype=torch.float64, compile=compile,
                   run=RunSettings(callbacks=[log] if log else []), **options)


def test_compiled_steps_match_eager(one_thread):
    logs = {}
    params = {}
    for setting in (True, False):
        logs[setting] = LossLog()
        t = trainer(setting, log=logs[setting])
        torch._dynamo.reset()
        counters.clear()
        t.fit()
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
        if setting:
            assert t.compile_route.startswith("compiled")
            # every step's evaluation is compiled: the engine's jet plan (sciml.engines.base.JetPlan) is learned
            # from an eager evaluation before the first one, which is discarded
            assert t.compiled_losses.calls == {"compiled": STEPS, "eager": 0}
            # one graph for all the steps' fresh points: nothing in the evaluation guards on the points' identity
            assert counters["stats"]["unique_graphs"] == 1
            # points of another shape (a final partial batch) are evaluated eagerly, not recompiled
            points = {name: (x[:5], data) for name, (x, data) in t.sample().items()}
            eager = t.losses(points)
            torch.testing.assert_close(t.compiled_losses(points), eager, rtol=0, atol=0)
            assert t.compiled_losses.calls["eager"] == 1
        else:
            assert t.compiled_losses is None and t.compile_route == "eager: trainer.compile=false"
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert len(logs[True].rows) == STEPS
    for a, b in zip(logs[True].rows, logs[False].rows):
        assert a.keys() == b.keys()
        for name in a:
            assert a[name] == pytest.approx(b[name], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("method, compiled, eager", [("rad", STEPS, 0), ("rar", 4, STEPS - 4)])
@pytest.mark.parametrize("resample", [True, False])
def test_adaptive_sampling_trains_compiled_as_eager(method, compiled, eager, resample, one_thread):
    # adaptive sampling only places the points: RAD's redrawn sets keep their shapes and stay compiled, RAR's
    # grown sets (from the adaptation after step 4) have new shapes and run eagerly
    adaptive = {"method": method, "every": 4, "add": 3, "candidates": 128}
    params = {}
    for setting in (True, False):
        t = trainer(setting, adaptive=adaptive, resample=resample)
        t.fit()
        assert t.compile_route.startswith("compiled") == setting
        if setting:
            assert t.compiled_losses.calls == {"compiled": compiled, "eager": eager}
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_techniques_that_change_the_residuals_stay_eager():
    gpinn = trainer(True, gpinn={"enabled": True})
    assert gpinn.compile_route == "eager: technique(s) gpinn change the residuals (only point placement is compiled)"


@pytest.mark.parametrize("balancer", [LRAPinnacle, PCGrad])
@pytest.mark.parametrize("engine", [Engine, partial(TaylorEngine, num_dims=3)])
def test_balancers_with_per_term_gradients_train_compiled_as_eager(balancer, engine, one_thread):
    # per-term gradients differentiate one compiled graph several times (retain_graph=True)
    params = {}
    for setting in (True, False):
        t = trainer(setting, engine=engine(), balancer=balancer(), steps=6)
        t.fit()
        assert t.compile_route.startswith("compiled") == setting
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_compiled_graph_can_be_differentiated_per_term_at_the_protocol_size(one_thread):
    # in float32, PINNacle Poisson2d-CG's protocol set (10,240 + 1,147 + 901 points) made AOTAutograd donate the
    # saved buffers of the compiled losses, and the annealing balancer's second backward was refused (float64 and
    # smaller sets were not; whether it shows also depends on compiled artifacts cached on disk, so the flag that
    # prevents it is checked too)
    trainer = prepare(compose_config(["recipe=pinnacle", "pde=pinnacle_poisson2d_cg", "balancer=lra_pinnacle",
                                      "dtype=float32", "trainer.compile=true", "trainer.steps=3"]), None, {})
    assert torch._functorch.config.donated_buffer is False
    trainer.fit()
    assert trainer.compiled_losses.calls["compiled"] == 3
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


@pytest.mark.parametrize("engine", [TaylorEngine(num_dims=3), HutchinsonEngine(num_probes=2)])
def test_compiled_jet_tail_trains_as_eager(engine, one_thread):
    """Stochastic engines compile the model's jet after the first layer: the same parameters after the steps
    (float64, same draws) as the eager tail, and Gauss-Newton's per-point Jacobian still traces it eagerly."""
    params = {}
    for setting in (True, False):
        t = trainer(setting, engine=engine, steps=6)
        assert t.model.compile_tail is setting and t.compiled_losses is None
        t.fit()
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # Adam then Levenberg-Marquardt: the Gauss-Newton steps (Jacobians by vmap or batched backward) run eagerly
    phases = [partial(optim.adam, lr=1e-2), partial(optim.lm)]
    for setting in (True, False):
        t = trainer(setting, engine=engine, optimizer=partial(optim.chain, switch=[2], phases=phases), steps=4)
        t.fit()
        assert not t.model.compile_tail  # off in the last (Gauss-Newton) phase
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_auto_compiles_the_jet_tail_of_long_runs_only():
    assert not trainer("auto", engine=TaylorEngine(num_dims=1)).model.compile_tail
    assert trainer("auto", engine=TaylorEngine(num_dims=1), steps=1000).model.compile_tail
    assert not trainer(True, engine=TaylorEngine(num_dims=1, jets="autograd")).model.compile_tail


def test_unknown_setting_refused():
    with pytest.raises(ConfigError, match="trainer.compile") as error:
        trainer("sometimes")
    assert "\n" not in str(error.value)


def test_stochastic_engine_and_gauss_newton_phases_run_eagerly(one_thread):
    t = trainer(True, engine=HutchinsonEngine(num_probes=2))
    assert t.compiled_losses is None and t.model.compile_tail and "jet tail" in t.compile_route
    assert t.fit()["compile"] == t.compile_route
    t = trainer(False, engine=HutchinsonEngine(num_probes=2))
    assert t.compiled_losses is None and not t.model.compile_tail
    t = trainer(True, optimizer=partial(optim.lm))
    assert t.compiled_losses is None and t.compile_route == "eager: only Gauss-Newton phases"
    # Adam then Levenberg-Marquardt: the Adam steps compiled, the Gauss-Newton steps (per-point Jacobians,
    # damping retries) eager
    phases = [partial(optim.adam, lr=1e-2), partial(optim.lm)]
    t = trainer(True, optimizer=partial(optim.chain, switch=[3], phases=phases), steps=5)
    t.fit()
    assert t.compiled_losses.calls == {"compiled": 3, "eager": 0}


def test_lbfgs_line_searches_run_compiled_as_eager(one_thread):
    """Adam then L-BFGS with a strong-Wolfe line search on fixed points: every evaluation of the L-BFGS steps
    (the decision's and the line search's) goes through the compiled graph, and the parameters after the run
    equal the eager run's to round-off (float64)."""
    phases = [partial(optim.adam, lr=1e-2), partial(optim.lbfgs, line_search="strong_wolfe")]
    params = {}
    for setting in (True, False):
        t = trainer(setting, optimizer=partial(optim.chain, switch=[3], phases=phases), steps=8)
        t.fit()
        params[setting] = [p.detach().clone() for p in t.model.parameters()]
        if setting:
            assert t.compile_route == "compiled: first-order and closure phases"
            calls = t.compiled_losses.calls
            # 2 compiled Adam steps (the first records the jet plan), then at least one evaluation per L-BFGS step
            assert calls["eager"] == 0 and calls["compiled"] > 2 + 5
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    assert not torch.equal(params[True][0], next(trainer(False).model.parameters()))  # it trained


def test_auto_compiles_long_cpu_runs_only():
    assert trainer("auto").compiled_losses is None
    assert "auto" in trainer("auto").compile_route
    assert trainer("auto", steps=200_000).compiled_losses is not None  # 200k steps × 64 points × 2 ≥ 2·10⁷


def test_scaling_flag_follows_loaded_statistics():
    plain = MLP(2, 1, normalize=False)
    scaled = MLP(2, 1, input_stats=(torch.tensor([0.5, 0.5]), torch.tensor([2.0, 2.0])))
    assert not plain.scaled_input and scaled.scaled_input
    plain.load_state_dict(scaled.state_dict())
    assert plain.scaled_input
    x = torch.rand(4, 2)
    torch.testing.assert_close(plain(x), scaled(x))
