"""Matrix optimizers: equivariance, PolarGrad's nuclear-norm scale, descent on a convex quadratic,
state_dict round trips, weight decay and parameter groups, the role classifier of the stack."""

import copy

import pytest
import torch
from torch import nn

from sciml.models import MLP
from sciml.optim import (
    ARO,
    AuON,
    ColNorm,
    HybridAuON,
    HybridSymmetric,
    LeftSpectral,
    Muon,
    PolarGrad,
    RightSpectral,
    RowNorm,
    Scion,
    Stack,
    linear_roles,
)


def orthogonal(n: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)))
    return q


def direction(cls, g: torch.Tensor, **options) -> torch.Tensor:
    """The first update of ``cls`` from ``W = 0`` with gradient ``g``, lr 1 and no momentum: ``-D(g)``."""
    w = nn.Parameter(torch.zeros_like(g))
    opt = cls([w], lr=1.0, momentum=0.0, **options)
    w.grad = g.clone()
    opt.step()
    return -w.detach()


G = torch.randn(12, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

BI_ORTHOGONAL = [
    (Muon, {"polar": "newton_schulz"}), (Muon, {"polar": "svd"}), (Muon, {"polar": "qdwh"}),
    (PolarGrad, {"polar": "qdwh"}), (PolarGrad, {"polar": "newton_schulz"}), (PolarGrad, {"polar": "svd"}),
    (PolarGrad, {"variant": "polar_first"}),
]


@pytest.mark.parametrize("cls,options", BI_ORTHOGONAL)
def test_orthogonal_equivariance(cls, options):
    u, v = orthogonal(12, 0), orthogonal(7, 1)
    lhs = direction(cls, u @ G @ v.mT, **options)
    rhs = u @ direction(cls, G, **options) @ v.mT
    assert (lhs - rhs).abs().max() < 1e-10


@pytest.mark.parametrize("cls", [AuON, HybridAuON])
def test_auon_is_equivariant_up_to_its_entrywise_cosh_scale(cls):
    """AuON's factor ``r = √mean(cosh(X)²)`` depends on the entries, so only the direction is equivariant."""
    u, v = orthogonal(12, 0), orthogonal(7, 1)
    lhs = direction(cls, u @ G @ v.mT)
    rhs = u @ direction(cls, G) @ v.mT
    assert (lhs / lhs.norm() - rhs / rhs.norm()).abs().max() < 1e-10
    assert abs(float(lhs.norm() / rhs.norm()) - 1) < 0.05


def permutation(n: int, seed: int) -> torch.Tensor:
    return torch.eye(n, dtype=torch.float64)[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]


@pytest.mark.parametrize("cls,left,right", [
    (RowNorm, "perm", "orth"), (ColNorm, "orth", "perm"), (LeftSpectral, "orth", "perm"),
    (RightSpectral, "perm", "orth"), (HybridSymmetric, "perm", "orth"),
])
def test_symmetric_updates_are_equivariant_to_their_groups(cls, left, right):
    mats = {"perm": permutation, "orth": orthogonal}
    p, q = mats[left](12, 4), mats[right](7, 5)
    lhs = direction(cls, p @ G @ q.mT)
    rhs = p @ direction(cls, G) @ q.mT
    assert (lhs - rhs).abs().max() < 1e-10


def test_column_norm_does_not_commute_with_a_column_rotation():
    """The test above can fail: column-norm is equivariant to column permutations, not rotations."""
    v = orthogonal(7, 6)
    assert (direction(ColNorm, G @ v.mT) - direction(ColNorm, G) @ v.mT).abs().max() > 1e-3


def test_row_and_col_norm_values():
    d_row = direction(RowNorm, G)
    assert torch.allclose(d_row.norm(dim=1), torch.full((12,), 7**0.5, dtype=torch.float64))
    d_col = direction(ColNorm, G)
    assert torch.allclose(d_col.norm(dim=0), torch.full((7,), 12**0.5, dtype=torch.float64))
    row_vec = G[:1]  # a one-output layer: column-norm is sign(G)
    assert torch.equal(direction(ColNorm, row_vec), torch.sign(row_vec))


@pytest.mark.parametrize("polar", ["qdwh", "svd", "newton_schulz"])
def test_polargrad_scale_is_the_nuclear_norm(polar):
    d = direction(PolarGrad, G, polar=polar)
    u, s, vh = torch.linalg.svd(G, full_matrices=False)
    assert torch.allclose(d, s.sum() * (u @ vh), atol=1e-10)
    assert abs(d.norm() / 7**0.5 - torch.linalg.matrix_norm(G, "nuc")) < 1e-10


def test_muon_scale_and_spectral_lmo():
    d = direction(Muon, G, polar="svd")
    u, _, vh = torch.linalg.svd(G, full_matrices=False)
    assert torch.allclose(d, (12 / 7) ** 0.5 * (u @ vh), atol=1e-12)
    assert torch.allclose(direction(Scion, G, norm="spectral", polar="svd"), d, atol=1e-12)
    assert torch.allclose(direction(Scion, G, norm="sign"), torch.sign(G) / 7)


def test_auon_is_normalized_momentum_scaled_by_cosh_rms():
    d = direction(AuON, G)
    x = G / G.norm()
    assert torch.allclose(d, (12 / 7) ** 0.5 * x / torch.cosh(x).square().mean().sqrt(), atol=1e-14)


def test_aro_first_rotation_and_policy():
    d = direction(ARO, G, policy="row", scale=1.0)
    f = G / G.norm(dim=1, keepdim=True) * 7**0.5
    q, r = torch.linalg.qr(G @ f.mT)
    q = q * torch.sign(torch.diagonal(r))
    assert torch.allclose(d, q @ (q.mT @ G / (q.mT @ G).norm(dim=1, keepdim=True)) * 7**0.5, atol=1e-10)


MATRIX = [
    (Muon, {"lr": 0.1}), (Muon, {"lr": 0.1, "polar": "svd"}), (PolarGrad, {"lr": 0.025}),
    (PolarGrad, {"lr": 0.025, "variant": "polar_first", "polar": "newton_schulz"}), (AuON, {"lr": 0.1}),
    (HybridAuON, {"lr": 0.1}), (ARO, {"lr": 0.1}), (ARO, {"lr": 0.1, "policy": "sign"}),
    (RowNorm, {"lr": 0.05}), (ColNorm, {"lr": 0.05}), (LeftSpectral, {"lr": 0.05, "eps": 1e-3}),
    (RightSpectral, {"lr": 0.05}), (HybridSymmetric, {"lr": 0.05}),
    (Scion, {"lr": 0.1, "norm": "spectral"}), (Scion, {"lr": 0.1, "norm": "row"}),
    (Scion, {"lr": 0.1, "norm": "col"}), (Scion, {"lr": 0.2, "norm": "sign"}),
]


def quadratic(dtype):
    """``f(W, b) = ½‖A W − B‖² + ½‖b − c‖²``: strongly convex in the matrix ``W`` and the vector ``b``."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(10, 6, dtype=dtype, generator=gen) / 10**0.5 + torch.eye(10, 6, dtype=dtype)
    target = torch.randn(10, 5, dtype=dtype, generator=gen)
    c = torch.randn(5, dtype=dtype, generator=gen)
    params = [nn.Parameter(torch.zeros(6, 5, dtype=dtype)), nn.Parameter(torch.zeros(5, dtype=dtype))]
    f = lambda w, b: 0.5 * (a @ w - target).square().sum() + 0.5 * (b - c).square().sum()
    f.minimum = float(f(torch.linalg.lstsq(a, target).solution, c))
    return f, params


def descend(opt, f, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        f(*params).backward()
        opt.step()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cls,options", MATRIX)
def test_decreases_a_convex_quadratic(cls, options, dtype):
    f, params = quadratic(dtype)
    gap0 = float(f(*params).detach()) - f.minimum
    descend(cls(params, **options), f, params, 60)
    assert params[0].dtype == dtype
    assert float(f(*params).detach()) - f.minimum < 0.25 * gap0


@pytest.mark.parametrize("cls,options", MATRIX)
def test_state_dict_round_trip(cls, options):
    """A fresh optimizer loaded from the state continues exactly like the original."""
    f, params = quadratic(torch.float64)
    opt = cls(params, **options)
    descend(opt, f, params, 3)
    twin = [nn.Parameter(p.detach().clone()) for p in params]
    other = cls(twin, **{k: v for k, v in options.items() if k != "lr"}, lr=123.0)
    other.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert other.param_groups[0]["lr"] == options["lr"]
    descend(opt, f, params, 4)
    descend(other, f, twin, 4)
    for p, q in zip(params, twin):
        assert torch.equal(p, q)
    assert opt.state, "the optimizer should keep state (momentum, rotation)"


def test_weight_decay_and_param_groups():
    w1 = nn.Parameter(torch.ones(4, 3, dtype=torch.float64))
    w2 = nn.Parameter(torch.ones(4, 3, dtype=torch.float64))
    opt = RowNorm([{"params": [w1]}, {"params": [w2], "lr": 0.2}], lr=0.1, momentum=0.0, weight_decay=0.5)
    w1.grad = torch.zeros_like(w1)  # zero gradient: only the decay acts
    w2.grad = torch.ones_like(w2)
    opt.step()
    assert torch.allclose(w1, torch.full_like(w1, 1 - 0.1 * 0.5))
    assert torch.allclose(w2, torch.full_like(w2, (1 - 0.2 * 0.5) - 0.2))


def test_roles_of_an_mlp_and_of_any_linear_model():
    model = MLP(3, 2, width=8, depth=3)
    roles = linear_roles(model)
    assert roles["input"] == [model.layers[0].weight]
    assert roles["hidden"] == [layer.weight for layer in model.layers[1:-1]]
    assert roles["output"] == [model.layers[-1].weight]
    assert roles["vector"] == [layer.bias for layer in model.layers]
    other = nn.Sequential(nn.Linear(2, 5), nn.LayerNorm(5), nn.Linear(5, 5, bias=False), nn.Tanh(), nn.Linear(5, 1))
    roles = linear_roles(other)
    assert roles["input"] == [other[0].weight] and roles["output"] == [other[4].weight]
    assert roles["hidden"] == [other[2].weight]
    assert len(roles["vector"]) == 4  # two biases and the norm's scale and shift


def test_stack_default_rules_and_overrides():
    model = MLP(2, 1, width=8, depth=2)
    stack = Stack.for_model(model)
    kinds = {role: type(opt).__name__ for role, opt in stack.parts.items()}
    assert kinds == {"input": "RowNorm", "hidden": "Muon", "output": "ColNorm", "vector": "Adam"}
    stack = Stack.for_model(model, {"hidden": {"rule": "polargrad", "lr": 0.1}, "input": {"lr": 0.5}})
    assert isinstance(stack.parts["hidden"], PolarGrad) and stack.parts["hidden"].defaults["lr"] == 0.1
    assert isinstance(stack.parts["input"], RowNorm) and stack.parts["input"].defaults["lr"] == 0.5
    with pytest.raises(ValueError):
        Stack.for_model(model, {"middle": {"rule": "muon"}})


def test_stack_trains_and_round_trips():
    torch.manual_seed(0)
    model = MLP(2, 1, width=16, depth=2).double()
    x = torch.rand(64, 2, dtype=torch.float64)
    y = torch.sin(3 * x).sum(1, keepdim=True)
    stack = Stack.for_model(model)
    sched = torch.optim.lr_scheduler.LambdaLR(stack, lambda s: 0.99**s)

    def loss():
        return (model(x) - y).square().mean()

    first = float(loss().detach())
    for _ in range(3):
        stack.zero_grad()
        loss().backward()
        stack.step()
        sched.step()
    state = copy.deepcopy(stack.state_dict())
    twin = copy.deepcopy(model)
    other = Stack.for_model(twin)
    other.load_state_dict(state)
    assert other.param_groups[0]["lr"] == stack.param_groups[0]["lr"] == 0.99**3 * 1e-3
    for _ in range(40):
        for opt, net in ((stack, model), (other, twin)):
            opt.zero_grad()
            (net(x) - y).square().mean().backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.allclose(p, q, atol=1e-12)
    assert float(loss().detach()) < 0.5 * first
