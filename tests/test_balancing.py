"""Balancers: each update rule against a hand computation, and a checkpoint round trip of their state."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from sciml.balancing import (
    CAGrad,
    FixedWeights,
    GCond,
    GradNorm,
    LRACode,
    LRAPaper,
    LRAPinnacle,
    PCGrad,
    ReLoBRaLo,
)
from sciml.balancing.cagrad import cagrad_objective, cagrad_weights, project_simplex
from sciml.balancing.gcond import conflict_angle, pair_update
from sciml.balancing.pcgrad import project_conflicts
from sciml.errors import ConfigError


def tiny_problem(seed=0):
    """A 2-3-1 tanh network and two losses of very different gradient scale, in float64."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))

    def losses():
        y = net(x)[:, 0]
        return {"pde": (30 * y - x[:, 0]).square().mean(), "bc": (y - 1).square().mean()}

    return net, losses


def grads_of(net, loss):
    return [g for g in torch.autograd.grad(loss, list(net.parameters()), retain_graph=True)]


def bound(balancer, net, initial=None):
    balancer.setup(["pde", "bc"], list(net.parameters()), initial)
    return balancer


# --- learning-rate annealing ---------------------------------------------------------------------------
def test_lra_paper_matches_hand_computation():
    net, losses = tiny_problem()
    bal = bound(LRAPaper(period=1, alpha=0.9), net, {"bc": 2.0})
    ls = losses()
    g_r = torch.cat([g.reshape(-1) for g in grads_of(net, ls["pde"])])
    g_b = torch.cat([g.reshape(-1) for g in grads_of(net, ls["bc"])])
    hat = float(g_r.abs().max() / g_b.abs().mean())
    bal.backward(ls, step=0)
    assert bal.weights[0] == 1.0
    assert math.isclose(float(bal.weights[1]), 0.1 * 2.0 + 0.9 * hat, rel_tol=1e-12)
    expected = [a + float(bal.weights[1]) * b for a, b in zip(grads_of(net, ls["pde"]), grads_of(net, ls["bc"]))]
    for p, e in zip(net.parameters(), expected):
        assert torch.allclose(p.grad, e, atol=1e-12)


def test_lra_code_uses_weight_matrices_and_weighted_loss():
    net, losses = tiny_problem()
    bal = bound(LRACode(), net, {"bc": 3.0})
    ls = losses()
    gr, gb = grads_of(net, ls["pde"]), grads_of(net, ls["bc"])
    matrices = [0, 2]  # the weights of the two Linear layers; 1 and 3 are biases
    top = max(float(gr[i].abs().max()) for i in matrices)
    mean = np.mean([float((3.0 * gb[i]).abs().mean()) for i in matrices])
    bal.backward(ls, step=0)
    assert math.isclose(float(bal.weights[1]), 0.9 * 3.0 + 0.1 * top / mean, rel_tol=1e-12)
    before = bal.weights.clone()
    for step in range(1, 10):  # period 10: no update in between, plain weighted backward
        for p in net.parameters():
            p.grad = None
        bal.backward(losses(), step=step)
        assert torch.equal(bal.weights, before)
    assert torch.allclose(net[0].weight.grad, gr[0] + before[1].item() * gb[0], atol=1e-12)


def test_lra_pinnacle_matches_hand_computation():
    net, losses = tiny_problem()
    bal = bound(LRAPinnacle(), net, {"bc": 5.0})
    ls = losses()
    g_r = torch.cat([g.reshape(-1) for g in grads_of(net, ls["pde"])])
    g_b = torch.cat([g.reshape(-1) for g in grads_of(net, ls["bc"])])
    hat = float(g_r.abs().max() / (5.0 * g_b.abs().mean()))
    bal.backward(ls, step=3)
    assert math.isclose(float(bal.weights[1]), 0.9 * 5.0 + 0.1 * hat, rel_tol=1e-12)


def test_grad_norm_matches_hand_computation():
    net, losses = tiny_problem()
    bal = bound(GradNorm(period=1000), net)
    ls = losses()
    norms = [float(torch.sqrt(sum(g.square().sum() for g in grads_of(net, ls[n])))) for n in ("pde", "bc")]
    bal.backward(ls, step=0)
    mean = sum(norms) / 2
    for w, n in zip(bal.weights, norms):
        assert math.isclose(float(w), 0.9 + 0.1 * mean / n, rel_tol=1e-12)


def test_annealing_needs_the_reference_term():
    net, _ = tiny_problem()
    with pytest.raises(ConfigError) as info:
        LRACode(reference="residual").setup(["pde", "bc"], list(net.parameters()))
    assert info.value.key == "reference"


