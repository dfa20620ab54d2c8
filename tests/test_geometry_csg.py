"""CSG domains, quasi-random point sets and normal-derivative residuals: measures, laws, normals, state."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.geometry import (
    Ball,
    Box,
    Difference,
    Disk,
    SpaceTime,
    UnitCubePoints,
    halton,
    hammersley,
    neumann,
    normal_derivative,
    radical_inverse,
    robin,
)
from sciml.models import MLP
from sciml.problem import Problem, Term
from sciml.train import Trainer
from sciml.train.jacobian import per_point_jacobian
from tests.helpers.exact_model import ExactSolution

F64 = torch.float64
UNIT_SQUARE_HOLES = [Disk((0.25, 0.25), 0.1), Disk((0.75, 0.25), 0.1), Disk((0.25, 0.75), 0.1),
                     Disk((0.75, 0.75), 0.1)]
# PINNacle Poisson3d-CG: the unit cube minus four balls
CUBE_HOLES = [Ball((0.4, 0.3, 0.6), 0.2), Ball((0.6, 0.7, 0.6), 0.2), Ball((0.2, 0.8, 0.7), 0.1),
              Ball((0.6, 0.2, 0.3), 0.1)]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def square_minus_disks() -> Difference:
    return Difference(Box([(0.0, 1.0), (0.0, 1.0)]), UNIT_SQUARE_HOLES)


def notched_square() -> Difference:
    """``[−1, 1]²`` minus a disk that cuts the face ``x = 1``: measures come from the quasi-Monte-Carlo route."""
    return Difference(Box([(-1.0, 1.0), (-1.0, 1.0)]), [Disk((1.0, 0.0), 0.5)])


def backward_step() -> Difference:
    """PINNacle NS2d-CG: ``[0,4]×[0,2] \\ [0,2]×[1,2]``, a hole sharing two faces with the outer box."""
    return Difference(Box([(0.0, 4.0), (0.0, 2.0)]), [Box([(0.0, 2.0), (1.0, 2.0)])], names=["channel", "step"])


# --- measures and shares ---------------------------------------------------------------------------------
def test_part_names_and_exact_measures():
    dom = square_minus_disks()
    assert dom.part_names == ["box.lo0", "box.lo1", "box.hi0", "box.hi1", "hole0", "hole1", "hole2", "hole3"]
    assert [p.measure for p in dom.parts] == pytest.approx([1.0] * 4 + [2 * math.pi * 0.1] * 4, rel=1e-15)
    assert dom.boundary_measure("box") == pytest.approx(4.0)
    assert dom.volume == pytest.approx(1 - 4 * math.pi * 0.01, rel=1e-15)
    assert dom.part_ids(["hole1", "box.hi0"]) == [2, 5]
    assert dom.part_ids("hole*") == [4, 5, 6, 7] and dom.part_ids("box.lo*") == [0, 1]
    with pytest.raises(ConfigError, match="unknown part"):
        dom.part_ids("hole9")


def test_boundary_share_per_part_follows_perimeter():
    dom = square_minus_disks()
    n = 20_000
    _, data = dom.boundary().sample(n, gen(), F64)
    counts = torch.bincount(data["part"], minlength=8).numpy()
    perimeter = 4 + 4 * 2 * math.pi * 0.1
    share_square = counts[:4].sum() / n
    assert share_square == pytest.approx(4 / perimeter, abs=1e-3)  # 61.4 %, systematic rounding: within 4/n
    expected = n * np.array([p.measure for p in dom.parts]) / perimeter
    assert np.all(np.abs(counts - expected) < 1)


def test_measures_when_holes_cut_the_boundary():
    dom = notched_square()
    m = dict(zip(dom.part_names, [p.measure for p in dom.parts]))
    assert m["box.hi0"] == pytest.approx(1.0, abs=1e-4)  # the face x = 1 loses the chord |y| < 0.5
    assert m["hole0"] == pytest.approx(2 * math.pi * 0.5 / 2, rel=1e-4)  # half of the circle lies in the square
    assert dom.volume == pytest.approx(4 - math.pi * 0.25 / 2, rel=1e-3)
    step = backward_step()
    m = dict(zip(step.part_names, [p.measure for p in step.parts]))
    assert m == pytest.approx({"channel.lo0": 1.0, "channel.lo1": 4.0, "channel.hi0": 2.0, "channel.hi1": 2.0,
                               "step.lo0": 0.0, "step.lo1": 2.0, "step.hi0": 1.0, "step.hi1": 0.0}, abs=1e-12)
    assert step.volume == 6.0


def test_points_lie_on_their_part_and_interior_points_in_the_domain():
    dom = square_minus_disks()
    x, data = dom.boundary(method="halton").sample(4000, gen(), F64)
    part = data["part"]
    for k, disk in enumerate(UNIT_SQUARE_HOLES):
        on = part == 4 + k
        assert on.sum() > 0
        dist = (x[on] - torch.tensor(disk.center, dtype=F64)).norm(dim=1)
        assert torch.allclose(dist, torch.full_like(dist, 0.1), atol=1e-14)
    for face, (axis, value) in enumerate([(0, 0.0), (1, 0.0), (0, 1.0), (1, 1.0)]):
        on = x[part == face]
        assert torch.all(on[:, axis] == value) and torch.all((on >= 0) & (on <= 1))
    for method in ("pseudo", "halton", "hammersley"):
        y = dom.interior(method).sample(3000, gen(), F64)
        assert y.shape == (3000, 2) and bool(dom.contains(y).all())
        for disk in UNIT_SQUARE_HOLES:
            assert ((y - torch.tensor(disk.center, dtype=F64)).norm(dim=1) > 0.1).all()


def test_cut_parts_keep_only_boundary_points_and_stay_uniform():
    dom = notched_square()
    x, data = dom.boundary(["box.hi0", "hole0"]).sample(20_000, gen(2), F64)
    face = x[data["part"] == dom.part_ids("box.hi0")[0]]
    assert torch.all(face[:, 1].abs() >= 0.5)
    # on the kept face the free coordinate is uniform on [−1, −0.5] ∪ [0.5, 1]
    y = face[:, 1].numpy()
    folded = (np.abs(y) - 0.5) / 0.5
    assert stats.kstest(folded, "uniform").pvalue > 1e-3
    arc = x[data["part"] == dom.part_ids("hole0")[0]]
    assert torch.all(arc[:, 0] <= 1.0)
    angle = torch.atan2(arc[:, 1], arc[:, 0] - 1.0).numpy()  # uniform on the arc (π/2, 3π/2)
    assert stats.kstest(np.mod(angle, 2 * np.pi), "uniform", args=(np.pi / 2, np.pi)).pvalue > 1e-3
    step = backward_step()
    x, data = step.boundary(method="hammersley").sample(2000, gen(), F64)
    assert not torch.isin(data["part"], torch.tensor(step.part_ids(["step.lo0", "step.hi1"]))).any()
    inlet = x[data["part"] == step.part_ids("channel.lo0")[0]]
    assert torch.all(inlet[:, 1] <= 1.0) and inlet.shape[0] == pytest.approx(2000 / 12, abs=1)


def test_counts_and_part_selection():
    dom = square_minus_disks()
    x, data = dom.boundary(counts={"box": 100, "hole0": 7, "hole2": 0}).sample(5, gen(), F64)
    assert x.shape == (107, 2)
    counts = torch.bincount(data["part"], minlength=8)
    assert counts[:4].sum() == 100 and counts[4] == 7 and counts[5:].sum() == 0
    x, data = dom.boundary(parts=["hole0", "hole1"]).sample(64, gen(), F64)
    assert set(data["part"].tolist()) == {4, 5}
    x, data = backward_step().boundary(counts={"step.hi1": 0, "channel.lo0": 3}).sample(5, gen(), F64)
    assert data["part"].tolist() == [0, 0, 0] and torch.all(x[:, 1] <= 1)
    with pytest.raises(ConfigError, match="overlaps"):
        dom.boundary(counts={"box": 1, "box.lo0": 1})
    with pytest.raises(ConfigError, match="zero measure"):
        backward_step().boundary("step.hi1")


# --- normals ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [square_minus_disks, notched_square, backward_step])
def test_normals_are_unit_and_outward(make):
    dom = make()
    x, data = dom.boundary(method="halton").sample(3000, gen(), F64)
    n = data["normal"]
    assert n.dtype == F64 and torch.allclose(n.norm(dim=1), torch.ones(len(n), dtype=F64))
    h = 1e-6
    inside = dom.contains(x - h * n)
    outside = ~dom.contains(x + h * n)
    assert inside.float().mean() > 0.995 and outside.float().mean() > 0.995  # all but points at corners


@pytest.mark.parametrize("make, dim", [(square_minus_disks, 2), (notched_square, 2), (backward_step, 2),
                                       (lambda: Difference(Box([(0.0, 1.0)] * 3), CUBE_HOLES), 3)])
def test_divergence_theorem_flux_of_radial_field(make, dim):
    """u = |x|²: ∮ ∂u/∂n ds = Σ_k |Γ_k| mean_k(2 x·n) must equal ∫ Δu dx = 2d |Ω|."""
    dom = make()
    x, data = dom.boundary(method="halton").sample(40_000, gen(), F64)
    flux_density = 2 * (x * data["normal"]).sum(dim=1)
    flux = sum(dom.parts[k].measure * flux_density[data["part"] == k].mean()
               for k in range(len(dom.parts)) if dom.parts[k].measure > 0)
    # |Ω| from interior points: the accepted fraction of pseudo-random points of the outer box
    u = torch.rand(200_000, dim, generator=gen(3), dtype=F64)
    area = dom.outer.volume * dom.contains(dom.outer.from_unit(u)).double().mean()
    assert float(flux) == pytest.approx(2 * dim * dom.volume, rel=2e-3)
    assert float(area) == pytest.approx(dom.volume, rel=1e-2)


def test_ball_domain_laws_in_three_and_four_dimensions():
    for dim in (3, 4):
        ball = Ball([0.5] * dim, 2.0)
        dom = Difference(ball)
        assert dom.part_names == ["ball"]
        y = dom.interior().sample(20_000, gen(), F64)
        r = (y - 0.5).norm(dim=1).numpy() / 2.0
        assert stats.kstest(r ** dim, "uniform").pvalue > 1e-3  # P(‖x − c‖ <= s) = (s / R)^d
        x, data = dom.boundary(method="halton").sample(500, gen(), F64)
        assert torch.allclose((x - 0.5).norm(dim=1), torch.full((500,), 2.0, dtype=F64))
        assert torch.allclose(data["normal"], (x - 0.5) / 2.0)
        assert dom.boundary_measure() == pytest.approx(2 * math.pi ** (dim / 2) * 2.0 ** (dim - 1)
                                                       / math.gamma(dim / 2))


# --- quasi-random point sets -----------------------------------------------------------------------------
def test_radical_inverse_halton_and_hammersley_by_hand():
    i = torch.arange(6)
    assert radical_inverse(i, 2).tolist() == [0, 0.5, 0.25, 0.75, 0.125, 0.625]
    assert radical_inverse(i, 3).tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1 / 9, 4 / 9, 7 / 9])
    expected = [[0, 0, 0], [0.25, 0.5, 1 / 3], [0.5, 0.25, 2 / 3], [0.75, 0.75, 1 / 9]]
    assert torch.allclose(hammersley(4, 3), torch.tensor(expected, dtype=F64), atol=1e-15)
    expected = [[0.5, 1 / 3], [0.25, 2 / 3], [0.75, 1 / 9]]
    assert torch.allclose(halton(3, 2), torch.tensor(expected, dtype=F64), atol=1e-15)
    # the next set of the same size: radical inverses of 4..7, first coordinate shifted by φ_2(1) / 4
    expected = [[0.125, 0.125, 4 / 9], [0.375, 0.625, 7 / 9], [0.625, 0.375, 2 / 9], [0.875, 0.875, 5 / 9]]
    assert torch.allclose(hammersley(4, 3, start=4), torch.tensor(expected, dtype=F64), atol=1e-15)
    assert halton(2, 3, start=5)[:, 2].tolist() == pytest.approx([1 / 25, 6 / 25])  # φ_5(5) = 0.01₅, φ_5(6) = 0.11₅


def test_quasi_random_quadrature_beats_pseudo_random():
    """∫_{[0,1]³} exp(x) cos(y) (1 + z) = (e − 1) sin(1) 3/2: the equal-weight rule on n quasi-random points
    errs by O((log n)^s / n), against an RMS error of O(n^{-1/2}) for pseudo-random points."""
    exact = (math.e - 1) * math.sin(1.0) * 1.5

    def error(u: torch.Tensor) -> float:
        return abs(float((u[:, 0].exp() * u[:, 1].cos() * (1 + u[:, 2])).mean()) - exact)

    def pseudo(n: int) -> float:
        return float(np.sqrt(np.mean([error(torch.rand(n, 3, generator=gen(s), dtype=F64)) ** 2
                                      for s in range(20)])))

    small, large = 256, 4096
    assert pseudo(large) > pseudo(small) / 6  # n^{-1/2}: a factor of about 4 over 16 times the points
    for points in (hammersley, halton):
        assert error(points(large, 3)) < pseudo(large) / 5
    assert error(hammersley(large, 3)) < error(hammersley(small, 3)) / 8  # about n^{-1}


def test_state_dict_round_trip_gives_the_same_next_batch():
    dom = square_minus_disks()
    for method in ("halton", "hammersley", "pseudo"):
        for make in (lambda m=method: dom.interior(m), lambda m=method: dom.boundary(method=m),
                     lambda m=method: SpaceTime(dom.boundary(method=m), 0.0, 2.0, method=m)):
            sampler, g = make(), gen(5)
            first = sampler.sample(300, g, F64)
            state, g_state = sampler.state_dict(), g.get_state()
            second = sampler.sample(300, g, F64)
            restored, g2 = make(), gen(99)
            restored.load_state_dict(state)
            g2.set_state(g_state)
            again = restored.sample(300, g2, F64)
            x1, x2, x3 = (s[0] if isinstance(s, tuple) else s for s in (first, second, again))
            assert torch.equal(x2, x3)
            assert not torch.equal(x1, x2)
            if isinstance(second, tuple):
                assert all(torch.equal(second[1][k], again[1][k]) for k in second[1])


def test_halton_stream_continues_across_calls_and_rejection():
    stream = UnitCubePoints(2, "halton")
    a = stream.draw(5, gen(), F64)
    b = stream.draw(7, gen(), F64)
    assert torch.equal(torch.cat([a, b]), halton(12, 2))
    # rejection keeps exactly the accepted points of the sequence, in order, across calls
    keep = lambda u: u[:, 0] < 0.3  # noqa: E731
    stream = UnitCubePoints(2, "halton")
    first = stream.accept(10, gen(), F64, keep, 0.3)
    second = stream.accept(10, gen(), F64, keep, 0.3)
    reference = halton(200, 2)
    assert torch.equal(torch.cat([first, second]), reference[keep(reference)][:20])


# --- time products ---------------------------------------------------------------------------------------
def test_space_time_passes_boundary_data_through():
    dom = square_minus_disks()
    x, data = SpaceTime(dom.boundary(parts="hole0"), 0.0, 3.0, method="hammersley").sample(256, gen(), F64)
    assert x.shape == (256, 3) and data["normal"].shape == (256, 2) and torch.all(data["part"] == 4)
    t = np.sort(x[:, 2].numpy())
    assert np.allclose(t, 3.0 * np.arange(256) / 256)  # the 1-D Hammersley set, in random order
    x0, _ = SpaceTime(dom.boundary(), t_value=0.0).sample(10, gen(), F64)
    assert torch.all(x0[:, 2] == 0)
    y = SpaceTime(dom.interior("halton"), 0.0, 1.0).sample(50, gen(), F64)
    assert isinstance(y, torch.Tensor) and y.shape == (50, 3)


# --- Neumann and Robin residuals -------------------------------------------------------------------------
class _Analytic(nn.Module):
    """u(x, y[, t]) = sin(x) y² (1 + t)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time = 1 + x[:, 2:3] if x.shape[1] == 3 else 1.0
        return torch.sin(x[:, :1]) * x[:, 1:2] ** 2 * time


