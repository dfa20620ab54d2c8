"""The exact engine against analytic derivatives of known functions (float64, 1e-10)."""

import math

import pytest
import torch
from torch import nn

from sciml.engines import Engine, autograd_jet
from sciml.fields import Field
from sciml.models import MLP


@pytest.fixture(autouse=True)
def float64_default():
    """float64 by default inside this module only (a module-level setting would leak into other tests)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class Known(nn.Module):
    """u(x, y, t) = sin(2x) e^{y} + x² t³ and a second output v = cos(x y) + t."""

    def forward(self, x):
        a, b, t = x[:, 0], x[:, 1], x[:, 2]
        u = torch.sin(2 * a) * torch.exp(b) + a**2 * t**3
        v = torch.cos(a * b) + t
        return torch.stack([u, v], dim=1)


def field(model, x, outputs=("u", "v")):
    return Field(model, x, ["x", "y", "t"], Engine(), spatial_dims=[0, 1], outputs=list(outputs))


@pytest.fixture
def points():
    return torch.rand(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1


def test_known_function_derivatives(points):
    a, b, t = points.T
    f = field(Known(), points)
    u, v = f["u"], f["v"]
    assert torch.allclose(u.value, torch.sin(2 * a) * torch.exp(b) + a**2 * t**3, atol=1e-12)
    assert torch.allclose(u.d("x"), 2 * torch.cos(2 * a) * torch.exp(b) + 2 * a * t**3, atol=1e-10)
    assert torch.allclose(u.d("t"), 3 * a**2 * t**2, atol=1e-10)
    uxx = -4 * torch.sin(2 * a) * torch.exp(b) + 2 * t**3
    uyy = torch.sin(2 * a) * torch.exp(b)
    assert torch.allclose(u.d("x", "x"), uxx, atol=1e-10)
    assert torch.allclose(u.laplacian, uxx + uyy, atol=1e-10)
    assert torch.allclose(u.hessian_diag, torch.stack([uxx, uyy], 1), atol=1e-10)
    assert torch.allclose(u.d("x", "t"), 6 * a * t**2, atol=1e-10)
    assert torch.allclose(u.d("t", "x"), 6 * a * t**2, atol=1e-10)
    assert torch.allclose(v.d("x", "y"), -torch.sin(a * b) - a * b * torch.cos(a * b), atol=1e-10)
    assert torch.allclose(v.grad, torch.stack([-b * torch.sin(a * b), -a * torch.sin(a * b),
                                               torch.ones_like(t)], 1), atol=1e-10)


def test_scalar_field_drops_output_axis(points):
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    u = field(model, points, outputs=("u",))
    assert u.value.shape == (50,) and u.grad.shape == (50, 3) and u.laplacian.shape == (50,)


@pytest.mark.parametrize("activation", ["tanh", "sin", "sigmoid", "silu", "softplus"])
def test_mlp_taylor_matches_hessian(activation):
    torch.manual_seed(0)
    stats = (torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 2.0, 1.5]))
    model = MLP(3, 2, width=16, depth=3, activation=activation, input_stats=stats).double()
    x = torch.randn(7, 3)
    y, d1, d2 = model.taylor(x)
    for n in range(x.shape[0]):
        for k in range(2):
            fk = lambda p: model(p.unsqueeze(0))[0, k]  # noqa: B023
            grad = torch.func.grad(fk)(x[n])
            hess = torch.func.hessian(fk)(x[n])
            assert torch.allclose(d1[n, :, k], grad, atol=1e-10)
            assert torch.allclose(d2[n, :, k], torch.diagonal(hess), atol=1e-10)
    # a subset of directions, in any order
    _, s1, s2 = model.taylor(x, torch.tensor([2, 0]))
    assert torch.allclose(s1, d1[:, [2, 0]], atol=1e-12) and torch.allclose(s2, d2[:, [2, 0]], atol=1e-12)


def test_taylor_and_autograd_paths_agree_and_are_differentiable():
    torch.manual_seed(0)
    model = MLP(2, 1, width=10, depth=2).double()
    x = torch.rand(20, 2)
    _, a1, a2 = model.taylor(x)
    _, b1, b2 = autograd_jet(model, x, None)
    assert torch.allclose(a1, b1, atol=1e-12) and torch.allclose(a2, b2, atol=1e-12)
    # parameter gradients of a Laplacian loss agree between the two paths
    params = list(model.parameters())[:-1]  # the output bias does not enter second derivatives
    ga = torch.autograd.grad(a2.sum(1).square().mean(), params)
    gb = torch.autograd.grad(b2.sum(1).square().mean(), params)
    for p, q in zip(ga, gb):
        assert torch.allclose(p, q, atol=1e-10)


def test_laplacian_of_radial_function():
    """Δ e^{-|x|²} = (4|x|² − 2d) e^{-|x|²} in d = 6, through a generic module."""

    class Gauss(nn.Module):
        def forward(self, x):
            return torch.exp(-(x**2).sum(1, keepdim=True))

    x = torch.randn(30, 6)
    u = Field(Gauss(), x, [f"x{i}" for i in range(6)], Engine())
    r2 = (x**2).sum(1)
    assert torch.allclose(u.laplacian, (4 * r2 - 12) * torch.exp(-r2), atol=1e-10)
    assert math.isclose(float(u.value[0]), float(torch.exp(-r2[0])), rel_tol=1e-14)
