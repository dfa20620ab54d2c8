"""NTK weights (balancer=ntk), MultiAdam (optimizer=multiadam) and PINN-w (balancer=pinn_w): each rule against a
hand computation, their hand-offs in the trainer, and state round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_combinations import HELMHOLTZ, SMALL_MODEL, compose_config  # tests/ is on the path of every pytest run
from torch import nn

from sciml.balancing import FixedWeights, GCond, NTKWeights
from sciml.cli.train import prepare
from sciml.errors import ConfigError
from sciml.optim import MultiAdam
from sciml.optim.multiadam import multiadam_step

NAMES = ["bc", "pde", "ic"]  # the PDE term in the middle: grouping must not depend on the order


# --- NTK weights ------------------------------------------------------------------------------------------
def linear_problem(seed=0):
    """``u(x) = θᵀφ(x)`` and linear residuals ``r_i = A_i θ − b_i``: the per-point gradients are the rows of
    ``A_i``, so the kernel traces and the summed gradients are explicit."""
    g = torch.Generator().manual_seed(seed)
    net = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        net.weight.copy_(torch.randn(1, 4, generator=g, dtype=torch.float64))
    a = {"bc": torch.randn(3, 4, generator=g, dtype=torch.float64),
         "pde": 20 * torch.randn(6, 4, generator=g, dtype=torch.float64),
         "ic": 0.1 * torch.randn(5, 4, generator=g, dtype=torch.float64)}
    b = {n: torch.randn(len(m), generator=g, dtype=torch.float64) for n, m in a.items()}

    def residuals():
        return {n: net(a[n])[:, 0] - b[n] for n in NAMES}

    return net, a, residuals


def mlp_problem(seed=0):
    """A 2-4-1 tanh network with three nonlinear residuals of different scales."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    g = torch.Generator().manual_seed(seed)
    x = {n: torch.randn(k, 2, generator=g, dtype=torch.float64) for n, k in (("bc", 3), ("pde", 7), ("ic", 4))}

    def residuals():
        y = {n: net(x[n])[:, 0] for n in NAMES}
        return {"bc": y["bc"] - 1, "pde": 30 * y["pde"] - x["pde"][:, 0], "ic": y["ic"].square() - x["ic"][:, 1]}

    return net, residuals


def jacobian_rows(net, r):
    """The per-point gradients ``∇_θ r(x)``, one backward pass per residual (the explicit definition)."""
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(r[k], list(net.parameters()), retain_graph=True)])
            for k in range(len(r))]
    return torch.stack(rows)


def decide_ntk(balancer, residuals, step=0):
    losses = {n: r.square().mean() for n, r in residuals.items()}
    balancer.take_residuals(residuals)
    return balancer.decide(losses, step)


def expected_pinnacle(jacobians):
    """PINNacle: ``g = Σ_x ∇r(x)``, the column sums of the Jacobians; PDE vs the rest."""
    g_r = jacobians["pde"].sum(0)
    g_b = sum(jacobians[n].sum(0) for n in NAMES if n != "pde")
    nr, nb = float(g_r @ g_r), float(g_b @ g_b)
    return [(nr + nb) / (nr if n == "pde" else nb) for n in NAMES]


def expected_trace(jacobians):
    """Algorithm 1 with mean traces: ``t_i = ‖J_i‖_F² / n_i``, ``λ_i = Σ_j t_j / t_i``."""
    t = [float(jacobians[n].square().sum()) / len(jacobians[n]) for n in NAMES]
    return [sum(t) / ti for ti in t]


@pytest.mark.parametrize("variant,expected", [("pinnacle", expected_pinnacle), ("trace", expected_trace)])
def test_ntk_weights_of_a_linear_model(variant, expected):
    net, a, residuals = linear_problem()
    bal = NTKWeights(variant=variant)
    bal.setup(NAMES, list(net.parameters()))
    alpha = decide_ntk(bal, residuals())
    np.testing.assert_allclose(alpha.numpy(), expected(a), rtol=1e-10)
    assert torch.equal(bal.weights, alpha) and int(bal.decisions) == 1


