"""LAAF / GAAF adaptive activations on the MLP (Jagtap, Kawaguchi & Karniadakis 2020): exact Taylor jets,
the plain network at unit slopes, slope gradients, training under every kind of optimizer, state."""

from __future__ import annotations

import pytest
import test_combinations as combinations  # tests/ is on the path of every pytest run (conftest rootdir)
import torch
from torch.func import hessian, jacrev

from sciml.cli.train import prepare
from sciml.errors import ConfigError
from sciml.models import MLP, count_parameters
from sciml.optim.stack import RULES, linear_roles
from sciml.train.jacobian import per_point_jacobian

STATS = (torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 2.0]))
KINDS = ["laaf", "gaaf"]


def build(adaptive: str, seed: int = 0, perturb: bool = True, **options) -> MLP:
    """A 3 → 2 tanh MLP, width 6, depth 3, float64; with ``perturb`` its slopes ``n a`` spread over [0.6, 1.4]."""
    torch.manual_seed(seed)
    model = MLP(3, 2, width=6, depth=3, input_stats=STATS, adaptive=adaptive, **options).double()
    if perturb and model.slopes is not None:
        gen = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for a in model.slopes:
                a.copy_((0.6 + 0.8 * torch.rand(a.shape, generator=gen, dtype=a.dtype)) / model.slope_scale)
    return model


def points(n: int = 5, seed: int = 3) -> torch.Tensor:
    return torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def reference(model: MLP, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per point Jacobian ``(n, out, d)`` and Hessian ``(n, out, d, d)`` by reverse-mode autograd."""
    return (torch.stack([jacrev(model)(xi) for xi in x]), torch.stack([hessian(model)(xi) for xi in x]))


@pytest.mark.parametrize("adaptive", KINDS)
def test_jet_matches_autograd(adaptive):
    """Value, first and diagonal second derivatives of ``taylor`` (coordinates, a subset of them and arbitrary
    directions) equal autograd's to 1e-10, with slopes away from 1."""
    model = build(adaptive)
    x = points()
    jac, hes = reference(model, x)
    y, d1, d2 = model.taylor(x)
    assert (y - model(x)).abs().max() < 1e-12
    assert (d1 - jac.transpose(1, 2)).abs().max() < 1e-10
    assert (d2 - torch.diagonal(hes, dim1=2, dim2=3).transpose(1, 2)).abs().max() < 1e-10
    dims = torch.tensor([2, 0])
    _, d1s, d2s = model.taylor(x, dims)
    assert (d1s - jac.transpose(1, 2)[:, dims]).abs().max() < 1e-10
    assert (d2s - torch.diagonal(hes, dim1=2, dim2=3).transpose(1, 2)[:, dims]).abs().max() < 1e-10
    v = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    _, d1v, d2v = model.taylor(x, v)
    assert (d1v - torch.einsum("noi,ji->njo", jac, v)).abs().max() < 1e-10
    assert (d2v - torch.einsum("noik,ji,jk->njo", hes, v, v)).abs().max() < 1e-10


@pytest.mark.parametrize("adaptive", KINDS)
def test_slopes_are_per_neuron_or_per_layer_and_start_at_one(adaptive):
    model = MLP(3, 1, width=7, depth=3, adaptive=adaptive)
    assert [tuple(a.shape) for a in model.slopes] == [(7,) if adaptive == "laaf" else (1,)] * 3
    assert all(torch.equal(model.slope(k), torch.ones_like(model.slopes[k])) for k in range(3))
    plain = MLP(3, 1, width=7, depth=3)
    assert count_parameters(model) - count_parameters(plain) == 3 * (7 if adaptive == "laaf" else 1)


@pytest.mark.parametrize("adaptive", KINDS)
def test_unit_slopes_give_the_plain_mlp(adaptive):
    """With ``n a = 1`` the network, its jets and its parameter gradients equal the plain MLP's with the same
    weights, exactly; the slopes draw nothing, so the same seed gives the same weights."""
    plain, model = build("none"), build(adaptive, perturb=False, slope_scale=4.0)
    with torch.no_grad():
        for a in model.slopes:
            a.fill_(0.25)  # n a = 4 · 0.25 = 1 exactly
    for name, p in plain.named_parameters():
        assert torch.equal(p, model.get_parameter(name))
    x = points()
    assert torch.equal(model(x), plain(x))
    for dims in (None, torch.tensor([1]), torch.eye(3, dtype=torch.float64)[:2] + 0.5):
        for a, b in zip(model.taylor(x, dims), plain.taylor(x, dims)):
            assert torch.equal(a, b)
    names = [name for name, _ in plain.named_parameters()]
    grads = [torch.autograd.grad(sum(t.square().sum() for t in net.taylor(x)), [net.get_parameter(n) for n in names])
             for net in (plain, model)]
    for a, b in zip(*grads):
        assert torch.equal(a, b)


@pytest.mark.parametrize("adaptive", KINDS)
def test_slope_gradient_matches_finite_differences(adaptive):
    """∂L/∂a of a PINN-like loss (value, first and second derivatives) against central differences."""
    model = build(adaptive)
    x = points(8)

    def loss() -> torch.Tensor:
        y, d1, d2 = model.taylor(x)
        return y.square().mean() + d1.square().mean() + (d2.sum(1) - 1).square().mean()

    grads = torch.autograd.grad(loss(), list(model.slopes))
    step = 1e-6
    with torch.no_grad():
        for a, g in zip(model.slopes, grads):
            for i in range(0, a.numel(), 2):  # every other neuron (every layer's scalar for GAAF)
                a[i] += step
                up = float(loss())
                a[i] -= 2 * step
                down = float(loss())
                a[i] += step
                assert abs((up - down) / (2 * step) - float(g[i])) < 1e-6 * max(1.0, abs(float(g[i])))
    assert all(g.abs().max() > 1e-3 for g in grads), "the loss depends on every layer's slopes"


@pytest.mark.parametrize("adaptive", KINDS)
def test_per_point_jacobian_has_the_slope_columns(adaptive):
    """``torch.func`` traces the adaptive network point by point: Gauss-Newton's Jacobian gains one column
    per slope, equal to the autograd gradient of each point's residual."""
    model = build(adaptive)
    x = points(4)
    params = list(model.parameters())

    def residual(xs: torch.Tensor, data: dict) -> torch.Tensor:
        y, _, d2 = model.taylor(xs)
        return d2.sum(1) - y  # Δu − u for both outputs, (n, 2)

    r, jac = per_point_jacobian(model, params, residual, x, {})
    assert jac.shape == (r.numel(), count_parameters(model))
    rows = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(ri, params, retain_graph=True)])
                        for ri in residual(x, {}).reshape(-1)])
    assert (jac - rows).abs().max() < 1e-10
    slope_columns = jac[:, -sum(a.numel() for a in model.slopes):]
    assert slope_columns.abs().max() > 1e-3


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_stack_rule_steps_the_slope_shapes(rule):
    """Slopes are vectors (role ``vector``; Adam in the default stacks); any rule a user puts on that role
    also steps a per-neuron slope vector and a one-element per-layer slope (seen as ``n × 1`` and ``1 × 1``)."""
    laaf, gaaf = build("laaf"), build("gaaf")
    vector = linear_roles(laaf)["vector"]
    assert all(any(p is a for p in vector) for a in laaf.slopes)
    slopes = [laaf.slopes[0], gaaf.slopes[0]]
    before = [a.detach().clone() for a in slopes]
    opt = RULES[rule](slopes, lr=1e-3)
    for a in slopes:
        a.grad = torch.linspace(-1.0, 2.0, a.numel(), dtype=a.dtype)
    opt.step()
    for a, b in zip(slopes, before):
        assert torch.isfinite(a).all() and not torch.equal(a, b)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "lm", "muon"])
