"""The examples a newcomer copies from are correct: the custom PDE's exact solution satisfies it."""

import importlib.util
from pathlib import Path

import torch

from sciml.engines import Engine
from sciml.fields import Field
from tests.helpers.exact_model import ExactSolution

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_custom_pde_example_is_consistent():
    problem = load("my_pde").MyPDE(n_points=50)
    gen = torch.Generator().manual_seed(0)
    for term in problem.terms().values():
        x = term.sampler.sample(term.batch_size, gen, torch.float64)
        u = Field(ExactSolution(problem), x, problem.variables, Engine())
        assert term.residual(u).abs().max() < 1e-10
