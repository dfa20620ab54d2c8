"""Reference data of Raissi et al. (2019) load with their documented shapes, and fail clearly when missing."""

import numpy as np
import pytest
import torch

from pdes import _reference
from pdes.burgers import Burgers
from sciml.errors import ConfigError

SHAPES = {"NLS.mat": (256, 201, True, (-5.0, 5.0), np.pi / 2),
          "burgers_shock.mat": (256, 100, False, (-1.0, 1.0), 0.99),
          "AC.mat": (512, 201, False, (-1.0, 1.0), 1.0)}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_and_axes(name):
    nx, nt, complex_, (lo, hi), t_end = SHAPES[name]
    g = _reference.load(name)
    assert g.x.shape == (nx,) and g.t.shape == (nt,) and g.u.shape == (nx, nt)
    assert np.iscomplexobj(g.u) == complex_
    assert g.x[0] == pytest.approx(lo) and g.x[-1] <= hi and g.t[0] == 0 and g.t[-1] == pytest.approx(t_end)
    pts, vals = g.points(torch.float64, "cpu"), g.values(torch.float64, "cpu")
    assert pts.shape == (nx * nt, 2) and vals.shape == (nx * nt, 2 if complex_ else 1)
    i, j = 7, 11  # x varies slowest
    assert pts[i * nt + j].tolist() == [g.x[i], g.t[j]]
    assert vals[i * nt + j, 0].item() == g.u[i, j].real


def test_interpolation_is_exact_at_nodes_and_linear_between():
    g = _reference.load("burgers_shock.mat")
    pts = g.points(torch.float64, "cpu")
    torch.testing.assert_close(g.interpolate(pts), g.values(torch.float64, "cpu"), rtol=0, atol=0)
    mid = torch.tensor([[(g.x[3] + g.x[4]) / 2, g.t[5]]], dtype=torch.float64)
    assert g.interpolate(mid).item() == pytest.approx((g.u[3, 5] + g.u[4, 5]) / 2)


def test_problem_reference_is_the_data_grid():
    ref = Burgers().reference(torch.Generator(), torch.float32, torch.device("cpu"))
    assert ref.grid_shape == (256, 100) and ref.x.dtype == torch.float32 and ref.u.shape == (25600, 1)


def test_missing_data_directory_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match="SCIML_DATA"):
        _reference.load("AC.mat")
    with pytest.raises(ConfigError, match="unknown data set"):
        _reference.load("KdV.mat")
