"""Polar factors: QDWH and Newton-Schulz against the SVD, and the Newton-Schulz singular-value map."""

import pytest
import torch

from sciml.optim.polar import JORDAN, newton_schulz, polar, polar_qdwh, polar_svd


def conditioned(m: int, n: int, cond: float, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(m, m, generator=g, dtype=dtype))
    v, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=dtype))
    k = min(m, n)
    s = torch.logspace(0, -torch.log10(torch.tensor(cond)).item(), k, dtype=dtype)
    return u[:, :k] @ torch.diag(s) @ v[:, :k].mT


@pytest.mark.parametrize("shape", [(30, 20), (20, 30), (25, 25)])
@pytest.mark.parametrize("cond", [1.0, 1e2, 1e4])  # the polar factor itself moves by ~eps·cond
def test_qdwh_matches_svd_float64(shape, cond):
    x = 3.7 * conditioned(*shape, cond)
    assert (polar_qdwh(x) - polar_svd(x)).abs().max() < 1e-10


def test_qdwh_float32_close_to_float64_svd():
    x = conditioned(40, 24, 1e2)
    assert (polar_qdwh(x.float()).double() - polar_svd(x)).abs().max() < 1e-5


@pytest.mark.parametrize("shape", [(64, 32), (32, 64)])
def test_newton_schulz_acts_as_the_scalar_quintic_on_singular_values(shape):
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    s = torch.linalg.svdvals(x) / x.norm()
    a, b, c = JORDAN
    for _ in range(5):
        s = a * s + b * s**3 + c * s**5
    out = newton_schulz(x, 5)
    assert torch.allclose(torch.linalg.svdvals(out).sort().values, s.sort().values, atol=1e-10)
    # the band: Jordan's coefficients put every singular value near 1 without converging to it
    assert s.min() > 0.6 and s.max() < 1.25
    # and the singular vectors are those of X: polar(out) = polar(X)
    assert torch.allclose(polar_svd(out), polar_svd(x), atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_newton_schulz_keeps_the_working_precision(dtype):
    x = torch.randn(48, 16, dtype=dtype)
    out = newton_schulz(x, 5)
    assert out.dtype == dtype
    sv = torch.linalg.svdvals(out)
    assert sv.min() > 0.6 and sv.max() < 1.25


def test_refined_newton_schulz_converges_to_the_polar_factor():
    x = conditioned(30, 20, 10.0)
    assert (polar(x, "newton_schulz") - polar_svd(x)).abs().max() < 1e-10


def test_unknown_method_is_a_config_error():
    from sciml.errors import ConfigError

    with pytest.raises(ConfigError):
        polar(torch.eye(3), "zolo")
