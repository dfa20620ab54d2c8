"""Stochastic engines (SDGD, sparse Taylor jets, Hutchinson): exactness of the jets and unbiasedness."""

import pytest
import torch

from sciml.engines import Engine, HutchinsonEngine, SDGDEngine, TaylorEngine, sample_subset
from sciml.fields import Field
from sciml.models import MLP
from sciml.models.constrained import BallFactor, HardConstraint, TimeToGo

pytestmark = pytest.mark.usefixtures("one_thread")


D = 12


def model64(dim=D, out=1, stats=None):
    torch.manual_seed(0)
    return MLP(dim, out, width=16, depth=3, input_stats=stats).double()


def points(n=6, dim=D, seed=1):
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 1.2 - 0.6


def field(model, x, engine, spatial=None):
    return Field(model, x, [f"x{i}" for i in range(x.shape[1])], engine, spatial_dims=spatial)


def hessian_diagonals(model, x):
    out = []
    for p in x:
        h = torch.func.hessian(lambda q: model(q.unsqueeze(0))[0, 0])(p)
        out.append(torch.diagonal(h))
    return torch.stack(out)


def test_sample_subset_distinct_and_uniform():
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(40)
    for _ in range(2000):
        s = sample_subset(40, 5, g)
        assert s.unique().numel() == 5 and int(s.min()) >= 0 and int(s.max()) < 40
        counts[s] += 1
    # each index is in the subset with probability 5/40: 250 ± 15 expected hits (binomial std)
    assert (counts - 250).abs().max() < 5 * 15
    assert torch.equal(sample_subset(7, 9, g).sort().values, torch.arange(7))


