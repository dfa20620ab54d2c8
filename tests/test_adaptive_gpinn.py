"""Residual-based adaptive sampling (RAR, RAD; Wu et al. 2023) and gPINN derivative terms (Yu et al. 2022):
the numbers each one is defined by, checked against brute force and finite differences, a resumed run that
continues identically, and short runs under a first-order, a quasi-Newton and a Gauss-Newton optimizer."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from test_combinations import HELMHOLTZ, KINDS, compose_config, train  # tests/ is on the path

from pdes.nls import NLS
from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.cli.train import prepare
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.models import MLP
from sciml.optim.gauss_newton import residual_jacobian
from sciml.train import Trainer
from sciml.train.checkpointing import atomic_save, load_checkpoint
from sciml.train.distributed import World


def make_trainer(problem, steps: int = 6, optimizer=None, **options) -> Trainer:
    torch.manual_seed(0)
    model = MLP(problem.dim, len(problem.network_outputs), width=10, depth=2, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights(), optimizer or partial(optim.adam, lr=1e-2), steps=steps,
                   eval_every=0, log_every=0, metrics=[], progress=False, plot=False, dtype=torch.float64, **options)


def poisson(pde: int = 32, bc: int = 16) -> Poisson:
    return Poisson(dim=2, batch_size={"pde": pde, "bc": bc})


def draw(trainer: Trainer, name: str, n: int) -> torch.Tensor:
    return trainer.terms[name].sampler.sample(n, trainer.generator, trainer.dtype)


def magnitude(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    """``Σ_k |r_k|`` of the raw pde residual, all points in one evaluation."""
    r = trainer.terms["pde"].residual(trainer.field(x)).detach()
    return r.reshape(x.shape[0], -1).abs().sum(dim=1)


def rows_in(rows: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """The index in ``table`` of every row of ``rows`` (each must occur)."""
    match = (rows[:, None, :] == table[None, :, :]).all(dim=2)
    assert bool((match.sum(dim=1) == 1).all()), "a row is not in the table"
    return match.int().argmax(dim=1)


# --- gPINN ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("problem", [poisson, partial(NLS, batch_size={"pde": 16, "ic": 8, "bc": 8})],
                         ids=["poisson", "nls"])
def test_gpinn_terms_are_the_coordinate_derivatives_of_the_residual(problem, one_thread):
    """``<term>_d<var>`` is ∂r/∂var: a central difference of the residual (float64, h = 1e-5) agrees to 1e-6,
    for a scalar residual with an explicit source term (Poisson) and a two-component one (NLS)."""
    p = problem()
    trainer = make_trainer(p, gpinn={"enabled": True, "weight": 0.5})
    names = [f"pde_d{v}" for v in p.variables]
    assert list(trainer.terms)[-len(names):] == names and all(trainer.terms[n].weight == 0.5 for n in names)
    x = draw(trainer, "pde", 24)
    residual, h = trainer.terms["pde"].residual, 1e-5
    for j, name in enumerate(names):
        step = torch.zeros_like(x)
        step[:, j] = h
        central = (residual(trainer.field(x + step)) - residual(trainer.field(x - step))).detach() / (2 * h)
        derivative = trainer.terms[name].residual(trainer.field(x))
        assert derivative.shape == central.shape
        assert torch.allclose(derivative.detach(), central, rtol=1e-6, atol=1e-6), name
        assert derivative.requires_grad  # the loss keeps its gradient in the parameters


def test_gpinn_per_point_jacobian_equals_the_backward_one(one_thread):
    """Gauss-Newton's per-point Jacobian of a derivative term (forward mode inside ``torch.func``) equals the
    Jacobian of the eagerly computed ∂r/∂x by batched backward passes."""
    trainer = make_trainer(poisson(pde=12, bc=8), gpinn={"enabled": True, "variables": ["y"]})
    points = trainer.sample()
    params = [p for p in trainer.trainable.parameters() if p.requires_grad]
    r, jac = trainer.term_jacobians(points, params)["pde_dy"]
    assert trainer.jacobian_route["pde_dy"] == "per point"
    x, _ = points["pde_dy"]
    assert torch.equal(x, points["pde"][0])  # the derivative term takes its residual term's points
    eager = trainer.terms["pde_dy"].residual(trainer.field(x)).reshape(-1)
    assert torch.allclose(r, eager.detach(), rtol=1e-12, atol=1e-12)
    assert torch.allclose(jac, residual_jacobian(eager, params), rtol=1e-9, atol=1e-9)


def test_gpinn_refuses_what_it_cannot_differentiate(one_thread):
    result, message = train([*HELMHOLTZ, "trainer.gpinn.enabled=true", "engine=sdgd", "engine.num_dims=1"])
    assert result == "refused" and message.startswith("trainer.gpinn: engine 'sdgd'")

    class Mixed(Poisson):
        def pde_residual(self, u: Field) -> torch.Tensor:
            return u.d("x", "y")

    trainer = make_trainer(Mixed(dim=2, batch_size={"pde": 8, "bc": 8}), gpinn={"enabled": True})
    with pytest.raises(ConfigError, match="mixed partial"):
        trainer.train_step()


def test_gpinn_differentiates_the_problems_pde_terms_by_default(one_thread):
    """``terms: null`` is the problem's PDE residual terms (Navier-Stokes: mom_x, mom_y, cont), as for balancers."""
    from pdes.pinnacle.ns2d import NS2DLidDriven

    problem = NS2DLidDriven(batch_size={"mom_x": 8, "mom_y": 8, "cont": 8, "top_u": 4, "top_v": 4, "wall_u": 4,
                                        "wall_v": 4, "p_point": 1})
    trainer = make_trainer(problem, gpinn={"enabled": True})
    added = sorted(set(trainer.terms) - set(problem.terms()))
    assert added == sorted(f"{t}_d{v}" for t in ("mom_x", "mom_y", "cont") for v in ("x", "y"))
    points = trainer.sample()
    assert points["cont_dy"] is points["cont"] is points["mom_x"]  # the residual's points, shared
    losses, total = trainer.train_step()
    assert set(losses) == set(trainer.terms) and torch.isfinite(total)