@pytest.mark.parametrize("model", ["laaf", "gaaf"])
def test_trains_through_prepare(model, optimizer, monkeypatch, one_thread):
    """Four steps on Helmholtz under the step contract (``tests/test_combinations.py``: finite, one balancer
    decision per step, closure and Gauss-Newton steps do not increase their objective); the slopes move."""
    built = []

    def capture(*args, **kwargs):
        trainer = prepare(*args, **kwargs)
        built.append((trainer, [a.detach().clone() for a in trainer.model.slopes]))
        return trainer

    monkeypatch.setattr(combinations, "prepare", capture)
    overrides = ["pde=helmholtz", "pde.batch_size.pde=48", "pde.batch_size.bc=32", f"model={model}",
                 *combinations.SMALL_MODEL[model], f"optimizer={optimizer}"]
    assert combinations.train(overrides)[0] == "trained"
    (trainer, start), = built
    assert trainer.model.adaptive == model
    if optimizer == "lm":  # the Jacobian was built point by point with torch.func, not by the fallback
        assert set(trainer.jacobian_route.values()) == {"per point"}
    for a, b in zip(trainer.model.slopes, start):
        assert torch.isfinite(a).all() and (a - b).abs().max() > 0


@pytest.mark.parametrize("adaptive", KINDS)
def test_state_dict_round_trip(adaptive):
    """Trained slopes travel in ``state_dict`` (``slopes.k``) and restore the same network; a plain MLP
    refuses that state."""
    model = build(adaptive)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = points(6)
    for _ in range(3):
        opt.zero_grad()
        model.taylor(x)[2].square().mean().backward()
        opt.step()
    state = model.state_dict()
    assert {f"slopes.{k}" for k in range(3)} <= set(state)
    twin = build(adaptive, seed=7)
    twin.load_state_dict(state)
    assert torch.equal(twin(x), model(x))
    for a, b in zip(twin.taylor(x), model.taylor(x)):
        assert torch.equal(a, b)
    with pytest.raises(RuntimeError, match="slopes.0"):
        build("none").load_state_dict(state)


def test_invalid_options_are_refused():
    with pytest.raises(ConfigError, match="^adaptive: .*'naf'"):
        MLP(2, 1, adaptive="naf")
    with pytest.raises(ConfigError, match="^slope_scale: "):
        MLP(2, 1, adaptive="laaf", slope_scale=0.0)
    with pytest.raises(ConfigError, match="^slope_recovery: "):
        MLP(2, 1, adaptive="laaf", slope_recovery=True)
    status, message = combinations.train(["pde=helmholtz", "model=gaaf", "model.slope_recovery=true"])
    assert status == "refused" and message.startswith("model.slope_recovery: ")


@pytest.mark.slow
def test_compiled_losses_match_eager(one_thread):
    """``trainer.compile=true`` captures the adaptive MLP's jets as one graph; the losses equal the eager ones
    to round-off."""
    overrides = ["pde=helmholtz", "pde.batch_size.pde=48", "pde.batch_size.bc=32", "model=laaf",
                 *combinations.SMALL_MODEL["laaf"], "optimizer=adam", "trainer.compile=true"]
    trainer = prepare(combinations.compose_config(overrides), None, {})
    assert trainer.compile_route.startswith("compiled")
    batch = trainer.sample()
    compiled, eager = trainer.compiled_losses(batch), trainer.losses(batch)
    for name in eager:
        torch.testing.assert_close(compiled[name], eager[name], rtol=1e-10, atol=1e-12)
    trainer.train_step()
    assert trainer.compiled_losses.calls["compiled"] >= 2
