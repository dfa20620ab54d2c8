"""Time-dependent 1-D problems: exact solutions satisfy their PDEs, data sets their initial/boundary data,
and the causal weights reproduce the chunked loss of Wang et al. (2022)."""

import math

import pytest
import torch
from torch import nn

from pdes.allen_cahn_1d import AllenCahn1D
from pdes.burgers import Burgers
from pdes.convection import Convection
from pdes.convection_diffusion import ConvectionDiffusion
from pdes.nls import NLS
from pdes.reaction import Reaction
from sciml.engines.base import Engine
from sciml.fields import Field
from sciml.train.causal import CausalWeights
from tests.helpers.exact_model import ExactSolution

D = torch.float64




def field(problem, model, x):
    return Field(model, x, problem.variables, Engine(), problem.spatial_dims, problem.outputs)


def points(problem, name, n=300, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return problem.terms()[name].sampler.sample(n, gen, D)


@pytest.mark.parametrize("problem", [Convection(beta=40.0), ConvectionDiffusion(speed=30.0, viscosity=0.05),
                                     Reaction(rho=5.0)], ids=["convection", "convection_diffusion", "reaction"])
def test_exact_solutions_satisfy_every_term(problem):
    model = ExactSolution(problem)
    for name in ("pde", "ic", "bc"):
        r = problem.terms()[name].residual(field(problem, model, points(problem, name)))
        assert r.abs().max() < 1e-10, name


def test_exact_solutions_fail_a_perturbed_pde():
    problem, wrong = ConvectionDiffusion(speed=30.0, viscosity=0.05), ConvectionDiffusion(speed=31.0, viscosity=0.05)
    r = wrong.pde_residual(field(wrong, ExactSolution(problem), points(problem, "pde")))
    assert r.abs().max() > 0.1


def test_hard_initial_condition_holds_exactly():
    problem = Reaction(hard_ic=True)
    assert "ic" not in problem.terms()
    net = problem.constrain(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).to(D))
    x = torch.rand(50, 1, dtype=D) * 2 * math.pi
    at0 = net(torch.cat([x, torch.zeros_like(x)], 1))
    torch.testing.assert_close(at0, problem.initial(x[:, 0]), rtol=0, atol=1e-14)


def test_reference_problems_start_from_their_data():
    for problem, tol in ((Burgers(), 1e-6), (NLS(), 1e-6), (AllenCahn1D(), 1e-6)):
        g = problem.grid()
        x = torch.as_tensor(g.x, dtype=D)
        u0 = g.values(D, "cpu").reshape(len(g.x), len(g.t), -1)[:, 0]
        assert (u0 - problem.initial(x)).abs().max() < tol, problem.name
    burgers = Burgers().grid()
    assert abs(burgers.u[0]).max() < 1e-6 and abs(burgers.u[-1]).max() < 1e-6  # u(±1, t) = 0


def test_nls_reference_satisfies_the_equation():
    """Spectral x-derivatives and central differences in t of NLS.mat: the residual is small vs the terms."""
    g = NLS().grid()
    h = torch.as_tensor(g.u)  # (x, t) complex
    k = 2 * math.pi * torch.fft.fftfreq(len(g.x), d=float(g.x[1] - g.x[0])).to(D)
    h_xx = torch.fft.ifft(-(k ** 2).unsqueeze(1) * torch.fft.fft(h, dim=0), dim=0)
    dt = float(g.t[1] - g.t[0])
    h_t = (h[:, 2:] - h[:, :-2]) / (2 * dt)
    hm, hxx = h[:, 1:-1], h_xx[:, 1:-1]
    residual = 1j * h_t + 0.5 * hxx + hm.abs() ** 2 * hm
    assert residual.abs().max() / (0.5 * hxx).abs().max() < 2e-2


def test_nls_scores_the_modulus():
    problem = NLS()
    ref = problem.reference(torch.Generator(), D, torch.device("cpu"))
    assert ref.u.shape == (256 * 201, 1) and ref.grid_shape == (256, 201)
    values = problem.grid().values(D, "cpu")
    torch.testing.assert_close(problem.score_values(values), ref.u)
    torch.testing.assert_close(ref.u[:, 0], torch.as_tensor(abs(problem.grid().u)).reshape(-1))


def test_causal_loss_matches_the_chunked_definition():
    gen = torch.Generator().manual_seed(3)
    t = torch.rand(997, generator=gen, dtype=D)
    r = torch.randn(997, 2, generator=gen, dtype=D) * (1 + 3 * t).unsqueeze(1)
    causal = CausalWeights(0.0, 1.0, chunks=8, epsilon=0.5)
    loss = causal.apply(r, t).square().mean()
    chunk = (t * 8).long()
    L = torch.stack([r[chunk == i].square().mean() for i in range(8)])
    w = torch.stack([torch.exp(-0.5 * L[:i].sum()) for i in range(8)])
    torch.testing.assert_close(loss, (w * L).mean())
    assert causal.min_weight == pytest.approx(float(w.min()))


def test_causal_schedule_moves_on_once_resolved():
    causal = CausalWeights(0.0, 1.0, chunks=4, epsilon=[1.0, 10.0], delta=0.99)
    t = torch.linspace(0, 1, 64, dtype=D)
    causal.apply(torch.ones(64, dtype=D), t)
    causal.advance()
    assert causal.epsilon == 1.0
    causal.apply(torch.full((64,), 1e-3, dtype=D), t)
    causal.advance()
    assert causal.epsilon == 10.0
