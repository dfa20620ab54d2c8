"""Klein-Gordon (Wang et al. 2020): residuals vanish on the exact solution and detect a wrong one."""

import math

import pytest
import torch

from pdes.klein_gordon import KleinGordon
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from tests.helpers.exact_model import ExactSolution


def residuals(problem, model, n=64):
    gen = torch.Generator().manual_seed(0)
    out = {}
    for name, term in problem.terms().items():
        x = term.sampler.sample(n, gen, torch.float64)
        out[name] = (x, term.residual(Field(model, x, problem.variables, Engine(), problem.spatial_dims)))
    return out


def test_residuals_vanish_on_exact_solution():
    problem = KleinGordon()
    for name, (_, r) in residuals(problem, ExactSolution(problem)).items():
        assert r.abs().max() < 1e-9, name
    assert problem.spatial_dims == [0]


def test_samplers_place_points_where_the_terms_live():
    out = residuals(KleinGordon(), ExactSolution(KleinGordon()))
    assert torch.all(out["ic"][0][:, 1] == 0)
    assert out["ic"][1].shape == (128,)  # u and u_t at 64 initial points
    xb = out["bc"][0][:, 0]
    assert torch.sum(xb == 0) == 32 and torch.sum(xb == 1) == 32  # 64 points: half on each side


def test_residuals_detect_wrong_solution():
    problem = KleinGordon()

    class Shifted(torch.nn.Module):
        def forward(self, x):  # adds 0.1 t²: wrong u_tt, right initial data
            return problem.exact(x) + 0.1 * x[:, 1:2] ** 2

    out = residuals(problem, Shifted())
    assert out["pde"][1].abs().min() > 0.19  # 0.2 + γ((u + 0.1t²)³ − u³) with u³ monotone: ≥ 0.2
    assert out["ic"][1].abs().max() < 1e-12
    assert out["bc"][1].abs().max() > 0.01


def test_source_matches_formula():
    problem = KleinGordon()
    x = torch.tensor([[0.5, 0.2]], dtype=torch.float64)
    s, t = 0.5, 0.2
    u = s * math.cos(math.pi) + (s * t) ** 3
    f = -25 * math.pi**2 * s * math.cos(math.pi) + 6 * s**3 * t - 6 * s * t**3 + u**3
    assert abs(float(problem.source(x)) - f) < 1e-12


def test_bad_power():
    with pytest.raises(ConfigError) as info:
        KleinGordon(k=0)
    assert info.value.key == "k"


def test_grouped_terms_sum_their_parts_mean_squares():
    """The ic and bc losses are ``mean(u − x)² + mean(u_t²)`` and ``mean r₀² + mean r₁²`` (the authors' code)."""

    class Wrong(torch.nn.Module):
        def forward(self, x):  # u = 1 + x t: u − x, u_t and the boundary errors all non-zero
            return 1 + x[:, :1] * x[:, 1:2] + 0.3 * x[:, 1:2] ** 2

    summed, averaged = KleinGordon(), KleinGordon(sum_parts=False)
    for name in ("ic", "bc"):
        (_, r_sum), (_, r_mean) = residuals(summed, Wrong())[name], residuals(averaged, Wrong())[name]
        half = r_mean.numel() // 2
        parts = r_mean[:half].square().mean() + r_mean[half:].square().mean()
        assert torch.allclose(r_sum.square().mean(), parts, rtol=1e-12), name
        assert torch.allclose(r_mean.square().mean(), parts / 2, rtol=1e-12), name
