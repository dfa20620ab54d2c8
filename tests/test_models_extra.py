"""Modified MLP and Fourier-feature MLP: forward Taylor jets against torch.func in float64."""

from functools import partial

import pytest
import torch
from torch.func import hessian, jacrev

from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.models import MLP, FourierMLP, ModifiedMLP

STATS = (torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 2.0]))


def build(cls, out_dim=2):
    torch.manual_seed(0)
    return cls(3, out_dim, width=8, depth=3, input_stats=STATS).double()


def reference_jet(model, x):
    jac = torch.stack([jacrev(model)(xi) for xi in x])  # (n, out, in)
    hes = torch.stack([hessian(model)(xi) for xi in x])  # (n, out, in, in)
    return jac.transpose(1, 2), torch.diagonal(hes, dim1=2, dim2=3).transpose(1, 2)


MODELS = [ModifiedMLP, partial(ModifiedMLP, gate_first=False), FourierMLP]


@pytest.mark.parametrize("cls", MODELS, ids=["modified", "modified_plain_first", "fourier"])
def test_taylor_matches_torch_func(cls):
    model = build(cls)
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    d1_ref, d2_ref = reference_jet(model, x)
    y, d1, d2 = model.taylor(x)
    assert torch.allclose(y, model(x), atol=1e-14)
    assert (d1 - d1_ref).abs().max() < 1e-10
    assert (d2 - d2_ref).abs().max() < 1e-10
    dims = torch.tensor([2, 0])
    _, d1s, d2s = model.taylor(x, dims)
    assert (d1s - d1_ref[:, dims]).abs().max() < 1e-10
    assert (d2s - d2_ref[:, dims]).abs().max() < 1e-10


def test_mlp_output_scale_scales_value_and_jets():
    torch.manual_seed(0)
    plain = MLP(3, 2, width=8, depth=2, input_stats=STATS).double()
    scaled = MLP(3, 2, width=8, depth=2, input_stats=STATS, output_scale=30.0).double()
    scaled.load_state_dict(plain.state_dict())
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    d1_ref, d2_ref = reference_jet(scaled, x)
    y, d1, d2 = scaled.taylor(x, torch.tensor([1, 2]))
    assert torch.allclose(scaled(x), 30.0 * plain(x), rtol=1e-14)
    assert torch.allclose(y, scaled(x), atol=1e-12)
    assert (d1 - d1_ref[:, [1, 2]]).abs().max() < 1e-9 and (d2 - d2_ref[:, [1, 2]]).abs().max() < 1e-9
    with pytest.raises(ConfigError, match="output_scale"):
        MLP(3, 1, output_scale=0.0)


@pytest.mark.parametrize("cls", MODELS, ids=["modified", "modified_plain_first", "fourier"])
def test_taylor_parameter_gradients_match_autograd_engine(cls):
    """The loss gradient through the Taylor jet equals the one through nested autograd."""
    model = build(cls, out_dim=1)
    x = torch.rand(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))

    class Plain(torch.nn.Module):  # hides ``taylor`` so the engine falls back to nested autograd
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    grads = []
    for net in (model, Plain(model)):
        lap = Field(net, x, ["x", "y", "z"], Engine()).laplacian
        grads.append(torch.autograd.grad(lap.square().mean(), list(model.parameters()), allow_unused=True,
                                         materialize_grads=True))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-11)


def test_modified_mlp_gates_between_encoders():
    """With the gate layers' pre-activations pushed to ±∞, H equals the V or the U encoder."""
    model = build(partial(ModifiedMLP, gate_first=False), out_dim=1)
    x = torch.randn(4, 3, dtype=torch.float64)
    xn = model.normalize(x)
    u, v = torch.tanh(model.encoder_u(xn)), torch.tanh(model.encoder_v(xn))
    last = model.layers[-1]
    with torch.no_grad():
        for layer in model.layers[1:-1]:
            layer.weight.zero_()
            layer.bias.fill_(50.0)  # Z = tanh(50) = 1 to machine precision → H = V
    assert torch.allclose(model(x), last(v), atol=1e-12)
    with torch.no_grad():
        for layer in model.layers[1:-1]:
            layer.bias.fill_(-50.0)  # Z = −1 → H = 2U − V
    assert torch.allclose(model(x), last(2 * u - v), atol=1e-12)
    gated = build(partial(ModifiedMLP, gate_first=True), out_dim=1)
    with torch.no_grad():
        for layer in gated.layers[:-1]:  # every hidden layer, the first included, is a gate
            layer.weight.zero_()
            layer.bias.fill_(50.0)
    v = torch.tanh(gated.encoder_v(gated.normalize(x)))
    assert torch.allclose(gated(x), gated.layers[-1](v), atol=1e-12)


def test_parameter_counts():
    mlp = MLP(2, 1, width=50, depth=4)
    mod = ModifiedMLP(2, 1, width=50, depth=4)
    assert sum(p.numel() for p in mod.parameters()) == sum(p.numel() for p in mlp.parameters()) + 2 * (2 * 50 + 50)
    four = FourierMLP(2, 1, width=50, depth=4, features=16)
    assert four.layers[0].in_features == 32 and not any(b is four.frequencies for b in four.parameters())


def test_fourier_features_are_reproducible_and_validated():
    a = FourierMLP(2, 1, seed=3).frequencies
    b = FourierMLP(2, 1, seed=3).frequencies
    assert torch.equal(a, b)
    with pytest.raises(ConfigError) as info:
        FourierMLP(2, 1, sigma=0.0)
    assert info.value.key == "sigma"
