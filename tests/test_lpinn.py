"""LPINN: the chain rule on moving coordinates, exact Lagrangian solutions, and the Lagrangian → Eulerian map."""

import math
import subprocess
import sys
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from pdes.burgers import Burgers
from pdes.convection_diffusion import ConvectionDiffusion
from pdes.poisson import Poisson
from sciml.balancing.fixed import FixedWeights
from sciml.engines.base import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.models.lagrangian import LagrangianNet
from sciml.optim.factory import adam
from sciml.train.lpinn import OUTPUTS, VARIABLES, LagrangianProblem, LPINNTrainer, interpolate_periodic

D = torch.float64


class Lagrangian(nn.Module):
    """``[X, U](ξ, t)`` from closed forms."""

    def __init__(self, position, state):
        super().__init__()
        self.position, self.state = position, state

    def forward(self, x):
        xi, t = x[:, 0], x[:, 1]
        return torch.stack([self.position(xi, t), self.state(xi, t)], dim=1)


def exact_convection_diffusion(c, nu):
    """X = ξ + c t, U = e^{−νt} sin ξ: the exact solution along characteristics."""
    return Lagrangian(lambda xi, t: xi + c * t, lambda xi, t: torch.exp(-nu * t) * torch.sin(xi))


def lagrangian(problem):
    return LagrangianProblem(problem, {}, {})


def field(lp, model, points):
    x, data = points if isinstance(points, tuple) else (points, {})
    return Field(model, x, VARIABLES, Engine(), [0], OUTPUTS, data)


def sample(lp, name, n=200):
    return lp.terms()[name].sampler.sample(n, torch.Generator().manual_seed(0), D)


def test_exact_lagrangian_solution_has_zero_residuals():
    problem = ConvectionDiffusion(speed=30.0, viscosity=0.05)
    lp = lagrangian(problem)
    model = exact_convection_diffusion(30.0, 0.05)
    assert set(lp.terms()) == {"x", "u", "x0", "u0", "bc"}
    for name, term in lp.terms().items():
        r = term.residual(field(lp, model, sample(lp, name)))
        assert r.abs().max() < 1e-12, name


def test_diffusion_is_differentiated_along_the_moving_coordinate():
    """U(ξ, t) = f(X(ξ, t), t) for a curved map X: the residual's ∂²U/∂X² must equal f_xx at X."""
    nu = 0.1
    lp = lagrangian(ConvectionDiffusion(speed=2.0, viscosity=nu))
    position = lambda xi, t: xi + 0.3 * torch.sin(xi) * t + 0.2 * t * t  # noqa: E731
    model = Lagrangian(position, lambda xi, t: torch.sin(2 * position(xi, t)) * torch.exp(-t))
    x = sample(lp, "u")
    f = field(lp, model, x)
    u_XX = (f["U"].d("t") - lp.state_residual(f)) / nu
    X = position(x[:, 0], x[:, 1])
    torch.testing.assert_close(u_XX, -4 * torch.sin(2 * X) * torch.exp(-x[:, 1]), rtol=1e-10, atol=1e-10)
    assert (u_XX - f["U"].d("xi", "xi")).abs().max() > 0.1  # not the plain ξ-derivative


def make_trainer(problem, **kwargs):
    torch.manual_seed(0)
    net = LagrangianNet(2, 1, x_width=8, u_width=8, u_depth=2, x_scale=max(getattr(problem, "speed", 1.0), 1.0),
                        period=2 * math.pi if problem.periodic else None, input_stats=problem.input_stats())
    return LPINNTrainer(problem, net, Engine(), FixedWeights(), partial(adam, lr=1e-2), steps=kwargs.pop("steps", 1),
                        progress=False, dtype=D, **kwargs)