# --- ReLoBRaLo ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_relobralo_matches_formula(rho):
    net, losses = tiny_problem()
    bal = bound(ReLoBRaLo(alpha=0.9, expected_rho=rho, temperature=0.5), net)
    l0 = torch.tensor([float(v) for v in losses().values()], dtype=torch.float64)
    bal.backward(losses(), step=0)
    assert torch.equal(bal.weights, torch.ones(2, dtype=torch.float64))
    l1 = torch.tensor([4.0, 0.5], dtype=torch.float64) * l0
    fake = {n: l1[i].clone().requires_grad_(True) for i, n in enumerate(("pde", "bc"))}
    bal.backward(fake, step=1)

    def balance(a, b):
        e = torch.exp(a / (0.5 * b))
        return 2 * e / e.sum()

    expected = 0.9 * (rho * torch.ones(2, dtype=torch.float64) + (1 - rho) * balance(l1, l0)) \
        + 0.1 * balance(l1, l0)
    assert torch.allclose(bal.weights, expected, rtol=1e-12)
    assert math.isclose(float(fake["pde"].grad), float(bal.weights[0]), rel_tol=1e-12)


# --- PCGrad ---------------------------------------------------------------------------------------------
def test_pcgrad_removes_conflict_between_two_tasks():
    g = torch.tensor([[1.0, 0.2, -0.3], [-0.8, 0.5, 0.1]], dtype=torch.float64)
    assert g[0] @ g[1] < 0
    out = project_conflicts(g, [[1], [0]])
    assert abs(float(out[0] @ g[1])) < 1e-14 and abs(float(out[1] @ g[0])) < 1e-14
    d = out.sum(dim=0)
    assert float(d @ g[0]) >= 0 and float(d @ g[1]) >= 0
    assert torch.allclose(out[0], g[0] - (g[0] @ g[1]) / (g[1] @ g[1]) * g[1])


def test_pcgrad_is_identity_without_conflict():
    g = torch.tensor([[1.0, 0.2, -0.3], [0.8, 0.5, 0.1], [0.1, 0.0, 0.0]], dtype=torch.float64)
    orders = [[1, 2], [2, 0], [0, 1]]
    assert torch.equal(project_conflicts(g, orders), g)


def test_pcgrad_balancer_writes_projected_sum():
    net, losses = tiny_problem()
    bal = bound(PCGrad(seed=1), net, {"bc": 2.0})
    ls = losses()
    flat = torch.stack([torch.cat([g.reshape(-1) for g in grads_of(net, ls[n])]) for n in ("pde", "bc")])
    flat[1] *= 2.0
    expected = project_conflicts(flat, [[1], [0]]).sum(dim=0)
    bal.backward(ls, step=0)
    got = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert torch.allclose(got, expected, atol=1e-12)


# --- CAGrad ---------------------------------------------------------------------------------------------
def brute_force(gram, c, n=300):
    best, arg = math.inf, None
    for i, j in itertools.product(range(n + 1), repeat=2):
        if i + j <= n:
            w = np.array([i, j, n - i - j]) / n
            f = cagrad_objective(w, gram, c)
            if f < best:
                best, arg = f, w
    return best, arg


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cagrad_weights_solve_the_small_problem(seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(3, 6))
    g[1] = -0.7 * g[0] + 0.3 * g[1]  # a strong conflict
    gram = g @ g.T
    w = cagrad_weights(gram, 0.5)
    assert abs(w.sum() - 1) < 1e-12 and (w >= 0).all()
    best, arg = brute_force(gram, 0.5)
    assert cagrad_objective(w, gram, 0.5) <= best + 1e-9 * max(1, abs(best))
    assert np.abs(w - arg).max() < 0.02


def test_cagrad_direction_formula():
    g = torch.tensor([[1.0, 0.0], [-0.5, 1.0]], dtype=torch.float64)
    bal = CAGrad(c=0.5)
    d = bal.direction(g)
    w = bal.task_weights
    g0, gw = g.mean(0), w @ g
    expected = (g0 + 0.5 * g0.norm() / gw.norm() * gw) / 1.25
    assert torch.allclose(d, expected, atol=1e-14)
    assert d @ g[0] > 0 and d @ g[1] > 0  # conflict-averse: no task is made worse to first order


def test_project_simplex():
    w = project_simplex(np.array([0.2, 1.5, -0.3]))
    assert np.allclose(w, [0.0, 1.0, 0.0])
    v = np.array([0.4, 0.35, 0.25])
    assert np.allclose(project_simplex(v), v)


# --- GCond ----------------------------------------------------------------------------------------------
def test_gcond_angle_map():
    assert conflict_angle(0.0) == 0.0 and conflict_angle(0.3) == 0.0
    assert math.isclose(conflict_angle(-0.25), math.pi / 4)  # linear on [t_main, t_weak]
    assert math.isclose(conflict_angle(-0.5), math.pi / 2)
    assert math.isclose(conflict_angle(-0.65), math.pi / 2 + math.pi / 2 * 0.25)  # quadratic below t_main
    assert math.isclose(conflict_angle(-0.8), math.pi)
    assert conflict_angle(-0.95) == math.pi
    cs = np.linspace(-1, 0.2, 241)
    alphas = [conflict_angle(c) for c in cs]
    assert all(a >= b for a, b in zip(alphas, alphas[1:]))  # monotone in the cosine


