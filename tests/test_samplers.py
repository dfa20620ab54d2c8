"""Samplers put points where they belong and follow their stated laws (statistical tests, fixed seeds)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from sciml.errors import ConfigError
from sciml.geometry import (
    BallSampler,
    BoxBoundarySampler,
    BoxSampler,
    DeepXDESampler,
    GaussianSampler,
    SphereSampler,
    TimeProduct,
)
from sciml.geometry.samplers import deepxde_geometry

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_box_is_uniform_per_coordinate():
    bounds = [(-1.0, 2.0), (0.0, 0.5), (3.0, 4.0)]
    x = BoxSampler(bounds).sample(20_000, gen(), F64)
    assert x.dtype == F64 and x.shape == (20_000, 3)
    for i, (lo, hi) in enumerate(bounds):
        col = x[:, i].numpy()
        assert col.min() >= lo and col.max() <= hi
        assert stats.kstest((col - lo) / (hi - lo), "uniform").pvalue > 1e-3


def test_box_boundary_follows_surface_measure():
    bounds = [(0.0, 2.0), (0.0, 1.0)]  # faces x = 0, 2 have length 1; faces y = 0, 1 have length 2
    x = BoxBoundarySampler(bounds).sample(30_000, gen(1), F64).numpy()
    on_x_face = np.isclose(x[:, 0], 0) | np.isclose(x[:, 0], 2)
    on_y_face = np.isclose(x[:, 1], 0) | np.isclose(x[:, 1], 1)
    assert np.all(on_x_face | on_y_face)
    counts = [np.isclose(x[:, 0], 0).sum(), np.isclose(x[:, 0], 2).sum(),
              np.isclose(x[:, 1], 0).sum(), np.isclose(x[:, 1], 1).sum()]
    expected = np.array([1, 1, 2, 2]) / 6 * sum(counts)
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    # within a face the free coordinate is uniform
    free = x[np.isclose(x[:, 1], 0), 0] / 2
    assert stats.kstest(free, "uniform").pvalue > 1e-3


def test_box_boundary_per_face_is_balanced():
    x = BoxBoundarySampler([(-1.0, 1.0)] * 2, per_face=True).sample(512, gen(), F64).numpy()
    assert x.shape == (512, 2)
    for axis in (0, 1):
        for value in (-1.0, 1.0):
            assert np.isclose(x[:, axis], value).sum() == 128


@pytest.mark.parametrize("dim", [2, 5, 50])
def test_ball_volume_uniform_law(dim):
    x = BallSampler(dim, radius=2.0, center=1.0, law="uniform").sample(20_000, gen(dim), F64)
    r = (x - 1.0).norm(dim=1).numpy() / 2.0
    assert r.max() <= 1 + 1e-12
    assert stats.kstest(r**dim, "uniform").pvalue > 1e-3  # P(r <= s) = s^d


@pytest.mark.parametrize("dim", [3, 1000])
def test_ball_radial_law_of_stde(dim):
    x = BallSampler(dim, law="radial").sample(20_000, gen(7), F64)
    r = x.norm(dim=1).numpy()
    assert stats.kstest(r, "uniform").pvalue > 1e-3  # radius uniform on [0, 1]


def test_gaussian_law_of_stde_terminal_problems():
    x = GaussianSampler(50, std=2.0, center=1.0).sample(4_000, gen(11), F64)
    z = ((x - 1.0) / 2.0).numpy()
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    assert stats.kstest(np.square(z).sum(1), stats.chi2(50).cdf).pvalue > 1e-3  # ‖z‖² ~ χ²(50)
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 0.1  # independent coordinates
    with pytest.raises(ConfigError, match="std"):
        GaussianSampler(3, std=0.0)


def test_sphere_directions_are_isotropic():
    x = SphereSampler(3).sample(20_000, gen(3), F64).numpy()
    assert np.allclose(np.linalg.norm(x, axis=1), 1)
    # Archimedes: each coordinate of a uniform point on S² is uniform on [-1, 1]
    for i in range(3):
        assert stats.kstest((x[:, i] + 1) / 2, "uniform").pvalue > 1e-3


def test_time_product():
    sampler = TimeProduct(BoxSampler([(0.0, 1.0)]), t0=0.5, t1=2.0)
    x = sampler.sample(10_000, gen(), F64).numpy()
    assert sampler.dim == 2 and x[:, 1].min() >= 0.5 and x[:, 1].max() <= 2.0
    assert stats.kstest((x[:, 1] - 0.5) / 1.5, "uniform").pvalue > 1e-3
    initial = TimeProduct(BoxSampler([(0.0, 1.0)]), t_value=0.0).sample(100, gen(), F64)
    assert torch.all(initial[:, 1] == 0)


def test_reproducible_and_device_dtype():
    a = BallSampler(10).sample(100, gen(5), torch.float32)
    b = BallSampler(10).sample(100, gen(5), torch.float32)
    assert a.dtype == torch.float32 and torch.equal(a, b)


@pytest.mark.parametrize("method", ["pseudo", "Sobol", "Halton"])
def test_deepxde_disk(method):
    disk = deepxde_geometry("Disk", center=[0.0, 0.0], radius=1.0)
    inside = DeepXDESampler(disk, "interior", method)
    a = inside.sample(256, gen(), F64)
    b = inside.sample(256, gen(), F64)
    assert a.shape == (256, 2) and torch.all(a.norm(dim=1) <= 1 + 1e-9)
    assert not torch.equal(a, b) or method == "pseudo"  # quasi-random calls advance along the sequence
    edge = DeepXDESampler(disk, "boundary", method).sample(128, gen(), F64)
    assert torch.allclose(edge.norm(dim=1), torch.ones(128, dtype=F64), atol=1e-9)
    if method == "pseudo":
        # area-uniform in the disk: r² is uniform
        r2 = inside.sample(5000, gen(9), F64).norm(dim=1).square().numpy()
        assert stats.kstest(r2, "uniform").pvalue > 1e-3


def test_deepxde_polygon_points_inside():
    square_hole = deepxde_geometry("Polygon", vertices=[[0, 0], [2, 0], [2, 1], [1, 2], [0, 1]])
    x = DeepXDESampler(square_hole, "interior", "Hammersley").sample(500, gen(), F64).numpy()
    assert np.all(square_hole.inside(x))


def test_bad_inputs():
    with pytest.raises(ConfigError, match="upper bound"):
        BoxSampler([(1.0, 0.0)])
    with pytest.raises(ConfigError, match="dim"):
        BallSampler(0)
    with pytest.raises(ConfigError, match="law"):
        BallSampler(3, law="gaussian")
    assert math.isfinite(BallSampler(3).radius)
