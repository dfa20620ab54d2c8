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
