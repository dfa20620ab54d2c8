"""Parts that each work alone and must work together: engines × models, models × domains, trainers × models,
optimizer options, trainers × optimizers, trainers × balancers. Composed with hydra's compose API as
``sciml-train`` composes them, with tiny networks and a few steps."""

import itertools
import math

import pytest
import torch
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.optim import engd
from sciml.optim.gauss_newton import EnergyNaturalGradient, pinv_solve, residual_jacobian

TINY = ["trainer.progress=false", "trainer.eval_every=0", "trainer.log_every=0", "~output", "dtype=float64"]
LAGRANGIAN = ["trainer=lpinn", "pde=convection", "model=lagrangian", "model.x_width=6", "model.u_width=6",
              "model.u_depth=2", "trainer.particles=64",
              "trainer.batch_size={x: 24, u: 24, x0: 12, u0: 12, bc: 12}"]


def prepared(overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[*TINY, *overrides])
    return prepare(cfg, None, {})


def train(trainer, steps):
    """``steps`` steps; the loss of each, which must be finite."""
    totals = []
    for _ in range(steps):
        losses, total = trainer.train_step()
        totals.append(float(total))
        assert all(math.isfinite(float(v.detach())) for v in losses.values()), losses
    assert all(math.isfinite(t) for t in totals), totals
    return totals


def full_sign_set(u: Field) -> torch.Tensor:
    """Every Rademacher probe on the spatial coordinates, zero on the others: ``mean_v v vᵀ = I`` exactly, so
    the Hutchinson average over this set is the Laplacian itself (the estimator's expectation)."""
    signs = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=len(u.spatial_dims))), dtype=u.x.dtype)
    probes = signs.new_zeros(len(signs), u.dim)
    probes[:, u.spatial_dims] = signs
    return probes


HUTCHINSON_CASES = [*itertools.product(("mlp", "modified_mlp", "fourier", "periodic_mlp", "separable"),
                                       ("poisson", "helmholtz", "convection_diffusion")),
                    ("lagrangian", "convection_diffusion")]


