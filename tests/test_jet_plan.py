"""The exact engine's jet plan: only the derivatives the residuals ask for, with the values of the full jet."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from pdes.pinnacle.burgers1d import Burgers1D
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine, autograd_jet
from sciml.engines.base import JetPlan
from sciml.fields import Field
from sciml.models import MLP
from sciml.models.modified_mlp import ModifiedMLP
from sciml.train import Trainer

NU = 0.01 / math.pi


def burgers(u: Field) -> torch.Tensor:
    """``u_t + u u_x − ν u_xx`` in ``(x, t)``: first derivatives along both, a second one along ``x`` only."""
    return u.d("t") + u.value * u.d("x") - NU * u.d("x", "x")


def field(model, x: torch.Tensor, engine: Engine) -> Field:
    return Field(model, x, ["x", "t"], engine, spatial_dims=[0])


@pytest.fixture
def points() -> torch.Tensor:
    return torch.rand(40, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1


def test_plan_from_requests_puts_second_order_directions_first():
    assert JetPlan.from_requests({0, 1}, {0}) == JetPlan((0, 1), 1)
    plan = JetPlan.from_requests({0, 1, 2}, {2})
    assert plan == JetPlan((2, 0, 1), 1)
    assert plan.dims(3) == [2, 0, 1] and JetPlan((0, 1, 2), 2).dims(3) is None


@pytest.mark.parametrize("make", [partial(MLP, 2, 1, width=12, depth=3),
                                  partial(ModifiedMLP, 2, 1, width=12, depth=3)])
def test_taylor_with_fewer_second_order_directions_matches_the_full_jet(make, points):
    torch.manual_seed(0)
    model = make().double()
    y, d1, d2 = model.taylor(points, torch.tensor([1, 0]))
    yp, d1p, d2p = model.taylor(points, torch.tensor([1, 0]), second=1)
    assert d2p.shape == (40, 1, 1)
    torch.testing.assert_close(yp, y, rtol=0, atol=1e-14)
    torch.testing.assert_close(d1p, d1, rtol=0, atol=1e-14)
    torch.testing.assert_close(d2p, d2[:, :1], rtol=1e-12, atol=1e-14)
    _, _, none = model.taylor(points, None, second=0)
    assert none.shape == (40, 0, 1)


def planned(make, residual, points: torch.Tensor, plan: JetPlan):
    """A float64 model from ``make``, an engine that learned ``plan`` on ``residual``'s first evaluation, and
    ``(model, field, recorded, planned)``: the field of the planned evaluation, the residual recorded while
    learning (full jets) and the residual under the plan."""
    torch.manual_seed(0)
    model = make().double()
    engine = Engine()
    recorded = engine.learn_plan(lambda: residual(field(model, points, engine)))
    assert engine.plan == plan
    u = field(model, points, engine)
    return model, u, recorded, residual(u)


def burgers_reference(model, points: torch.Tensor) -> torch.Tensor:
    """Burgers' residual from nested autograd."""
    y, d1, d2 = autograd_jet(model, points, None)
    return d1[:, 1, 0] + y[:, 0] * d1[:, 0, 0] - NU * d2[:, 0, 0]


@pytest.mark.parametrize("make", [partial(MLP, 2, 1, width=12, depth=3),
                                  partial(ModifiedMLP, 2, 1, width=12, depth=3)])