@pytest.mark.parametrize("variant,expected", [("pinnacle", expected_pinnacle), ("trace", expected_trace)])
def test_ntk_weights_of_an_mlp(variant, expected):
    net, residuals = mlp_problem()
    rs = residuals()
    jacobians = {n: jacobian_rows(net, r) for n, r in rs.items()}
    bal = NTKWeights(variant=variant)
    bal.setup(NAMES, list(net.parameters()))
    np.testing.assert_allclose(decide_ntk(bal, rs).numpy(), expected(jacobians), rtol=1e-10)


def test_ntk_pde_terms_period_and_options():
    net, a, residuals = linear_problem()
    bal = NTKWeights(pde_terms=["pde", "ic"], period=2)  # two PDE terms: g_r sums both
    bal.setup(NAMES, list(net.parameters()))
    first = decide_ntk(bal, residuals(), step=0)
    g_r, g_b = a["pde"].sum(0) + a["ic"].sum(0), a["bc"].sum(0)
    nr, nb = float(g_r @ g_r), float(g_b @ g_b)
    np.testing.assert_allclose(first.numpy(), [(nr + nb) / nb, (nr + nb) / nr, (nr + nb) / nr], rtol=1e-10)
    with torch.no_grad():
        net.weight.mul_(3.0)
    a["pde"].mul_(2.0)  # the kernel changes ...
    assert torch.equal(decide_ntk(bal, residuals(), step=1), first)  # ... but the weights are kept until step 2
    second = decide_ntk(bal, residuals(), step=2)
    assert not torch.equal(second, first)
    a["pde"].zero_()
    a["ic"].zero_()  # g_r = 0: the PDE weights would be infinite and keep their values, bc gets 1
    assert decide_ntk(bal, residuals(), step=4).tolist() == [1.0, float(second[1]), float(second[2])]
    only_pde = NTKWeights()  # no other term: weight 1
    only_pde.setup(["pde"], list(net.parameters()))
    assert float(decide_ntk(only_pde, {"pde": residuals()["pde"]})[0]) == 1.0
    with pytest.raises(ConfigError, match="variant"):
        NTKWeights(variant="eigen")
    with pytest.raises(ConfigError, match="pde_terms"):
        NTKWeights(pde_terms=["interior"]).setup(NAMES, list(net.parameters()))
    with pytest.raises(RuntimeError, match="residual vectors"):  # decide without the hand-off
        bal.decide({n: r.square().mean() for n, r in residuals().items()}, 6)


@pytest.mark.parametrize("variant", ["pinnacle", "trace"])
def test_ntk_state_round_trip(variant, tmp_path):
    net, residuals = mlp_problem()
    bal = NTKWeights(variant=variant, period=3)
    bal.setup(NAMES, list(net.parameters()))
    for step in range(2):
        decide_ntk(bal, residuals(), step)
    torch.save(bal.state_dict(), tmp_path / "b.pt")
    restored = NTKWeights(variant=variant, period=3)
    restored.setup(NAMES, list(net.parameters()))
    restored.load_state_dict(torch.load(tmp_path / "b.pt"))
    assert torch.equal(restored.weights, bal.weights) and int(restored.decisions) == 2
    for step in (2, 3):  # step 2 keeps the restored weights, step 3 recomputes them: both agree throughout
        assert torch.equal(decide_ntk(bal, residuals(), step), decide_ntk(restored, residuals(), step))


