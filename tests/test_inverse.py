"""Inverse problems: unknown scalars and fields trained with the network, their Laplace uncertainty, errors."""

import math
from functools import partial

import pytest
import torch
from torch import nn

from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.geometry import BoxSampler, FixedPoints
from sciml.models import MLP
from sciml.problem import Problem, Term
from sciml.train import Trainer
from sciml.uncertainty import Z95, interval, laplace_covariance, term_variances
from sciml.unknowns import Unknown, UnknownField, WithFields

D = torch.float64


@pytest.mark.parametrize("options,init", [({}, -0.7), ({"positive": True}, 0.3), ({"lower": 1.0}, 2.5),
                                          ({"upper": 2.0}, -1.0), ({"lower": -1.0, "upper": 3.0}, 0.4)])
def test_unknown_parametrisations(options, init):
    unknown = Unknown(init, **options)
    assert unknown.value == pytest.approx(init, rel=1e-12)
    raw = unknown.raw.detach().clone()
    step = 1e-6
    with torch.no_grad():
        unknown.raw.copy_(raw + step)
    plus = unknown.value
    with torch.no_grad():
        unknown.raw.copy_(raw - step)
    minus = unknown.value
    with torch.no_grad():
        unknown.raw.copy_(raw)
    assert unknown.derivative() == pytest.approx((plus - minus) / (2 * step), rel=1e-6)


@pytest.mark.parametrize("options,init", [({"positive": True}, 0.0), ({"lower": 0.0, "upper": 1.0}, 1.0),
                                          ({"lower": 2.0, "upper": 1.0}, 1.5), ({"positive": True, "lower": -1}, 1)])
def test_unknown_refuses_values_outside_its_range(options, init):
    with pytest.raises(ConfigError):
        Unknown(init, **options)


def test_laplace_covariance_is_the_least_squares_covariance():
    """With every parameter a scalar unknown, the Laplace covariance is the least-squares one
    σ̂² (XᵀX)⁻¹ with σ̂² = RSS / (n − p): the degrees-of-freedom correction recovers the unbiased estimate."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=g, dtype=D)
    r = 0.1 * torch.randn(200, generator=g, dtype=D)
    assert term_variances({"data": (r, x)}, {"data": None})["data"] == pytest.approx(float(r.square().mean()))
    cov, variances = laplace_covariance({"data": (r, x)}, {"data": None}, [0, 1, 2], prior=0.0)
    sigma2 = float(r.square().sum()) / (200 - 3)
    assert variances["data"] == pytest.approx(sigma2, rel=1e-10)
    torch.testing.assert_close(cov, sigma2 * torch.linalg.inv(x.T @ x))
    cov, variances = laplace_covariance({"data": (r, x)}, {"data": 0.5}, [0, 1, 2], prior=0.0)
    assert variances["data"] == 0.25
    torch.testing.assert_close(cov, 0.25 * torch.linalg.inv(x.T @ x))


def test_laplace_covariance_is_the_block_of_the_inverse():
    """Known variances: the scalars' block of H⁻¹ with the other parameters as nuisances; a term whose
    Jacobian vanishes is left out."""
    g = torch.Generator().manual_seed(1)
    jac = {"a": (torch.randn(40, generator=g, dtype=D), torch.randn(40, 6, generator=g, dtype=D)),
           "b": (torch.randn(30, generator=g, dtype=D), torch.randn(30, 6, generator=g, dtype=D)),
           "exact": (torch.zeros(10, dtype=D), torch.zeros(10, 6, dtype=D))}
    hessian = jac["a"][1].T @ jac["a"][1] / 2.0 + jac["b"][1].T @ jac["b"][1] / 0.5
    full = torch.linalg.inv(hessian)
    cov, _ = laplace_covariance(jac, {"a": 2.0**0.5, "b": 0.5**0.5, "exact": None}, [1, 4], prior=0.0)
    torch.testing.assert_close(cov, full[[1, 4]][:, [1, 4]])


def test_interval_maps_through_the_parametrisation():
    out = interval(2.0, 0.5, 0.04)
    assert out["std"] == pytest.approx(0.1) and out["ci95"] == pytest.approx([2.0 - Z95 * 0.1, 2.0 + Z95 * 0.1])


class Oscillation(Problem):
    """``u'' + c u = 0`` on ``[0, π]`` with observations of ``u = sin x`` (so ``c = 1``); an optional unknown
    that no residual uses, and an optional unknown field ``a(x)`` with ``a u' = cos x`` (``a = 1``)."""

    name = "oscillation"
    variables = ["x"]
    time_variable = None

    def __init__(self, unused: bool = False, field: bool = False) -> None:
        self.c = Unknown(0.5, positive=True)
        if unused:
            self.other = Unknown(1.0)
        self.outputs = ["u", "a"] if field else ["u"]
        if field:
            self.a = UnknownField([0], width=8, depth=2, init=0.5, positive=True)

    def bounds(self):
        return [(0.0, math.pi)]

    def exact(self, x):
        u = torch.sin(x)
        return torch.cat([u, torch.ones_like(u)], dim=1) if "a" in self.outputs else u

    def terms(self):
        x = torch.linspace(0, math.pi, 40, dtype=D).unsqueeze(1)
        terms = {"data": Term(FixedPoints(x, {"u": torch.sin(x)}), lambda f: f["u"].value - f.data["u"][:, 0], 40),
                 "pde": Term(BoxSampler(self.bounds()), lambda f: f["u"].d("x", "x") + self.c() * f["u"].value, 64)}
        if "a" in self.outputs:
            terms["flux"] = Term(BoxSampler(self.bounds()),
                                 lambda f: f["a"].value * f["u"].d("x") - torch.cos(f.x[:, 0]), 64)
        return terms