@pytest.mark.parametrize(("model", "pde"), HUTCHINSON_CASES)
def test_hutchinson_laplacian_is_exact_in_expectation_for_every_model(model, pde, monkeypatch):
    """``vᵀ∇²u v`` along float probe directions, through each model's ``taylor`` (the separable net: nested
    reverse mode), averaged over all sign vectors, equals the exact engine's Laplacian; training runs."""
    options = {"fourier": ["model.features=4"], "periodic_mlp": ["model.harmonics=2"],
               "separable": ["model.rank=2", "model.lo=-7", "model.hi=7"],  # [0, 2π] inside the cube
               "lagrangian": ["trainer=lpinn", *LAGRANGIAN[3:]]}
    sizes = {"separable": ["model.width=6"], "lagrangian": []}.get(model, ["model.width=6", "model.depth=2"])
    trainer = prepared([f"pde={pde}", f"model={model}", "engine=hutchinson", "engine.num_probes=4",
                        "optimizer=adam", *sizes, *options.get(model, [])])
    train(trainer, 4)
    x = next(iter(trainer.sample().values()))[0][:16]
    u = trainer.field(x)
    monkeypatch.setattr(trainer.engine, "probes", full_sign_set)
    monkeypatch.setattr(trainer.engine, "num_dims", 2 ** len(u.spatial_dims))
    exact = Engine().laplacian(Field(trainer.net, x, u.variables, Engine(), u.spatial_dims, u.outputs))
    torch.testing.assert_close(u.laplacian, exact if u.component is None else exact[:, 0], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("pde", ["poisson_ball", "allen_cahn_ball", "sine_gordon_ball", "hjb_lin"])
def test_separable_network_is_refused_off_box_domains(pde):
    """The separable net's envelope ``Π (x_i − lo)(hi − x_i)`` vanishes on the faces of ``[lo, hi]ᵈ`` only;
    on the ball it is ``≈ 25ᵈ`` (the loss overflowed). Refused before training; boxes inside the cube work."""
    with pytest.raises(ConfigError, match=rf"model=separable supports box domains.*'{pde}' is not a box"):
        prepared([f"pde={pde}", "pde.dim=4", "model=separable", "optimizer=adam"])
    with pytest.raises(ConfigError, match="faces of .* cut the box of problem 'convection'"):
        prepared(["pde=convection", "model=separable", "optimizer=adam"])  # x ∈ [0, 2π] leaves [−5, 5]
    train(prepared(["pde=schrodinger_oscillator", "pde.dim=4", "model=separable", "model.width=6", "optimizer=adam"]),
          2)


@pytest.mark.parametrize("model", ["mlp", "modified_mlp", "fourier", "periodic_mlp", "separable"])
def test_lpinn_needs_a_network_with_outputs_x_and_u(model):
    """LPINN reads outputs ``[X, U]``: Eulerian networks (one output) are refused in the constructor, with
    the problem checked first; the Lagrangian net trains."""
    sizes = ["model.lo=-7", "model.hi=7"] if model == "separable" else []
    with pytest.raises(ConfigError, match=r"trainer=lpinn needs a network with outputs \[X, U\].*model=lagrangian"
                                          r".* has 1 output, not 2"):
        prepared(["trainer=lpinn", "pde=convection", f"model={model}", "optimizer=adam", *sizes])
    with pytest.raises(ConfigError, match="problem 'poisson' has no Lagrangian form"):
        prepared(["trainer=lpinn", f"model={model}", "optimizer=adam", *sizes])
    totals = train(prepared([*LAGRANGIAN, "optimizer=adam", "optimizer.lr=1e-2"]), 4)
    assert totals[-1] < totals[0]


@pytest.mark.parametrize("shape", [(12, 30), (30, 12)])
def test_engd_rcond_null_is_the_working_precision_cutoff(shape):
    """``rcond=None`` (``optimizer=adam_engd``): ``10·max(N, P)·ε``. On a rank-deficient ``J`` the step is the
    minimum-norm least-squares solution, as ``torch.linalg.lstsq`` (SVD driver) gives it; one ENGD step
    solves a linear least-squares problem exactly."""
    gen = torch.Generator().manual_seed(0)
    n, p = shape
    jac = torch.randn(n, 5, generator=gen, dtype=torch.float64) @ torch.randn(5, p, generator=gen,
                                                                                dtype=torch.float64)  # rank 5
    r = torch.randn(n, generator=gen, dtype=torch.float64)
    want = torch.linalg.lstsq(jac, r.unsqueeze(1), driver="gelsd").solution[:, 0]
    torch.testing.assert_close(pinv_solve(jac, r, None), want, rtol=1e-9, atol=1e-9)
    assert (pinv_solve(jac, r, 0.0) - want).abs().max() > 1e-3  # no cut-off: rounding noise is inverted

    theta = torch.zeros(p, dtype=torch.float64, requires_grad=True)
    target = torch.randn(n, generator=gen, dtype=torch.float64)
    opt = EnergyNaturalGradient([theta], rcond=None, line_search=1)
    opt.step(residuals=lambda: jac @ theta - target)
    best = torch.linalg.lstsq(jac, target.unsqueeze(1), driver="gelsd").solution[:, 0]
    torch.testing.assert_close(theta.detach(), best, rtol=1e-9, atol=1e-9)

    with pytest.raises(ConfigError, match="rcond"):
        engd(torch.nn.Linear(2, 1), 10, rcond=-1.0)
    for balancer in ("fixed", "grad_norm", "relobralo"):  # the switch to ENGD at step 2 of 4
        trainer = prepared(["optimizer=adam_engd", f"balancer={balancer}", "model.width=6", "model.depth=2",
                            "pde.batch_size.pde=32", "pde.batch_size.bc=16", "dtype=float32"])
        assert [phase.name for phase in trainer.plan.phases] == ["adam", "engd"]
        totals = train(trainer, 4)
        assert balancer != "fixed" or totals[3] < totals[2]  # the ENGD step's line search lowers the loss


@pytest.mark.parametrize("optimizer", ["lm", "engd"])
def test_lpinn_periodic_ends_keep_the_jacobian_per_point(optimizer):
    """A periodic boundary row depends on one sampled point (its partner ``(hi, t)`` comes as data), so
    Gauss-Newton optimizers get ``J`` point by point; it equals the batched-backward Jacobian of the
    residual vector (which the trainer used to fall back to for every term: minutes per step)."""
    trainer = prepared([*LAGRANGIAN, f"optimizer={optimizer}"])
    points = trainer.points_for(trainer.plan.at(0))
    xi, data = points["bc"]
    assert set(data) == {"end"} and (xi[:, 0] == trainer.problem.lo).all()
    torch.testing.assert_close(data["end"][:, 1], xi[:, 1])
    params = trainer.plan.at(0).optimizer.params()
    r, jac = trainer.linearize(points, params)
    with torch.enable_grad():
        vector = trainer.residual_vector(points)
        want = residual_jacobian(vector, params)
    torch.testing.assert_close(r, vector.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(jac, want, rtol=1e-10, atol=1e-10)
    totals = train(trainer, 2)
    assert set(trainer.jacobian_route.values()) == {"per point"} and totals[1] < totals[0]


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "lm"])
def test_lpinn_with_grad_norm_stays_finite(optimizer):
    """With ``X(ξ, 0) = ξ`` exactly, the ``x0`` loss and its gradient are exactly zero at initialisation; the
    grad-norm weight ``mean‖∇L‖ / ‖∇L_x0‖`` must not become ``mean / tiny ≈ 1e308``, infinite once cast to
    float32 (then ``inf · 0 = NaN`` in the total at step 1)."""
    trainer = prepared([*LAGRANGIAN, "balancer=grad_norm", f"optimizer={optimizer}", "dtype=float32"])
    losses = trainer.losses(trainer.sample())
    assert float(losses["x0"].detach()) == 0.0
    train(trainer, 3)
    weights = trainer.balancer.weight_dict()
    assert all(math.isfinite(w) for w in weights.values()) and weights["x0"] < 1e6, weights