def test_trainer_hands_residuals_to_ntk(one_thread):
    """A 3-step run: before each decision the balancer gets every term's residual vector, whose mean square
    is the step's loss; one decision per step; the losses are never compiled for it."""
    trainer = prepare(compose_config([*HELMHOLTZ, "balancer=ntk", "trainer.compile=true"]), None, {})
    assert "NTKWeights" in trainer.compile_route and trainer.compiled_losses is None
    handed = []
    take = trainer.balancer.take_residuals

    def recording(residuals):
        handed.append((int(trainer.balancer.decisions), residuals))
        take(residuals)

    trainer.balancer.take_residuals = recording
    for step in range(3):
        losses, total = trainer.train_step()
        decisions, residuals = handed[-1]
        assert len(handed) == step + 1 and decisions == step and int(trainer.balancer.decisions) == step + 1
        assert set(residuals) == {"pde", "bc"} and all(r.requires_grad for r in residuals.values())
        for name, r in residuals.items():
            assert torch.equal(r.square().mean(), losses[name])
        assert math.isclose(float(total), sum(float(trainer.balancer.weights[i] * losses[n].detach())
                                              for i, n in enumerate(trainer.balancer.names)), rel_tol=1e-12)
    assert trainer.balancer._residuals is None  # released after each decision


def test_ntk_refused_with_a_loss_without_residual_vectors(one_thread):
    """SDGD's unbiased loss ``mean(r₁ r₂)`` is not the mean square of one residual vector."""
    trainer = prepare(compose_config(["pde=poisson_ball", "pde.dim=4", "pde.batch_size=32", "trainer=sdgd",
                                      "trainer.eval_points=200", "engine=taylor", "engine.num_dims=1",
                                      "engine.unbiased=true", "balancer=ntk", "model.width=8", "model.depth=2"]),
                      None, {})
    with pytest.raises(ConfigError, match="NTKWeights.*taylor") as error:
        trainer.train_step()
    assert "\n" not in str(error.value) and int(trainer.balancer.decisions) == 0


# --- PINN-w ------------------------------------------------------------------------------------------------
def test_fixed_weights_for_every_non_pde_term():
    net, _, _ = linear_problem()
    params = list(net.parameters())
    bal = FixedWeights(others=10.0)
    bal.setup(NAMES, params, {"pde": 2.0, "bc": 3.0})  # the problem's weights: others replaces the non-PDE ones
    assert bal.weights.tolist() == [10.0, 2.0, 10.0]
    bal = FixedWeights(weights={"ic": 50.0}, others=10.0, pde_terms=["pde", "ic"])  # weights override others
    bal.setup(NAMES, params)
    assert bal.weights.tolist() == [10.0, 1.0, 50.0]
    with pytest.raises(ConfigError, match="others"):
        FixedWeights(others=-1.0)
    with pytest.raises(ConfigError, match="pde_terms"):
        FixedWeights(others=10.0, pde_terms=["wall"]).setup(NAMES, params)


def test_pinn_w_config(one_thread):
    trainer = prepare(compose_config([*HELMHOLTZ, "balancer=pinn_w"]), None, {})
    assert trainer.balancer.weight_dict() == {"pde": 1.0, "bc": 10.0}


#: Navier-Stokes (PINNacle's NS2d-C): three PDE residuals, none named ``pde``
NAVIER_STOKES = ["pde=pinnacle_ns2d_c", "pde.batch_size=32", "trainer.resample=false", *SMALL_MODEL["mlp"]]
NS_PDE = ["mom_x", "mom_y", "cont"]


def test_navier_stokes_residuals_are_the_pde_terms_of_pinn_w_ntk_and_multiadam(one_thread):
    """The problem declares its PDE terms (``Problem.pde_term_names``): PINN-w weights the momentum and
    continuity residuals alike and only the conditions by ``others``, NTK sums the three residuals on its
    PDE side, MultiAdam groups them together; a config's ``pde_terms`` still wins."""
    weights = prepare(compose_config([*NAVIER_STOKES, "balancer=pinn_w", "balancer.others=100"]), None,
                      {}).balancer.weight_dict()
    assert [n for n, w in weights.items() if w == 1.0] == NS_PDE
    assert {w for n, w in weights.items() if n not in NS_PDE} == {100.0}
    ntk = prepare(compose_config([*NAVIER_STOKES, "balancer=ntk"]), None, {}).balancer
    assert [n for n, pde in zip(ntk.names, ntk.pde) if pde] == NS_PDE
    trainer = prepare(compose_config([*NAVIER_STOKES, "optimizer=multiadam"]), None, {})
    groups = trainer.plan.at(0).optimizer.loss_groups(trainer.balancer.names, trainer.problem.pde_term_names)
    assert groups[0] == NS_PDE and set(groups[1]) == set(trainer.balancer.names) - set(NS_PDE)
    chosen = prepare(compose_config([*NAVIER_STOKES, "balancer=pinn_w", "balancer.others=100",
                                     "balancer.pde_terms=[mom_x]"]), None, {}).balancer.weight_dict()
    assert [n for n, w in chosen.items() if w == 1.0] == ["mom_x"]