def oscillation_trainer(problem, optimizer, steps=60):
    torch.manual_seed(0)
    model = MLP(1, 1, width=16, depth=2, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights(), optimizer, steps=steps, resample=False,
                   eval_every=0, log_every=0, progress=False, plot=False, dtype=D)


def test_an_unknown_is_identified_with_its_interval(one_thread):
    trainer = oscillation_trainer(Oscillation(), partial(optim.lm), steps=40)
    summary = trainer.fit()
    c = summary["unknowns"]["c"]
    assert c["value"] == pytest.approx(1.0, abs=1e-3)
    assert c["ci95"][0] < 1.0 < c["ci95"][1] and 0 < c["std"] < 1e-2
    state = trainer.training_state()
    assert "unknowns" in state and torch.equal(state["unknowns"]["c.raw"], trainer.unknowns["c"].raw.detach())


class NoisyOscillation(Oscillation):
    """:class:`Oscillation` with observations ``sin x + N(0, σ²)``, σ known (``Term.noise_std``)."""

    sigma = 0.05

    def terms(self):
        terms = super().terms()
        x = terms["data"].sampler.x
        noisy = torch.sin(x) + self.sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=D)
        terms["data"] = Term(FixedPoints(x, {"u": noisy}), terms["data"].residual, 40, noise_std=self.sigma)
        return terms


def test_training_stops_when_the_data_reach_their_noise_level(tmp_path, one_thread):
    """The discrepancy principle: the run stops at the first step whose data loss is at most σ², logs and
    evaluates that step, and says so in the summary; without the option it trains on into the noise."""
    trainer = oscillation_trainer(NoisyOscillation(), partial(optim.lm), steps=60)
    trainer.stop_at_noise = True
    losses = []

    class DataLoss:
        def on_step_end(self, trainer, step_losses):
            losses.append(float(step_losses["data"].detach()))

    trainer.callbacks.append(DataLoss())
    summary = trainer.fit()
    assert summary["steps"] < 60 and "noise level" in summary["stopped"]
    assert losses[-1] <= NoisyOscillation.sigma ** 2 < min(losses[:-1])
    assert trainer.last_metrics  # the stopping step was evaluated
    full = oscillation_trainer(NoisyOscillation(), partial(optim.lm), steps=60).fit()
    assert full["steps"] == 60 and "stopped" not in full


def test_stopping_at_the_noise_level_needs_a_known_noise():
    with pytest.raises(ConfigError, match="stop_at_noise"):
        Trainer(Oscillation(), MLP(1, 1, width=4, depth=1), Engine(), FixedWeights(), partial(optim.adam),
                steps=2, progress=False, plot=False, stop_at_noise=True)


def test_an_unknown_in_no_residual_is_refused():
    trainer = oscillation_trainer(Oscillation(unused=True), partial(optim.adam))
    with pytest.raises(ConfigError, match="other"):
        trainer.train_step()