# --- RAR ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("problem", [poisson, partial(NLS, batch_size={"pde": 32, "ic": 8, "bc": 8})],
                         ids=["poisson", "nls"])
def test_rar_adds_the_candidates_with_the_largest_residual(problem, one_thread):
    """RAR-G: the ``add`` candidates with the largest ``Σ_k |r_k|`` (brute force over all 5000, which the
    technique evaluates in two chunks) join the fixed set, and again at every adaptation."""
    trainer = make_trainer(problem(), resample=False,
                           adaptive={"method": "rar", "every": 1, "add": 5, "candidates": 5000})
    rar = trainer.techniques["adaptive"]
    state = trainer.generator.get_state()
    rar.adapt("pde")
    trainer.generator.set_state(state)
    candidates = draw(trainer, "pde", 5000)
    largest = magnitude(trainer, candidates).argsort(descending=True)[:5]
    added = rar.added["pde"][0]
    assert sorted(rows_in(added, candidates).tolist()) == sorted(largest.tolist())
    x = trainer.points_for(trainer.plan.at(0))["pde"][0]
    assert x.shape[0] == 32 + 5
    assert torch.equal(x[:32], trainer._fixed_points["pde"][0]) and torch.equal(x[32:], added)
    trainer.train_step()  # every=1: one more adaptation at the end of the step
    assert rar.added["pde"][0].shape[0] == 10 and torch.equal(rar.added["pde"][0][:5], added)
    assert trainer.points_for(trainer.plan.at(1))["pde"][0].shape[0] == 32 + 10