def test_gcond_pair_update_matches_formula():
    gw = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    gl = torch.tensor([-2.0, 0.3, 1.0], dtype=torch.float64)
    for alpha in (math.pi / 4, math.pi / 2, 0.8 * math.pi, math.pi):
        nw, nl = pair_update(gw, gl, alpha)
        dot = gw @ gl
        assert torch.allclose(nw, gw - math.sin(alpha) * dot / (gl @ gl) * gl, atol=1e-15)
        assert torch.allclose(nl, gl - math.sin(min(alpha, math.pi / 2)) * dot / (gw @ gw) * gw, atol=1e-15)
    nw, nl = pair_update(gw, gl, math.pi / 2)
    assert abs(float(nw @ gl)) < 1e-14 and abs(float(nl @ gw)) < 1e-14


def test_gcond_resolution_and_momentum():
    net, losses = tiny_problem()
    bal = bound(GCond(), net)
    ls = losses()
    flat = torch.stack([torch.cat([g.reshape(-1) for g in grads_of(net, ls[n])]) for n in ("pde", "bc")])
    cos = float(flat[0] @ flat[1] / (flat[0].norm() * flat[1].norm()))
    bal.backward(ls, step=0)
    got = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    if cos < 0:  # first resolution: scores tie at 0.2, so the first index wins; momentum is bias-corrected
        nw, nl = pair_update(flat[0], flat[1], conflict_angle(cos))
        expected = nw + nl
    else:
        expected = flat.sum(0)
    assert torch.allclose(got, expected, atol=1e-12)
    assert torch.allclose(bal.norm_ema, flat.norm(dim=1))


def test_gcond_arbitration_scores_and_streak():
    net, _ = tiny_problem()
    bal = bound(GCond(), net)
    bal.resolutions.fill_(1)
    bal.previous = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    bal.norm_ema = torch.tensor([1.0, 4.0], dtype=torch.float64)
    grads = torch.tensor([[3.0, 4.0], [-2.0, 0.0]], dtype=torch.float64)
    scores = bal.scores(grads)  # 0.8 max(0, cos(g, g_prev)) + 0.2 ‖g‖ / EMA
    assert torch.allclose(scores, torch.tensor([0.8 * 0.6 + 0.2 * 5.0, 0.2 * 0.5], dtype=torch.float64))
    winners = [bal.arbitrate(0, 1, scores)[0] for _ in range(5)]
    assert winners == [0, 0, 0, 1, 0]  # three wins in a row, then task 0 is made the loser


def test_gcond_accumulates_micro_batches():
    net, losses = tiny_problem()
    bal = bound(GCond(accumulation=2, mode="stochastic"), net)
    bal.backward(losses(), step=0)
    assert all(p.grad is None for p in net.parameters())  # no update until both terms were seen
    assert bal.counts.tolist() == [1.0, 0.0]
    bal.backward(losses(), step=1)
    assert all(p.grad is not None for p in net.parameters()) and int(bal.micro) == 0
    with pytest.raises(ConfigError):
        bound(GCond(accumulation=1, mode="stochastic"), net)


# --- state ----------------------------------------------------------------------------------------------
FACTORIES = [
    lambda: FixedWeights({"bc": 2.0}), lambda: LRAPaper(), lambda: LRACode(period=2), LRAPinnacle,
    lambda: GradNorm(period=2), PCGrad, CAGrad, lambda: GCond(accumulation=2), ReLoBRaLo,
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: type(f()).__name__)
def test_state_round_trip(factory, tmp_path):
    net, losses = tiny_problem()
    bal = bound(factory(), net)
    for step in range(5):
        for p in net.parameters():
            p.grad = None
        bal.backward(losses(), step)
    torch.save(bal.state_dict(), tmp_path / "b.pt")
    restored = bound(factory(), net)
    restored.load_state_dict(torch.load(tmp_path / "b.pt"))
    for (name, a), (_, b) in zip(bal.state_dict().items(), restored.state_dict().items()):
        assert torch.equal(a, b), name
    outs = []
    for b in (bal, restored):  # both continue identically
        for p in net.parameters():
            p.grad = None
        b.backward(losses(), 5)
        outs.append((b.weights.clone(), [p.grad.clone() for p in net.parameters()]))
    assert torch.equal(outs[0][0], outs[1][0])
    for a, b in zip(outs[0][1], outs[1][1]):
        assert torch.equal(a, b)