def test_neumann_and_robin_residuals_match_the_analytic_normal_derivative():
    dom = square_minus_disks()
    x, data = dom.boundary().sample(200, gen(), F64)
    u = Field(_Analytic(), x, ["x", "y"], Engine(), data=data)
    n = data["normal"]
    exact = torch.cos(x[:, 0]) * x[:, 1] ** 2 * n[:, 0] + 2 * torch.sin(x[:, 0]) * x[:, 1] * n[:, 1]
    assert torch.allclose(normal_derivative(u), exact, atol=1e-12)
    assert torch.allclose(neumann(u, exact), torch.zeros_like(exact), atol=1e-12)
    value = torch.sin(x[:, 0]) * x[:, 1] ** 2
    assert torch.allclose(robin(u, 2.0, exact + 2.0 * value), torch.zeros_like(exact), atol=1e-12)
    # space-time points: the normal acts on the spatial variables only
    xt, data = SpaceTime(dom.boundary(), 0.0, 1.0).sample(100, gen(), F64)
    u = Field(_Analytic(), xt, ["x", "y", "t"], Engine(), spatial_dims=[0, 1], data=data)
    x, t, n = xt[:, :2], xt[:, 2], data["normal"]
    exact = (torch.cos(x[:, 0]) * x[:, 1] ** 2 * n[:, 0] + 2 * torch.sin(x[:, 0]) * x[:, 1] * n[:, 1]) * (1 + t)
    assert torch.allclose(normal_derivative(u), exact, atol=1e-12)
    with pytest.raises(ValueError, match="components"):
        normal_derivative(u, torch.ones(100, 3, dtype=F64))