# --- MultiAdam ---------------------------------------------------------------------------------------------
def random_gradients(shapes, names, seed):
    g = torch.Generator().manual_seed(seed)
    scale = {"pde": 100.0, "bc": 1.0, "ic": 0.01}
    return {n: [scale[n] * torch.randn(s, generator=g, dtype=torch.float64) for s in shapes] for n in names}


def test_multiadam_matches_hand_written_reference():
    """Three steps, groups {pde} and {bc, ic} with α = (bc 1, pde 2, ic 3): the group weights are the mean α
    (2 and 2), the rest's gradient ½ g_bc + 3/2 g_ic."""
    shapes = [(3, 2), (3,)]
    params = [torch.randn(s, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) for s in shapes]
    theta = [p.detach().numpy().copy() for p in params]
    lr, (b1, b2), eps = 0.01, (0.9, 0.99), 1e-6
    opt = MultiAdam(params, lr=lr, betas=(b1, b2), eps=eps)
    alpha = {"bc": 1.0, "pde": 2.0, "ic": 3.0}
    m = [[np.zeros(s) for s in shapes] for _ in range(2)]
    v = [[np.zeros(s) for s in shapes] for _ in range(2)]
    for t in range(1, 4):
        grads = random_gradients(shapes, NAMES, seed=t)
        opt.step(term_gradients=grads, weights=alpha)
        for j in range(len(shapes)):
            groups = [grads["pde"][j].numpy(), 0.5 * grads["bc"][j].numpy() + 1.5 * grads["ic"][j].numpy()]
            step = np.zeros(shapes[j])
            for k, gk in enumerate(groups):
                m[k][j] = b1 * m[k][j] + (1 - b1) * gk
                v[k][j] = b2 * v[k][j] + (1 - b2) * gk**2
                m_hat, v_hat = m[k][j] / (1 - b1**t), v[k][j] / (1 - b2**t)
                step += 2.0 * m_hat / (np.sqrt(v_hat) + eps)
            theta[j] = theta[j] - lr * step / 2
        for p, expected in zip(params, theta):
            np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-12, atol=1e-12)