@pytest.mark.parametrize("wrap", ["plain", "ball", "terminal", "scaled"])
def test_sparse_taylor_second_derivatives_exact(wrap):
    stats = (torch.linspace(-0.1, 0.1, D), torch.linspace(0.5, 2.0, D)) if wrap == "scaled" else None
    net = model64(stats=stats)
    if wrap == "ball":
        net = HardConstraint(net, BallFactor(1.0))
    elif wrap == "terminal":
        net = HardConstraint(net, TimeToGo(1.0), BallFactor(0.0, dim=D - 1))  # u = (1 − t) N − ‖x‖²
    x = points()
    dims = torch.tensor([7, 0, 11, 3])
    y, d1, d2 = net.taylor(x, dims)
    exact = hessian_diagonals(net, x)
    assert torch.allclose(y, net(x), atol=1e-12)
    assert torch.allclose(d2[..., 0], exact[:, dims], atol=1e-10, rtol=0)
    grad = torch.func.vmap(torch.func.grad(lambda q: net(q.unsqueeze(0))[0, 0]))(x)
    assert torch.allclose(d1[..., 0], grad[:, dims], atol=1e-10, rtol=0)
    # along arbitrary directions v: vᵀ∇²u v
    v = torch.randn(3, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    _, _, dv = net.taylor(x, v)
    for n in range(x.shape[0]):
        h = torch.func.hessian(lambda q: net(q.unsqueeze(0))[0, 0])(x[n])
        assert torch.allclose(dv[n, :, 0], torch.einsum("ki,ij,kj->k", v, h, v), atol=1e-10, rtol=0)


def test_sparse_first_layer_gradient_matches_dense():
    """The gathered-column backward (matmul + index_add) equals autograd through a dense tangent."""
    net = model64()
    x = points(20)
    dims = torch.tensor([3, 5, 9, 5])  # a repeated coordinate accumulates twice
    _, _, d2 = net.taylor(x, dims)
    loss = d2.sum(1).square().mean()
    params = list(net.parameters())[:-1]  # the output bias does not enter second derivatives
    sparse = torch.autograd.grad(loss, params)
    onehot = torch.eye(D, dtype=torch.float64)[dims]
    _, _, e2 = net.taylor(x, onehot)
    dense = torch.autograd.grad(e2.sum(1).square().mean(), params)
    assert torch.allclose(d2, e2, atol=1e-12)
    for a, b in zip(sparse, dense):
        assert torch.allclose(a, b, atol=1e-12)


def test_engines_agree_when_sampling_every_dimension():
    net = HardConstraint(model64(), BallFactor())
    x = points()
    exact = field(net, x, Engine()).laplacian
    for engine in (SDGDEngine(num_dims=D), TaylorEngine(num_dims=D), TaylorEngine(num_dims=D, chunk_dims=5)):
        engine.setup(None, torch.Generator().manual_seed(0))
        u = field(net, x, engine)
        assert torch.allclose(u.laplacian, exact, atol=1e-10)
        assert torch.allclose(u.hessian_diag, field(net, x, Engine()).hessian_diag, atol=1e-10)
        assert torch.allclose(u.grad, field(net, x, Engine()).grad, atol=1e-12)


@pytest.mark.parametrize("options", [{}, {"unbiased": True}, {"chunk_dims": 3}], ids=["plain", "unbiased", "chunked"])
def test_summed_second_channel_matches_reverse_mode_on_the_same_draws(options):
    """The Taylor engine sums the sampled second derivatives in one operator channel of the jet (the forward
    Laplacian); nested reverse mode on the same subsets gives the same estimates, and so the same gradients."""
    net = HardConstraint(model64(), BallFactor())
    assert net.operator_channels
    x = points()
    estimates = {}
    for jets in ("taylor", "autograd"):
        engine = SDGDEngine(num_dims=5, jets=jets, **options)
        engine.setup(None, torch.Generator().manual_seed(4))
        u = field(net, x, engine)
        lap = u.laplacian
        other = engine.independent(u)
        second = other.laplacian if other is not None else lap
        grads = torch.autograd.grad((lap * second).sum(), list(net.parameters())[:-1])
        estimates[jets] = (lap, second, grads)
    (a, a2, ga), (b, b2, gb) = estimates["taylor"], estimates["autograd"]
    assert torch.allclose(a, b, atol=1e-10, rtol=0) and torch.allclose(a2, b2, atol=1e-10, rtol=0)
    assert ("unbiased" in options) == (not torch.equal(a, a2))
    for p, q in zip(ga, gb):
        assert torch.allclose(p, q, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("drift", [True, False], ids=["with-first-order-part", "second-order-only"])
def test_hard_constraint_operator_channels_by_the_product_rule(drift):
    """``L u`` of ``u = a N + b`` from ``N``'s operator channels equals ``L`` applied to the full jet of ``u``."""
    net = HardConstraint(model64(out=2), TimeToGo(1.0), BallFactor(0.0, dim=D - 1))
    x = points()
    dims = torch.tensor([2, 9, 11])
    g = torch.Generator().manual_seed(6)
    a = torch.randn(2, D, generator=g, dtype=torch.float64) if drift else None
    b = torch.randn(2, 3, generator=g, dtype=torch.float64)
    y, d1, op = net.taylor(x, dims, operators=(a, b))
    full_y, full_d1, full_d2 = net.taylor(x, None)
    want = torch.einsum("km,nmo->nko", b, full_d2[:, dims])
    if drift:
        want = want + torch.einsum("ki,nio->nko", a, full_d1)
    assert torch.allclose(y, full_y, atol=1e-12) and torch.allclose(d1, full_d1[:, dims], atol=1e-12)
    assert torch.allclose(op, want, atol=1e-10, rtol=0)


def _mean_and_bound(draws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return draws.mean(0), 5 * draws.std(0) / draws.shape[0] ** 0.5 + 1e-12


@pytest.mark.parametrize("engine", [SDGDEngine(num_dims=3), TaylorEngine(num_dims=3),
                                    HutchinsonEngine(num_probes=2, probe="rademacher"),
                                    HutchinsonEngine(num_probes=2, probe="gaussian")],
                         ids=["sdgd", "taylor", "hte-rademacher", "hte-gaussian"])
def test_estimators_are_unbiased(engine):
    net = HardConstraint(model64(), BallFactor())
    x = points(4)
    exact = field(net, x, Engine()).laplacian
    engine.setup(None, torch.Generator().manual_seed(3))
    draws = torch.stack([field(net, x, engine).laplacian.detach() for _ in range(600)])
    mean, bound = _mean_and_bound(draws)
    assert draws.std(0).min() > 0  # really stochastic
    assert ((mean - exact).abs() < bound).all(), (mean - exact, bound)


def test_hessian_diagonal_estimate_unbiased_and_time_excluded():
    net = model64()
    x = points(3)
    spatial = list(range(D - 1))  # the last variable plays time: never sampled
    exact = field(net, x, Engine(), spatial).hessian_diag
    engine = TaylorEngine(num_dims=4)
    engine.setup(None, torch.Generator().manual_seed(5))
    draws = torch.stack([field(net, x, engine, spatial).hessian_diag.detach() for _ in range(800)])
    mean, bound = _mean_and_bound(draws)
    assert draws.shape[-1] == D - 1 and ((mean - exact).abs() < bound).all()


def test_unbiased_variant_gives_unbiased_loss_gradient():
    """E[∇ mean(2 sg(r₁) r₂ − sg(r₁ r₂))] = ∇ mean(r²) for r = Δu − f (Hu et al. 2023, Sec. 3.3)."""
    net = HardConstraint(model64(), BallFactor())
    x = points(4)
    f = torch.linspace(-1, 1, 4, dtype=torch.float64)
    params = list(net.model.parameters())[:-1]
    r = field(net, x, Engine()).laplacian - f
    exact = torch.cat([g.reshape(-1) for g in torch.autograd.grad(r.square().mean(), params)])
    engine = TaylorEngine(num_dims=4, unbiased=True)
    engine.setup(None, torch.Generator().manual_seed(7))
    draws = []
    for _ in range(150):
        u = field(net, x, engine)
        r1 = u.laplacian - f
        r2 = engine.independent(u).laplacian - f
        assert not torch.equal(r1, r2)
        loss = (2 * r1.detach() * r2 - (r1 * r2).detach()).mean()
        draws.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    mean, bound = _mean_and_bound(torch.stack(draws))
    assert ((mean - exact).abs() < bound).all()


def test_chunked_accumulation_matches_one_chunk():
    net = HardConstraint(model64(), BallFactor())
    x = points(8)
    grads = []
    for chunk in (0, 3):
        engine = TaylorEngine(num_dims=10, chunk_dims=chunk)
        engine.setup(None, torch.Generator().manual_seed(11))
        lap = field(net, x, engine).laplacian
        grads.append((lap, torch.autograd.grad(lap.square().mean(), list(net.parameters()))))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-12)
    for a, b in zip(grads[0][1], grads[1][1]):
        assert torch.allclose(a, b, atol=1e-12)


def test_wide_float32_first_layer_matches_float64():
    """The oneDNN path for wide float32 inputs (d >= 4096): value, jets and parameter gradients."""
    d = 5000
    torch.manual_seed(0)
    net = HardConstraint(MLP(d, 1, width=32, depth=2), BallFactor())
    x = torch.randn(10, d) / d**0.5
    dims = torch.tensor([4999, 17, 2500])
    grads = []
    for dtype in (torch.float32, torch.float64):
        net = net.to(dtype)
        y, _, d2 = net.taylor(x.to(dtype), dims)
        loss = (y[:, 0] + d2.sum(1)[:, 0]).square().mean()
        grads.append([y, d2] + list(torch.autograd.grad(loss, list(net.parameters()))))
        with torch.no_grad():
            grads[-1].append(net(x.to(dtype)))
    for a, b in zip(*grads):
        assert torch.allclose(a.double(), b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))
