"""Gauss-Newton type optimizers (GNS / Levenberg-Marquardt, energy natural gradient), self-scaled BFGS,
the trainer hook that feeds them residuals, and every optimizer config."""

import copy
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from pdes.nls import NLS
from pdes.poisson import Poisson
from sciml.balancing.fixed import FixedWeights
from sciml.engines.base import Engine
from sciml.models import MLP
from sciml.models.periodic import PeriodicMLP
from sciml.optim import GNS, SSBFGS, EnergyNaturalGradient, LevenbergMarquardt, Phase
from sciml.optim.gauss_newton import DampedSystem, pinv_solve, residual_jacobian
from sciml.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def linear_problem(n=15, p=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(n, p, dtype=torch.float64, generator=gen)
    b = torch.randn(n, dtype=torch.float64, generator=gen)
    x = nn.Parameter(torch.zeros(p, dtype=torch.float64))
    return a, b, x


def closure_pair(opt, residual):
    def closure():
        opt.zero_grad()
        loss = residual().square().sum()
        loss.backward()
        return loss
    return closure


def test_residual_jacobian_matches_autograd_functional():
    gen = torch.Generator().manual_seed(1)
    w = nn.Parameter(torch.randn(3, 4, dtype=torch.float64, generator=gen))
    v = nn.Parameter(torch.randn(4, dtype=torch.float64, generator=gen))
    x = torch.randn(7, 3, dtype=torch.float64, generator=gen)

    def res(w_, v_):
        return torch.tanh(x @ w_) @ v_ + (x @ w_).sum(1) ** 2

    jac = residual_jacobian(res(w, v), [w, v], chunk=3)
    jw, jv = torch.autograd.functional.jacobian(res, (w.detach(), v.detach()))
    assert torch.allclose(jac, torch.cat([jw.reshape(7, -1), jv.reshape(7, -1)], 1), atol=1e-12)


@pytest.mark.parametrize("shape", [(20, 6), (6, 20)])
def test_damped_and_pseudo_inverse_solves(shape):
    gen = torch.Generator().manual_seed(2)
    jac = torch.randn(*shape, dtype=torch.float64, generator=gen)
    r = torch.randn(shape[0], dtype=torch.float64, generator=gen)
    mu = 0.3
    direct = torch.linalg.solve(jac.mT @ jac + mu * torch.eye(shape[1], dtype=torch.float64), jac.mT @ r)
    assert torch.allclose(DampedSystem(jac, r).solve(mu), direct, atol=1e-12)
    assert torch.allclose(pinv_solve(jac, r, 1e-12), torch.linalg.pinv(jac) @ r, atol=1e-10)


def test_damped_solve_of_a_float32_jacobian_survives_a_tiny_damping():
    """Rank-deficient float32 J, μ far below float32 resolution of JᵀJ: the float32 Cholesky fails, the
    solve (accumulated in float64) returns the float64 answer in float32."""
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(30, 5, dtype=torch.float64, generator=gen)
    jac = torch.cat([base, base @ torch.randn(5, 15, dtype=torch.float64, generator=gen)], 1)  # rank 5 of 20
    r = torch.randn(30, dtype=torch.float64, generator=gen)
    gram32 = (jac.mT @ jac).float()
    gram32.diagonal().add_(1e-6)
    assert int(torch.linalg.cholesky_ex(gram32).info) != 0
    delta = DampedSystem(jac.float(), r.float()).solve(1e-6)
    assert delta.dtype == torch.float32
    exact = DampedSystem(jac.float().double(), r.float().double()).solve(1e-6)  # the same input, in float64
    assert torch.allclose(delta.double(), exact, rtol=1e-5, atol=1e-6 * float(exact.abs().max()))


@pytest.mark.parametrize("cls", [GNS, LevenbergMarquardt])
def test_damped_gauss_newton_solves_linear_least_squares(cls):
    a, b, x = linear_problem()
    opt = cls([x])
    residual = lambda: a @ x - b
    for _ in range(30):
        opt.step(closure_pair(opt, residual), residuals=residual)
    assert (x.detach() - torch.linalg.lstsq(a, b).solution).abs().max() < 1e-9


def test_gns_damping_follows_the_gradient_norm():
    """γ doubles on accepted steps (the damping ‖∇L‖/γ vanishes) and does not collapse at the optimum."""
    a, b, x = linear_problem()
    opt = GNS([x], gamma=1.0)
    residual = lambda: a @ x - b
    gammas = []
    for _ in range(12):
        opt.step(closure_pair(opt, residual), residuals=residual)
        gammas.append(opt.param_groups[0]["gamma"])
    assert gammas[:4] == [2.0, 4.0, 8.0, 16.0]
    assert min(gammas) >= 1.0


@pytest.mark.parametrize("cls", [GNS, LevenbergMarquardt])
def test_damped_gauss_newton_minimises_the_rosenbrock_residual(cls):
    z = nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    residual = lambda: torch.stack([10 * (z[1] - z[0] ** 2), 1 - z[0]])
    opt = cls([z])
    for _ in range(200):
        opt.step(closure_pair(opt, residual), residuals=residual)
    assert torch.allclose(z.detach(), torch.ones(2, dtype=torch.float64), atol=1e-8)


def test_engd_takes_the_exact_step_on_a_linear_residual():
    a, b, x = linear_problem()
    opt = EnergyNaturalGradient([x])
    residual = lambda: a @ x - b
    opt.step(closure_pair(opt, residual), residuals=residual)
    assert (x.detach() - torch.linalg.lstsq(a, b).solution).abs().max() < 1e-10


def test_residual_optimizers_need_the_residuals():
    a, b, x = linear_problem()
    with pytest.raises(ValueError, match="residuals"):
        GNS([x]).step(lambda: (a @ x - b).square().sum())


@pytest.mark.parametrize("phi", [1.0, 0.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ssbfgs_minimises_a_convex_quadratic(phi, dtype):
    gen = torch.Generator().manual_seed(3)
    m = torch.randn(8, 8, dtype=torch.float64, generator=gen)
    h = (m @ m.mT + 0.5 * torch.eye(8, dtype=torch.float64)).to(dtype)
    c = torch.randn(8, dtype=dtype, generator=torch.Generator().manual_seed(4))
    x = nn.Parameter(torch.zeros(8, dtype=dtype))
    opt = SSBFGS([x], phi=phi)

    def closure():
        opt.zero_grad()
        loss = 0.5 * x @ h @ x - c @ x
        loss.backward()
        return loss

    for _ in range(40):
        opt.step(closure)
    tol = 1e-8 if dtype == torch.float64 else 5e-3  # float32: the loss resolves x only to ~√eps
    assert (x.detach() - torch.linalg.solve(h, c)).abs().max() < tol


def test_second_order_state_dict_round_trip():
    a, b, x = linear_problem(seed=5)
    gns = GNS([x], gamma=0.5)
    residual = lambda: a @ x - b
    gns.step(closure_pair(gns, residual), residuals=residual)
    other = GNS([nn.Parameter(x.detach().clone())])
    other.load_state_dict(copy.deepcopy(gns.state_dict()))
    assert other.param_groups[0]["gamma"] == gns.param_groups[0]["gamma"] != 0.5

    y = nn.Parameter(torch.zeros(6, dtype=torch.float64))
    bfgs = SSBFGS([y])
    f = lambda p: (a @ p - b).square().sum() + p.pow(4).sum()

    def make_closure(o, p):
        def closure():
            o.zero_grad()
            loss = f(p)
            loss.backward()
            return loss
        return closure

    for _ in range(3):
        bfgs.step(make_closure(bfgs, y))
    y2 = nn.Parameter(y.detach().clone())
    bfgs2 = SSBFGS([y2])
    bfgs2.load_state_dict(copy.deepcopy(bfgs.state_dict()))
    for _ in range(3):
        bfgs.step(make_closure(bfgs, y))
        bfgs2.step(make_closure(bfgs2, y2))
    assert torch.equal(y, y2)


def tiny_trainer(optimizer, steps=4):
    torch.manual_seed(0)
    problem = Poisson(dim=2, batch_size={"pde": 40, "bc": 20})
    model = MLP(2, 1, width=6, depth=1, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights(), optimizer, steps=steps, eval_every=0, log_every=0,
                   progress=False, dtype=torch.float64, plot=False)


@pytest.mark.parametrize("name", ["gns", "lm", "engd", "ssbfgs"])
def test_second_order_methods_through_the_trainer(name):
    with initialize_config_dir(str(CONFIGS / "optimizer"), version_base="1.3"):
        factory = instantiate(compose(name))
    trainer = tiny_trainer(factory, steps=10)
    points = trainer.sample()
    first = float(sum(trainer.losses(points).values()).detach())
    trainer._fixed_points = points
    for _ in range(10):
        trainer.train_step()
    assert float(sum(trainer.losses(points).values()).detach()) < 0.5 * first


def test_per_point_jacobian_equals_the_batched_backward_one():
    """The trainer's torch.func Jacobian (per point, vmapped) = N batched backward passes through r."""
    trainer = tiny_trainer(lambda model, steps: Phase(LevenbergMarquardt(model.parameters()), 0))
    points = trainer.sample()
    params = list(trainer.model.parameters())
    r_fast, jac_fast = trainer.linearize(points, params)
    assert set(trainer.jacobian_route.values()) == {"per point"}  # the fast route was taken
    with torch.enable_grad():
        r = trainer.residual_vector(points).reshape(-1)
        jac = residual_jacobian(r, params)
    assert jac_fast.shape == (60, sum(p.numel() for p in params))
    assert torch.allclose(r_fast, r.detach(), atol=1e-13)
    assert torch.allclose(jac_fast, jac, atol=1e-12)
    # a parameter outside the model: each term falls back to backward passes, with the same numbers as the
    # optimizer's own route (zero columns for the extra parameter)
    extra = nn.Parameter(torch.ones(2, dtype=torch.float64))
    _, jac_fallback = trainer.linearize(points, params + [extra])
    assert set(trainer.jacobian_route.values()) == {"backward"}
    r_slow, jac_slow = LevenbergMarquardt(params + [extra]).linearize(lambda: trainer.residual_vector(points))
    assert torch.allclose(jac_fallback, jac_slow, atol=1e-12)
    assert torch.allclose(jac_slow[:, :-2], jac, atol=1e-12) and torch.equal(jac_slow[:, -2:], torch.zeros(60, 2,
                                                                                     dtype=torch.float64))


def test_per_point_jacobian_through_a_model_without_taylor_jets():
    """A hard-initial-condition wrapper (no ``taylor`` method, so nested autograd derivatives) around a two-output
    periodic network: the torch.func route (``functional_jet`` inside ``vmap``) = the batched backward one."""
    torch.manual_seed(0)
    problem = NLS(hard_ic=True, periodic_bc=False, batch_size={"pde": 12})
    model = PeriodicMLP(2, 2, periods=[10.0, None], width=5, depth=2)
    trainer = Trainer(problem, model, Engine(), FixedWeights(),
                      lambda model, steps: Phase(LevenbergMarquardt(model.parameters()), 0), steps=1, eval_every=0,
                      log_every=0, progress=False, dtype=torch.float64, plot=False)
    assert not hasattr(trainer.net, "taylor")
    points = trainer.sample()
    params = list(trainer.model.parameters())
    r_fast, jac_fast = trainer.linearize(points, params)
    assert set(trainer.jacobian_route.values()) == {"per point"}
    with torch.enable_grad():
        r = trainer.residual_vector(points).reshape(-1)
        jac = residual_jacobian(r, params)
    assert jac_fast.shape == (24, sum(p.numel() for p in params))
    assert torch.allclose(r_fast, r.detach(), atol=1e-12) and torch.allclose(jac_fast, jac, atol=1e-10)


OPTIMIZER_CONFIGS = sorted(p.stem for p in (CONFIGS / "optimizer").glob("*.yaml"))


@pytest.mark.parametrize("name", OPTIMIZER_CONFIGS)
def test_every_optimizer_config_builds_and_steps(name):
    with initialize_config_dir(str(CONFIGS / "optimizer"), version_base="1.3"):
        factory = instantiate(compose(name))
    trainer = tiny_trainer(factory, steps=4)
    phases = trainer.plan.phases
    assert all(isinstance(p, Phase) for p in phases)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    for _ in range(2):
        trainer.train_step()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    state = trainer.plan.state_dict()
    trainer.plan.load_state_dict(copy.deepcopy(state))