def test_multiadam_step_function_is_scale_invariant_per_group():
    """At the first step ``m̂/√v̂ = sign(G)`` (ε = 0): scaling one group's gradient changes nothing."""
    p, q = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    grads = torch.randn(2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    scaled = grads * torch.tensor([[1e6], [1e-6]], dtype=torch.float64)
    for param, g in ((p, grads), (q, scaled)):
        multiadam_step(param, g, torch.zeros_like(g), torch.zeros_like(g), 1, [1.0, 1.0], 0.1, (0.9, 0.999), 0.0)
    torch.testing.assert_close(p, -0.05 * grads.sign().sum(0), rtol=1e-14, atol=1e-16)
    torch.testing.assert_close(q, p, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("groups,names", [("pde_rest", ["pde"]), ("terms", ["bc"])])
def test_one_group_is_adam(groups, names):
    shapes = [(4, 3), (4,)]
    start = [torch.randn(s, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) for s in shapes]
    ours = [p.clone() for p in start]
    theirs = [nn.Parameter(p.clone()) for p in start]
    opt = MultiAdam(ours, lr=3e-3, betas=(0.99, 0.99), eps=1e-8, groups=groups)
    adam = torch.optim.Adam(theirs, lr=3e-3, betas=(0.99, 0.99), eps=1e-8, foreach=False)
    for t in range(5):
        grads = random_gradients(shapes, names, seed=10 + t)
        opt.step(term_gradients=grads, weights={names[0]: 1.0})
        for p, g in zip(theirs, grads[names[0]]):
            p.grad = g.clone()
        adam.step()
        for a, b in zip(ours, theirs):
            assert torch.equal(a, b.detach())
    assert opt.state[ours[0]]["exp_avg"].shape == (1, 4, 3)


def test_multiadam_state_round_trip(tmp_path):
    shapes = [(2, 2), (2,)]

    def fresh():
        params = [torch.ones(s, dtype=torch.float64) for s in shapes]
        return params, MultiAdam(params, groups="terms")

    params, opt = fresh()
    alpha = {"bc": 1.0, "pde": 4.0, "ic": 0.5}
    for t in range(2):
        opt.step(term_gradients=random_gradients(shapes, NAMES, seed=t), weights=alpha)
    torch.save(opt.state_dict(), tmp_path / "o.pt")
    copies, restored = fresh()
    with torch.no_grad():
        for c, p in zip(copies, params):
            c.copy_(p)
    restored.load_state_dict(torch.load(tmp_path / "o.pt"))
    assert restored.state[copies[0]]["exp_avg"].shape == (3, 2, 2)
    grads = random_gradients(shapes, NAMES, seed=5)
    opt.step(term_gradients=grads, weights=alpha)
    restored.step(term_gradients=grads, weights=alpha)
    for a, b in zip(params, copies):
        assert torch.equal(a, b)


def test_multiadam_options():
    params = [torch.zeros(2)]
    for key, options in (("groups", {"groups": "layers"}), ("betas", {"betas": (0.9, 1.0)}),
                         ("eps", {"eps": 0.0}), ("lr", {"lr": -1.0})):
        with pytest.raises(ConfigError, match=key):
            MultiAdam(params, **options)
    with pytest.raises(ConfigError, match="optimizer.pde_terms"):
        MultiAdam(params, pde_terms=["wall"]).step(term_gradients={"pde": [torch.ones(2)]}, weights={"pde": 1.0})


@pytest.mark.parametrize("balancer", ["fixed", "pcgrad", "gcond"])
def test_training_with_multiadam(balancer, one_thread):
    """Four steps through the trainer: the optimizer gets the decision's α and per-term gradients, and the
    first step is ``−η/K Σ_k a_k G_k / (|G_k| + ε)`` (Adam's first step, per group)."""
    trainer = prepare(compose_config([*HELMHOLTZ, "optimizer=multiadam", f"balancer={balancer}"]), None, {})
    phase = trainer.plan.at(0)
    assert phase.consumes == "term_gradients" and phase.first_order
    opt = phase.optimizer
    handed = []
    step = opt.step

    def recording(**kwargs):
        handed.append(kwargs)
        return step(**kwargs)

    opt.step = recording
    before = [p.detach().clone() for p in trainer.balancer.params]
    for k in range(4):
        trainer.train_step()
        assert int(trainer.balancer.decisions) == k + 1 and len(handed) == k + 1
        alpha = trainer.balancer.objective_weights
        assert handed[-1]["weights"] == dict(zip(trainer.balancer.names, alpha.tolist()))
        if k == 0:
            grads, weights = handed[0]["term_gradients"], handed[0]["weights"]
            eps = opt.param_groups[0]["eps"]
            for j, (p, p0) in enumerate(zip(trainer.balancer.params, before)):
                g = [grads[n][j] for n in ("pde", "bc")]
                expected = p0 - 1e-3 / 2 * sum(weights[n] * gk / (gk.abs() + eps) for n, gk in zip(("pde", "bc"), g))
                torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=1e-15)
    assert all(torch.isfinite(p).all() for p in trainer.balancer.params)
    assert opt.state[trainer.balancer.params[0]]["exp_avg"].shape[0] == 2  # groups: pde, bc
    if isinstance(trainer.balancer, GCond):  # decided as in second-order phases: a resolution per step, nothing written
        assert int(trainer.balancer.resolutions) == 4 and int(trainer.balancer.micro) == 0