def test_rar_with_fresh_points_appends_the_added_points_to_every_batch(one_thread):
    trainer = make_trainer(poisson(), resample=True, adaptive={"method": "rar", "every": 1, "add": 3,
                                                               "candidates": 50}, gpinn={"enabled": True})
    trainer.train_step()
    first = trainer.points_for(trainer.plan.at(1))
    second = trainer.points_for(trainer.plan.at(1))
    added = trainer.techniques["adaptive"].added["pde"][0]
    for points in (first, second):
        assert points["pde"][0].shape[0] == 35 and torch.equal(points["pde"][0][32:], added)
        assert points["pde_dx"][0] is points["pde"][0]  # gPINN's terms see the adapted points
    assert not torch.equal(first["pde"][0][:32], second["pde"][0][:32])


# --- RAD ----------------------------------------------------------------------------------------------------
def test_rad_draws_follow_the_residual_density(one_thread):
    """RAD (Wu et al., with k = 2, c = 0.5): the pool's probabilities are ``ε²/mean(ε²) + 0.5`` normalised,
    and fresh single-point draws from a 6-point pool hit each point with these frequencies (20,000 draws,
    within five standard deviations)."""
    trainer = make_trainer(poisson(pde=1), resample=True,
                           adaptive={"method": "rad", "every": 1, "candidates": 6, "k": 2.0, "c": 0.5})
    rad = trainer.techniques["adaptive"]
    state = trainer.generator.get_state()
    rad.adapt("pde")
    trainer.generator.set_state(state)
    pool = draw(trainer, "pde", 6)
    assert torch.equal(rad.pool["pde"][0], pool)
    eps = magnitude(trainer, pool)
    density = eps**2 / (eps**2).mean() + 0.5
    p = density / density.sum()
    assert torch.allclose(rad.probabilities["pde"], p, rtol=1e-10)
    assert float(p.max() / p.min()) > 2  # the residual makes a difference on this pool
    n = 20_000
    hits = torch.cat([rad.place({"pde": (pool[:1], {})}, fresh=True)["pde"][0] for _ in range(n)])
    frequency = torch.bincount(rows_in(hits, pool), minlength=6).double() / n
    assert bool(((frequency - p).abs() <= 5 * (p * (1 - p) / n).sqrt()).all()), (frequency, p)


def test_rad_fixed_set_is_a_draw_without_replacement_kept_until_the_next_adaptation(one_thread):
    trainer = make_trainer(poisson(pde=8), resample=False, adaptive={"method": "rad", "every": 2, "candidates": 8})
    trainer.train_step()
    rad = trainer.techniques["adaptive"]
    assert not rad.pool  # before the first adaptation the points are the sampler's
    assert torch.equal(trainer.points_for(trainer.plan.at(1))["pde"][0], trainer._fixed_points["pde"][0])
    trainer.train_step()
    x = trainer.points_for(trainer.plan.at(2))["pde"][0]
    assert torch.equal(x, trainer.points_for(trainer.plan.at(2))["pde"][0])
    # a batch as large as the pool, without replacement: every pool point exactly once
    assert sorted(rows_in(x, rad.pool["pde"][0]).tolist()) == list(range(8))
    assert torch.equal(trainer.points_for(trainer.plan.at(2))["bc"][0], trainer._fixed_points["bc"][0])


def test_data_parallel_slices_make_up_the_single_process_set(one_thread):
    """Every rank adapts to the same set and keeps its slice: the slices' union is the single-process set."""
    options = {"adaptive": {"method": "rar", "every": 1, "add": 4, "candidates": 40}, "resample": False}
    single = make_trainer(poisson(), **options)
    ranks = [make_trainer(poisson(), **options) for _ in range(2)]
    for rank, trainer in enumerate(ranks):
        trainer.world = trainer.techniques["adaptive"].world = World(rank, 2)
    sets = []
    for trainer in (single, *ranks):
        phase = trainer.plan.at(0)
        trainer.points_for(phase)  # the fixed set is drawn first, as in a run
        trainer.techniques["adaptive"].adapt("pde")
        sets.append(trainer.points_for(phase)["pde"][0])
    union = torch.cat(sets[1:])
    assert union.shape == sets[0].shape
    assert sorted(rows_in(union, sets[0]).tolist()) == list(range(sets[0].shape[0]))


