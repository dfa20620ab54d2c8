"""High-dimensional PDEs: exact solutions satisfy their equations, constraint jets, quadrature energies."""

import math

import pytest
import torch

from pdes.ball import BallPDE, RadialBallSampler
from pdes.black_scholes import BlackScholesBarenblatt
from pdes.hjb import HJBLin, HJBLog
from pdes.schrodinger_oscillator import HarmonicOscillator
from sciml.engines import Engine
from sciml.fields import Field
from sciml.models import MLP
from sciml.models.separable import SeparableNet
from tests.helpers.exact_model import ExactSolution

pytestmark = pytest.mark.usefixtures("one_thread")


def exact_field(problem, x):
    return Field(ExactSolution(problem), x, problem.variables, Engine(), problem.spatial_dims, problem.outputs)


def ball_points(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(n, d, generator=g, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True) * torch.rand(n, 1, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("equation", ["poisson", "allen_cahn", "sine_gordon"])
@pytest.mark.parametrize("solution", ["two_body", "three_body"])
def test_ball_exact_solution_satisfies_pde(equation, solution):
    problem = BallPDE(dim=7, equation=equation, solution=solution, block=3)  # several column blocks
    x = ball_points(20, 7)
    residual = problem.residual(exact_field(problem, x))
    assert residual.abs().max() < 1e-10
    sphere = x / x.norm(dim=1, keepdim=True)
    assert problem.exact(sphere).abs().max() < 1e-12


def test_ball_coefficients_from_numpy_follow_its_legacy_stream():
    import numpy as np

    problem = BallPDE(dim=9, solution="three_body", seed=4, coefficients="numpy")
    assert torch.equal(problem.coefficients, torch.from_numpy(np.random.RandomState(4).standard_normal(9)[:7]))
    assert not torch.equal(problem.coefficients, BallPDE(dim=9, solution="three_body", seed=4).coefficients[:7])
    x = ball_points(10, 9)
    assert problem.residual(exact_field(problem, x)).abs().max() < 1e-10
    with pytest.raises(Exception, match="coefficients"):
        BallPDE(dim=9, coefficients="matlab")


@pytest.mark.parametrize("make", [lambda: HJBLin(dim=6), lambda: BlackScholesBarenblatt(dim=6)],
                         ids=["hjb_lin", "black_scholes"])
def test_terminal_problems_exact_solutions(make):
    problem = make()
    sampler = problem.terms()["pde"].sampler
    x = sampler.sample(30, torch.Generator().manual_seed(0), torch.float64)
    assert problem.pde_residual(exact_field(problem, x)).abs().max() < 1e-10


@pytest.mark.parametrize("make", [lambda: HJBLin(dim=5), lambda: HJBLog(dim=5), lambda: BlackScholesBarenblatt(dim=5),
                                  lambda: BallPDE(dim=6)], ids=["hjb_lin", "hjb_log", "bsb", "ball"])
def test_constrained_networks_jets_and_conditions(make):
    problem = make()
    torch.manual_seed(0)
    net = problem.constrain(MLP(problem.dim, 1, width=12, depth=2).double())
    x = problem.terms()["pde"].sampler.sample(5, torch.Generator().manual_seed(1), torch.float64)
    dims = torch.tensor([problem.dim - 1, 0, 2])
    y, d1, d2 = net.taylor(x, dims)
    for n in range(x.shape[0]):
        f = lambda q: net(q.unsqueeze(0))[0, 0]  # noqa: E731
        assert torch.allclose(d1[n, :, 0], torch.func.grad(f)(x[n])[dims], atol=1e-10)
        assert torch.allclose(d2[n, :, 0], torch.diagonal(torch.func.hessian(f)(x[n]))[dims], atol=1e-10)
    if problem.time_variable == "t":  # the terminal condition holds exactly
        xt = x.clone()
        xt[:, -1] = problem.horizon
        g = problem.terminal()(xt)
        assert torch.allclose(net(xt)[:, 0], g, atol=1e-12)


def test_hjb_log_monte_carlo_reference():
    problem = HJBLog(dim=1, mc_samples=200_000)
    x = torch.tensor([[0.3, 0.5], [-0.7, 0.0], [0.2, 1.0]], dtype=torch.float64)
    mc = problem.monte_carlo(x, torch.Generator().manual_seed(0))[:, 0]
    # 1-D reference: −log ∫ exp(−g(x + s w)) φ(w) dw by the trapezoidal rule on a fine grid
    w = torch.linspace(-12, 12, 40_001, dtype=torch.float64)
    density = torch.exp(-w**2 / 2) / math.sqrt(2 * math.pi)
    for i, (xi, ti) in enumerate(x):
        y = xi + math.sqrt(2 * (1 - ti)) * w
        quad = -torch.log(torch.trapezoid(density * 2 / (1 + y**2), w))
        assert abs(float(mc[i] - quad)) < 6e-3  # Monte Carlo standard error ≈ 1.5e-3
    # at the terminal time the reference is g itself
    assert float(mc[2]) == pytest.approx(math.log((1 + 0.2**2) / 2), abs=1e-12)


def test_separable_rayleigh_quotient_matches_brute_force():
    torch.manual_seed(0)
    net = SeparableNet(2, rank=2, width=8, depth=2).double()
    problem = HarmonicOscillator(dim=2, points=16, intervals=10)
    energy = problem.energy(net, torch.zeros(1, dtype=torch.float64), sample=False)
    # brute force: 2-D tensor-product quadrature of ∫‖∇ψ‖² + ‖x‖²ψ² and ∫ψ², gradients by autograd
    t, w = problem.nodes, problem.weights
    grid = torch.cartesian_prod(t, t).requires_grad_(True)
    psi = net(grid)[:, 0]
    (grad,) = torch.autograd.grad(psi.sum(), grid)
    weight = torch.outer(w, w).reshape(-1)
    numerator = (weight * (grad.square().sum(1) + grid.square().sum(1) * psi.square())).sum()
    assert float(energy) == pytest.approx(float(numerator / (weight * psi.square()).sum()), rel=1e-10)
    # the sampled estimate is unbiased: the mean over every 1-subset of 2 dims is the exact energy
    estimates = [net.rayleigh_quotient(t, w, t.square(), torch.tensor([j])) for j in range(2)]
    assert float(sum(estimates) / 2) == pytest.approx(float(energy), rel=1e-10)



def test_radial_ball_sampler_law_and_determinism():
    sampler = RadialBallSampler(3000, threads=2, normal="torch")  # 400·3000 numbers: the threaded path
    x = sampler.sample(400, torch.Generator().manual_seed(0), torch.float64)
    assert torch.equal(x, sampler.sample(400, torch.Generator().manual_seed(0), torch.float64))
    r = x.norm(dim=1)
    assert float(r.max()) <= 1 and abs(float(r.mean()) - 0.5) < 0.05 and abs(float(r.var()) - 1 / 12) < 0.02
    direction = x / r.unsqueeze(1)
    # Gaussian direction: coordinates of a uniform direction have mean 0 and variance 1/d
    assert abs(float(direction.mean())) < 1e-3 and abs(float(direction.var() * 3000) - 1) < 0.02
