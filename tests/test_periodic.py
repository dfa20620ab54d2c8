"""The periodic embedding makes a network and its derivatives exactly periodic in the periodic inputs."""

import math

import pytest
import torch

from sciml.engines.base import autograd_jet
from sciml.errors import ConfigError
from sciml.models.lagrangian import LagrangianNet
from sciml.models.periodic import PeriodicMLP

D = torch.float64


@pytest.mark.parametrize("period,harmonics", [(2 * math.pi, 1), (10.0, 3)])
def test_outputs_and_derivatives_are_periodic(period, harmonics):
    torch.manual_seed(0)
    stats = (torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.3]))
    net = PeriodicMLP(2, 2, [period, None], harmonics, width=16, depth=3, input_stats=stats).to(D)
    x = torch.rand(64, 2, dtype=D)
    shifted = x + torch.tensor([period, 0.0], dtype=D)
    y, d1, d2 = autograd_jet(net, x, None)
    ys, d1s, d2s = autograd_jet(net, shifted, None)
    for a, b in ((y, ys), (d1, d1s), (d2, d2s)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    later = x + torch.tensor([0.0, 0.37], dtype=D)  # time is not periodic
    assert (net(later) - y).abs().max() > 1e-3


def test_lagrangian_net_is_periodic_in_the_label():
    torch.manual_seed(0)
    net = LagrangianNet(2, 1, x_width=8, u_width=8, u_depth=2, period=2 * math.pi).to(D)
    x = torch.rand(32, 2, dtype=D)
    shifted = x + torch.tensor([2 * math.pi, 0.0], dtype=D)
    out, out_s = net(x), net(shifted)
    torch.testing.assert_close(out_s[:, 0], out[:, 0] + 2 * math.pi, rtol=0, atol=1e-12)  # X(ξ + L) = X + L
    torch.testing.assert_close(out_s[:, 1], out[:, 1], rtol=0, atol=1e-12)


def test_lagrangian_taylor_matches_autograd():
    torch.manual_seed(1)
    for period in (None, 2.0):
        net = LagrangianNet(2, 1, x_width=8, u_width=8, u_depth=2, period=period, x_scale=3.0).to(D)
        x = torch.rand(16, 2, dtype=D)
        for got, want in zip(net.taylor(x), autograd_jet(net, x, None)):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_periodic_taylor_matches_autograd():
    torch.manual_seed(2)
    stats = (torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.3]))
    net = PeriodicMLP(2, 2, [3.0, None], 2, width=8, depth=2, input_stats=stats).to(D)
    x = torch.rand(16, 2, dtype=D)
    for dims in (None, torch.tensor([1]), torch.tensor([1, 0])):
        want = autograd_jet(net, x, None if dims is None else dims.tolist())
        for got, ref in zip(net.taylor(x, dims), want):
            torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_secular_embedding_keeps_the_periodic_input_and_its_jet():
    """``secular=True``: the periodic input enters standardised beside its harmonics, so the network is no
    longer periodic in it, and the jet (value, first and second derivatives) still matches nested autograd."""
    torch.manual_seed(3)
    stats = (torch.tensor([0.5, 50.0]), torch.tensor([0.3, 29.0]))
    net = PeriodicMLP(2, 1, [None, 8.0], 3, width=8, depth=2, input_stats=stats, secular=True).to(D)
    assert net.embedding.out_dim == 2 * 3 + 2
    x = torch.rand(16, 2, dtype=D) * torch.tensor([1.0, 100.0], dtype=D)
    assert (net(x + torch.tensor([0.0, 8.0], dtype=D)) - net(x)).abs().max() > 1e-3
    for dims in (None, torch.tensor([1]), torch.tensor([[0.6, 0.8]], dtype=D)):
        want = autograd_jet(net, x, None if dims is None else (dims if dims.is_floating_point() else dims.tolist()))
        for got, ref in zip(net.taylor(x, dims), want):
            torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_bad_periods_are_rejected():
    with pytest.raises(ConfigError):
        PeriodicMLP(2, 1, [None, None])
    with pytest.raises(ConfigError):
        PeriodicMLP(2, 1, [1.0])
    with pytest.raises(ConfigError):
        PeriodicMLP(2, 1, [-1.0, None])


def test_output_scale_and_raw_inputs():
    """``output_scale`` multiplies the value and its jet; ``normalize=False`` ignores the statistics (the
    non-periodic input enters raw), as :class:`~sciml.models.MLP` does; the jets still match autograd."""
    stats = (torch.tensor([0.0, 50.0]), torch.tensor([1.0, 29.0]))
    torch.manual_seed(4)
    plain = PeriodicMLP(2, 1, [2.0, None], width=8, depth=2, input_stats=stats, normalize=False).to(D)
    torch.manual_seed(4)
    scaled = PeriodicMLP(2, 1, [2.0, None], width=8, depth=2, input_stats=stats, normalize=False,
                         output_scale=1000.0).to(D)
    torch.testing.assert_close(plain.embedding.mean, torch.zeros(1, dtype=D))
    x = torch.rand(16, 2, dtype=D)
    for got, ref in zip(scaled.taylor(x), plain.taylor(x)):
        torch.testing.assert_close(got, 1000.0 * ref, rtol=1e-12, atol=0)
    for got, ref in zip(scaled.taylor(x), autograd_jet(scaled, x, None)):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-9)