def test_an_unknown_field_is_an_output(one_thread):
    """``a`` comes from its own network, appended to the outputs; its derivative through the field equals
    autograd's; a few LM steps move ``a`` towards 1 and ``c`` towards 1."""
    problem = Oscillation(field=True)
    trainer = oscillation_trainer(problem, partial(optim.lm), steps=30)
    assert problem.network_outputs == ["u"] and trainer.net(torch.zeros(3, 1, dtype=D)).shape == (3, 2)
    x = torch.linspace(0.1, 3.0, 7, dtype=D).unsqueeze(1)
    f = Field(trainer.net, x, problem.variables, Engine(), outputs=problem.outputs)
    xg = x.clone().requires_grad_(True)
    a = problem.a(xg)[:, 0]
    da = torch.autograd.grad(a.sum(), xg)[0][:, 0]
    torch.testing.assert_close(f["a"].value, a.detach())
    torch.testing.assert_close(f["a"].d("x"), da)
    trainer.fit()
    assert float((problem.a(x).detach() - 1).abs().max()) < 0.05
    assert trainer.scalars["c"].value == pytest.approx(1, abs=1e-2)


@pytest.mark.parametrize("bounds", [{}, {"positive": True}, {"lower": -1.0, "upper": 3.0}, {"upper": 2.0}])
def test_field_jets_match_autograd(bounds):
    """``WithFields.taylor``: the network's and the field's value, first and second coordinate derivatives
    (the field on inputs 0 and 2 of three, through its range map) equal nested autograd's."""
    torch.manual_seed(0)
    composed = WithFields(MLP(3, 1, width=8, depth=2).double(), [UnknownField([0, 2], width=8, depth=2, **bounds)])
    composed.double()
    x = torch.rand(5, 3, dtype=D, requires_grad=True)
    y, d1, d2 = composed.taylor(x, None)
    out = composed(x)
    torch.testing.assert_close(y, out, rtol=1e-12, atol=1e-12)
    for k in range(2):
        grad = torch.autograd.grad(out[:, k].sum(), x, create_graph=True)[0]
        torch.testing.assert_close(d1[:, :, k], grad, rtol=1e-10, atol=1e-12)
        for i in range(3):
            second = torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i]
            torch.testing.assert_close(d2[:, i, k], second, rtol=1e-10, atol=1e-12)
    y_sub, d1_sub, _ = composed.taylor(x, torch.tensor([1, 2]))  # coordinate subsets: the field has no x_1
    torch.testing.assert_close(d1_sub, d1[:, 1:], rtol=1e-12, atol=1e-12)
    assert not hasattr(WithFields(nn.Linear(3, 1), []), "taylor")


def test_unknown_fields_must_be_the_last_outputs():
    problem = Oscillation(field=True)
    problem.outputs = ["a", "u"]
    with pytest.raises(ConfigError, match="last"):
        problem.unknown_fields()


def test_unknowns_train_under_every_kind_of_optimizer(one_thread):
    for factory in (partial(optim.adam, lr=1e-2), partial(optim.lbfgs), partial(optim.lm)):
        trainer = oscillation_trainer(Oscillation(), factory, steps=5)
        before = trainer.scalars["c"].value
        trainer.fit()
        assert trainer.scalars["c"].value != before and all(
            torch.isfinite(p).all() for p in trainer.trainable.parameters())


def test_unknown_values_are_logged(tmp_path, one_thread):
    from sciml.io.history import read_metrics
    from sciml.train import RunSettings

    problem = Oscillation()
    torch.manual_seed(0)
    model = MLP(1, 1, width=8, depth=2, input_stats=problem.input_stats())
    trainer = Trainer(problem, model, Engine(), FixedWeights(), partial(optim.adam, lr=1e-2), steps=10,
                      eval_every=5, log_every=5, progress=False, plot=False, dtype=D,
                      run=RunSettings(run_dir=tmp_path))
    trainer.fit()
    rows = read_metrics(tmp_path)
    assert all("unknown/c" in row for row in rows) and rows[-1]["unknown/c"] == trainer.scalars["c"].value
    assert isinstance(nn.ModuleDict(problem.unknowns())["c"], Unknown)