def test_learned_plan_gives_the_residual_of_the_full_jet(make, points):
    model, u, full, residual = planned(make, burgers, points, JetPlan((0, 1), 1))
    assert u.cache["jet"][1].shape[1] == 1  # no u_tt channels
    torch.testing.assert_close(residual, full, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(residual, burgers_reference(model, points), rtol=1e-10, atol=1e-12)


def test_requests_outside_the_plan_get_the_full_jet(points):
    torch.manual_seed(0)
    model = MLP(2, 1, width=12, depth=3).double()
    engine = Engine()
    engine.learn_plan(lambda: field(model, points, engine).d("x", "x"))
    assert engine.plan == JetPlan((0,), 1)
    _, d1, d2 = autograd_jet(model, points, None)
    u = field(model, points, engine)
    torch.testing.assert_close(u.d("x", "x"), d2[:, 0, 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(u.d("t", "t"), d2[:, 1, 0], rtol=1e-10, atol=1e-12)  # u_tt: not planned
    torch.testing.assert_close(u.grad, d1[..., 0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(field(model, points, engine).hessian_diag[:, 0], d2[:, 0, 0], rtol=1e-10,
                               atol=1e-12)


def burgers_trainer(plans: bool, steps: int = 6) -> Trainer:
    torch.manual_seed(0)
    engine = Engine()
    engine.plans_jets = plans
    problem = Burgers1D(batch_size={"pde": 64, "ic": 32, "dirichlet": 32})
    return Trainer(problem, MLP(2, 1, width=10, depth=2), engine, FixedWeights(), partial(optim.adam, lr=1e-2),
                   steps=steps, eval_every=0, log_every=0, metrics=[], progress=False, plot=False,
                   dtype=torch.float64, compile=False)


BURGERS_OPERATOR = (((1, 1.0),), ((0, -NU),))  # u_t − ν u_xx


def test_trainer_learns_the_plan_on_its_first_step_and_trains_as_with_full_jets(one_thread):
    params = {}
    for plans in (True, False):
        t = burgers_trainer(plans)
        t.fit()
        # Burgers1D writes u_t − ν u_xx as one operator: the jet carries u_x and that channel only
        assert t.engine.plan == (JetPlan((0,), 0, (BURGERS_OPERATOR,)) if plans else None)
        params[plans] = [p.detach().clone() for p in t.model.parameters()]
    for a, b in zip(params[True], params[False]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def operator_burgers(u: Field) -> torch.Tensor:
    return u.operator({"t": 1.0}, {"x": -NU}) + u.value * u.d("x")


@pytest.mark.parametrize("make", [partial(MLP, 2, 1, width=12, depth=3),
                                  partial(MLP, 2, 1, width=12, depth=3, adaptive="laaf"),
                                  partial(ModifiedMLP, 2, 1, width=12, depth=3)])
def test_operator_channel_gives_the_residual_of_the_derivatives(make, points):
    model, u, recorded, residual = planned(make, operator_burgers, points, JetPlan((0,), 0, (BURGERS_OPERATOR,)))
    if model.operator_channels:  # one first-order and one operator channel (else the expanded plan)
        assert u.cache["jet"][0].shape[1] == 1 and u.cache["jet"][1].shape[1] == 1
    reference = burgers_reference(model, points)
    torch.testing.assert_close(recorded, reference, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(residual, reference, rtol=1e-10, atol=1e-12)
    # parameters' gradients agree too (the operator channel is differentiated like any other)
    grads = torch.autograd.grad(residual.square().sum(), list(model.parameters()))
    expected = torch.autograd.grad(reference.square().sum(), list(model.parameters()))
    for a, b in zip(grads, expected):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_taylor_operator_channels_against_the_full_jet():
    torch.manual_seed(1)
    model = MLP(3, 2, width=10, depth=2, input_stats=(torch.tensor([0.1, -0.2, 0.3]),
                                                      torch.tensor([1.5, 0.5, 2.0]))).double()
    x = torch.rand(25, 3, dtype=torch.float64)
    a = torch.randn(2, 3, dtype=torch.float64)
    b = torch.randn(2, 2, dtype=torch.float64)  # over the jet's directions (2, 0)
    y, d1, d2 = model.taylor(x, torch.tensor([2, 0]), operators=(a, b))
    yf, d1f, d2f = model.taylor(x)
    torch.testing.assert_close(y, yf)
    torch.testing.assert_close(d1, d1f[:, [2, 0]], rtol=1e-12, atol=1e-14)
    expected = torch.einsum("ki,nio->nko", a, d1f)
    expected = expected + torch.einsum("kj,njo->nko", b, d2f[:, [2, 0]])
    torch.testing.assert_close(d2, expected, rtol=1e-10, atol=1e-12)


def test_operator_under_a_stochastic_engine_sums_its_derivatives(points):
    from sciml.engines import TaylorEngine

    torch.manual_seed(0)
    model = MLP(2, 1, width=12, depth=3).double()
    exact = operator_burgers(field(model, points, Engine()))
    sampled = operator_burgers(field(model, points, TaylorEngine(num_dims=2)))
    torch.testing.assert_close(sampled, exact, rtol=1e-10, atol=1e-12)


def test_empty_operator_is_refused(points):
    with pytest.raises(ValueError, match="nonzero"):
        field(MLP(2, 1, width=4, depth=1).double(), points, Engine()).operator({"t": 0.0})