# --- refusals -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides,match", [
    (["trainer.adaptive.method=foo"], "trainer.adaptive.method: unknown method 'foo'"),
    (["trainer.adaptive.method=rad", "trainer.adaptive.candidates=10"], "trainer.adaptive.candidates"),
    (["trainer.adaptive.method=rar", "trainer.adaptive.terms=[pde_dx]", "trainer.gpinn.enabled=true"],
     "takes the points of term 'pde'"),
    (["trainer.adaptive.method=rar", "trainer.adaptive.k=-1"], "trainer.adaptive.k"),
])
def test_adaptive_refusals_name_the_option(overrides, match, one_thread):
    result, message = train([*HELMHOLTZ, *overrides])
    assert result == "refused" and match in message


def test_observation_terms_cannot_be_adapted(one_thread):
    result, message = train(["pde=robin_identification", "pde.batch_size=16", "model.width=8", "model.depth=2",
                             "trainer.adaptive.method=rar", "trainer.adaptive.terms=[pde,data]"])
    assert result == "refused" and "term 'data' has fixed points (observations)" in message


# --- resume and short runs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method,resample,optimizer", [("rar", False, "adam"), ("rar", True, "adam"),
                                                        ("rad", False, "adam"), ("rad", True, "adam"),
                                                        ("rar", True, "lm")])
def test_resumed_run_continues_identically(method, resample, optimizer, tmp_path, one_thread):
    """6 steps straight equal 3 steps, a checkpoint written and read back (weights-only) and 3 more steps in a new
    trainer, with adaptations at steps 2, 4 and 6 (gPINN terms on)."""
    factory = partial(optim.adam, lr=1e-2) if optimizer == "adam" else partial(optim.lm)

    def build() -> Trainer:
        return make_trainer(poisson(), optimizer=factory, resample=resample, gpinn={"enabled": True},
                            adaptive={"method": method, "every": 2, "add": 3, "candidates": 64})

    straight = build()
    for _ in range(6):
        straight.train_step()
    first = build()
    for _ in range(3):
        first.train_step()
    state = load_checkpoint(atomic_save(first.training_state(), tmp_path / "step3.pt"))
    resumed = build()
    resumed.load_training_state(state)
    for _ in range(3):
        resumed.train_step()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)
    a, b = straight.techniques["adaptive"].state_dict(), resumed.techniques["adaptive"].state_dict()
    assert a["steps"] == b["steps"] == 6
    for key in ("added", "current"):
        for name in a[key]:
            assert torch.equal(a[key][name]["x"], b[key][name]["x"])
    if method == "rar":
        assert a["added"]["pde"]["x"].shape[0] == 9


@pytest.mark.parametrize("optimizer", KINDS)
def test_each_technique_trains_under_every_optimizer_kind(optimizer, one_thread):
    """4 steps of RAR and of RAD, each with gPINN, composed as ``sciml-train`` composes them (the step contract
    of these runs is checked by tests/test_combinations.py): the adaptations happen (every 2 steps) and the
    gPINN terms are balanced as ordinary terms."""
    overrides = [*HELMHOLTZ, f"optimizer={optimizer}", "trainer.gpinn.enabled=true",
                 "trainer.adaptive.every=2", "trainer.adaptive.add=4", "trainer.adaptive.candidates=64"]
    for method in ("rar", "rad"):
        trainer = prepare(compose_config([*overrides, f"trainer.adaptive.method={method}"]), None, {})
        for _ in range(4):
            losses, total = trainer.train_step()
            assert torch.isfinite(total)
        assert set(losses) == {"pde", "bc", "pde_dx", "pde_dy"} and len(trainer.balancer.objective_weights) == 4
        technique = trainer.techniques["adaptive"]
        assert (technique.added["pde"][0].shape[0] == 8) if method == "rar" else ("pde" in technique.current)