def test_boundary_data_goes_through_the_per_point_jacobian():
    """Normals (float) and part ids (int64) travel with the points through ``vmap`` like the trainer's data."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    dom = square_minus_disks()
    x, data = dom.boundary().sample(16, gen(), F64)

    def residual(xi, di):
        u = Field(net, xi, ["x", "y"], Engine(), data=di)
        return robin(u, 1.0, (di["part"] >= 4).to(xi.dtype))

    params = list(net.parameters())
    r, jac = per_point_jacobian(net, params, residual, x, data)
    assert torch.allclose(r, residual(x, data), atol=1e-12)
    assert jac.shape == (16, sum(p.numel() for p in params))


class _SquareWithHoles(Problem):
    """Δu = 4 on the square minus four disks, u = x² + y² on the square, ∂u/∂n = 2 x·n on the circles."""

    name = "square_with_holes"
    variables = ["x", "y"]

    def __init__(self) -> None:
        self.domain = square_minus_disks()

    def terms(self) -> dict[str, Term]:
        return {
            "pde": Term(self.domain.interior("hammersley"), lambda u: u.laplacian - 4.0, 256),
            "box": Term(self.domain.boundary("box"), lambda u: u.value - u.x.square().sum(dim=1), 128),
            "holes": Term(self.domain.boundary("hole*"),
                          lambda u: neumann(u, 2 * (u.x * u.data["normal"]).sum(dim=1)), 128),
        }

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        return x.square().sum(dim=1, keepdim=True)


def test_problem_with_dirichlet_box_and_neumann_holes_trains():
    problem = _SquareWithHoles()
    g = gen()
    for term in problem.terms().values():  # the exact solution satisfies every term
        out = term.sampler.sample(64, g, F64)
        x, data = out if isinstance(out, tuple) else (out, {})
        u = Field(ExactSolution(problem), x, problem.variables, Engine(), data=data)
        assert term.residual(u).abs().max() < 1e-10
    torch.manual_seed(0)
    trainer = Trainer(problem, MLP(2, 1, width=16, depth=2), Engine(), FixedWeights({}),
                      partial(optim.adam, lr=1e-2), steps=60, seed=0, eval_every=0, log_every=0, progress=False,
                      plot=False, eval_resolution=20)
    before = sum(float(v.detach()) for v in trainer.losses(trainer.sample()).values())
    trainer.fit()
    after = sum(float(v.detach()) for v in trainer.losses(trainer.sample()).values())
    assert after < 0.2 * before
