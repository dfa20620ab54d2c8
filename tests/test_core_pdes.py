"""Each core PDE's residual vanishes on its exact solution (exact derivatives, float64)."""

import pytest
import torch

from pdes.helmholtz import Helmholtz
from pdes.poisson import Poisson
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from tests.helpers.exact_model import ExactSolution

PROBLEMS = [
    Poisson(dim=2), Poisson(dim=5, solution="sin_sum", lo=-1, hi=1), Poisson(dim=1),
    Helmholtz(), Helmholtz(a1=2, a2=3, k=4),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: f"{p.name}-{p.dim}d")
def test_residuals_vanish_on_exact_solution(problem):
    gen = torch.Generator().manual_seed(0)
    model = ExactSolution(problem)
    for name, term in problem.terms().items():
        x = term.sampler.sample(term.batch_size, gen, torch.float64)
        u = Field(model, x, problem.variables, Engine(), problem.spatial_dims, problem.outputs)
        r = term.residual(u)
        assert r.shape == (x.shape[0],)
        assert r.abs().max() < 1e-9, name


def test_residual_detects_wrong_solution():
    problem = Poisson(dim=2)
    x = problem.terms()["pde"].sampler.sample(100, torch.Generator().manual_seed(0), torch.float64)

    class Wrong(torch.nn.Module):
        def forward(self, x):
            return 1.01 * problem.exact(x)

    u = Field(Wrong(), x, problem.variables, Engine())
    assert problem.pde_residual(u).abs().max() > 0.1


def test_reference_grid():
    problem = Helmholtz()
    ref = problem.reference(torch.Generator(), torch.float64, torch.device("cpu"), resolution=100)
    assert ref.x.shape == (10_000, 2) and ref.grid_shape == (100, 100)
    assert torch.allclose(ref.u, problem.exact(ref.x))


@pytest.mark.parametrize("kwargs, key", [({"dim": 0}, "dim"), ({"solution": "cos"}, "solution"),
                                         ({"batch_size": {"pde": 0, "bc": 10}}, "batch_size.pde"),
                                         ({"batch_size": {"pde": 10}}, "batch_size"),
                                         ({"lo": 1.0, "hi": 0.0}, "hi")])
def test_bad_parameters(kwargs, key):
    with pytest.raises(ConfigError) as info:
        Poisson(**kwargs)
    assert info.value.key == key


def test_helmholtz_boundary_loss_sums_the_edges_mean_squares():
    """``face_sum``: the boundary loss is Σ over the four edges of each edge's mean square (Wang et al. 2020)."""
    gen = torch.Generator().manual_seed(0)
    summed, averaged = Helmholtz(), Helmholtz(face_sum=False)
    x = summed.terms()["bc"].sampler.sample(512, gen, torch.float64)

    def wrong(x):
        return torch.cos(x[:, :1] + 2 * x[:, 1:])

    r_sum = summed.terms()["bc"].residual(Field(wrong, x, summed.variables, Engine(), summed.spatial_dims))
    r_mean = averaged.terms()["bc"].residual(Field(wrong, x, summed.variables, Engine(), summed.spatial_dims))
    faces = [(x[:, a] == side) for a in (0, 1) for side in (-1.0, 1.0)]
    assert all(int(f.sum()) == 128 for f in faces)
    per_edge = sum(r_mean[f].square().mean() for f in faces)
    assert torch.allclose(r_sum.square().mean(), per_edge, rtol=1e-12)
    with pytest.raises(ConfigError) as info:
        Helmholtz(per_face=False, face_sum=True)
    assert info.value.key == "face_sum"