@pytest.mark.parametrize("c", [0.0, 40.0])
def test_eulerian_map_reproduces_the_exact_solution(c):
    problem = ConvectionDiffusion(speed=c, viscosity=0.01)
    trainer = make_trainer(problem, particles=2048)
    trainer.net = exact_convection_diffusion(c, 0.01)
    ref = trainer.reference
    err = (trainer.predict(ref.x) - ref.u).norm() / ref.u.norm()
    assert err < 2e-6  # linear interpolation on 2048 particles: h²/8 ≈ 1.2e-6
    coarse = make_trainer(problem, particles=64)
    coarse.net = trainer.net
    assert (coarse.predict(ref.x) - ref.u).norm() / ref.u.norm() > 1e-4  # the grid size matters


@pytest.mark.parametrize("period", [None, 2 * math.pi])
def test_characteristics_can_start_at_the_transport_speed(period):
    torch.manual_seed(0)
    net = LagrangianNet(2, 1, x_width=8, u_width=8, u_depth=2, x_scale=70.0, x_start=1.0, period=period).double()
    x = torch.rand(20, 2, dtype=D, generator=torch.Generator().manual_seed(3)) * torch.tensor([6.0, 1.0], dtype=D)
    values, first, second = net.taylor(x)
    torch.testing.assert_close(values[:, 0], x[:, 0] + 70.0 * x[:, 1], rtol=1e-14, atol=1e-12)  # X = ξ + c·t
    torch.testing.assert_close(first[:, :, 0], torch.tensor([[1.0, 70.0]], dtype=D).expand(20, 2))  # X_ξ, X_t
    assert second[:, :, 0].abs().max() < 1e-12


def test_interpolation_matches_numpy_with_and_without_period():
    gen = np.random.default_rng(0)
    xp = np.sort(gen.uniform(-1, 1, 50))
    fp = np.sin(3 * xp)
    q = gen.uniform(-1.2, 1.2, 30)
    got = interpolate_periodic(torch.tensor(xp[::-1].copy()), torch.tensor(fp[::-1].copy()).unsqueeze(1),
                               torch.tensor(q), None, None)
    np.testing.assert_allclose(got[:, 0].numpy(), np.interp(q, xp, fp), atol=1e-14)
    got = interpolate_periodic(torch.tensor(xp + 2.0), torch.tensor(fp).unsqueeze(1), torch.tensor(q), -1.0, 2.0)
    np.testing.assert_allclose(got[:, 0].numpy(), np.interp(q, xp, fp, period=2.0), atol=1e-14)


def test_burgers_lagrangian_form_has_dirichlet_ends():
    lp = lagrangian(Burgers())
    assert not lp.periodic and "bc" in lp.terms()
    x = sample(lp, "bc", 10)
    assert set(x[:, 0].tolist()) == {-1.0, 1.0}
    speed = lp.eulerian.characteristic_speed(torch.tensor([0.5]))
    assert speed.item() == 0.5


def test_problems_without_a_lagrangian_form_are_rejected():
    with pytest.raises(ConfigError, match="Lagrangian form"):
        LagrangianProblem(Poisson(), {}, {})
    with pytest.raises(ConfigError, match="unknown term"):
        LagrangianProblem(ConvectionDiffusion(), {"pde": 10}, {})


def test_short_training_improves_the_eulerian_error():
    problem = ConvectionDiffusion(speed=10.0, viscosity=0.01, periodic_bc=False)
    trainer = make_trainer(problem, steps=150, eval_every=0, log_every=0, particles=256,
                           batch_size={"x": 128, "u": 128, "x0": 64, "u0": 64}, weights={"u0": 10.0})
    before = trainer.evaluate()["rel_l2"]
    summary = trainer.fit()
    assert summary["rel_l2"] < 0.5 * before


@pytest.mark.parametrize("args", [["pde=convection_diffusion", "model=lagrangian", "trainer=lpinn"],
                                  ["pde=convection", "model=periodic_mlp", "pde.periodic_bc=false",
                                   "trainer=causal"]])
def test_cli_runs(tmp_path, args):
    cmd = [sys.executable, "-m", "sciml.train", *args, "optimizer=adam", "trainer.steps=3", "trainer.progress=false",
           "trainer.eval_every=3", "trainer.plot=false", f"hydra.run.dir={tmp_path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "rel_l2" in (tmp_path / "summary.json").read_text()
