"""Observations from files: every format read back equal, missing values, subsets, noise, errors, the loss term."""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial

import meshio
import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

from sciml import optim
from sciml.balancing import FixedWeights
from sciml.data import load_observations, observation_term
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.fields import Field
from sciml.problem import Problem
from sciml.train import Trainer

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, size=(40, 2))
U = np.stack([np.sin(X[:, 0]) * X[:, 1], np.cos(X[:, 1])], axis=1)


def check(obs, x=X, u=U, dropped=0):
    assert obs.x.dtype == torch.float64 and obs.u.dtype == torch.float64
    np.testing.assert_array_equal(obs.x.numpy(), x)
    np.testing.assert_array_equal(obs.u.numpy(), u)
    assert obs.dropped == dropped


def write_csv(path, header=True, values=None):
    values = np.column_stack([X, U]) if values is None else values
    np.savetxt(path, values, delimiter=",", fmt="%.17g", header="x,y,u,v" if header else "", comments="")
    return path


def test_csv_with_and_without_header(tmp_path):
    obs = load_observations(write_csv(tmp_path / "a.csv"), ["x", "y"], ["u", "v"])
    check(obs)
    assert obs.input_names == ["x", "y"] and obs.output_names == ["u", "v"] and obs.source == tmp_path / "a.csv"
    check(load_observations(write_csv(tmp_path / "b.csv", header=False), [0, 1], [2, 3]))
    check(load_observations(tmp_path / "a.csv", [0, 1], ["2", 3]))  # indices work with a header too


def test_comsol_text_table(tmp_path):
    """Comment lines with %, the last one naming the columns (names with spaces, apart by 2+ spaces)."""
    rows = "\n".join("    ".join(f"{v:.17g}" for v in row) for row in np.column_stack([X, U]))
    path = tmp_path / "field.dat"
    path.write_text("% Model:              demo.mph\n% Dimension:          2\n"
                    f"% X                       Y                        u (m/s)                  v @ t=0.5\n{rows}\n")
    obs = load_observations(path, ["x", "y"], ["u (m/s)", "v @ t=0.5"])  # x finds X (case-insensitive)
    check(obs)
    assert obs.output_names == ["u (m/s)", "v @ t=0.5"]
    bare = tmp_path / "points.txt"  # no header at all: integer columns
    bare.write_text(rows + "\n")
    check(load_observations(bare, [0, 1], [2, 3]))
    single = tmp_path / "single.dat"  # names apart by one space
    single.write_text(f"% x y u v\n{rows}\n")
    check(load_observations(single, ["x", "y"], ["u", "v"]))


def test_npz_named_arrays_and_one_matrix(tmp_path):
    np.savez(tmp_path / "named.npz", x=X[:, 0], y=X[:, 1:], u=U[:, 0], v=U[:, 1])
    check(load_observations(tmp_path / "named.npz", ["x", "y"], ["u", "v"]))
    np.savez(tmp_path / "pair.npz", X=X, U=U)  # 2-D arrays contribute every column
    obs = load_observations(tmp_path / "pair.npz", ["X"], ["U"])
    check(obs)
    assert obs.input_names == ["X[0]", "X[1]"]
    np.savez(tmp_path / "matrix.npz", data=np.column_stack([X, U]))
    check(load_observations(tmp_path / "matrix.npz", [0, 1], [2, 3]))


def test_mat_points_and_raissi_grid(tmp_path):
    scipy.io.savemat(tmp_path / "points.mat", {"x": X[:, :1], "y": X[:, 1:], "u": U[:, 0], "v": U[:, 1]})
    check(load_observations(tmp_path / "points.mat", ["x", "y"], ["u", "v"]))
    x, t = np.linspace(-1, 1, 7)[:, None], np.linspace(0, 1, 5)[:, None]  # Raissi's layout: axes and a grid
    usol = np.sin(np.pi * x) * np.exp(-t.T)
    scipy.io.savemat(tmp_path / "grid.mat", {"x": x, "t": t, "usol": usol})
    obs = load_observations(tmp_path / "grid.mat", ["x", "t"], ["usol"])
    xx, tt = np.meshgrid(x[:, 0], t[:, 0], indexing="ij")
    check(obs, np.stack([xx.ravel(), tt.ravel()], axis=1), usol.reshape(-1, 1))
    scipy.io.savemat(tmp_path / "complex.mat", {"x": x, "t": t, "uu": usol + 2j * usol})
    obs = load_observations(tmp_path / "complex.mat", ["x", "t"], ["uu"])
    assert obs.output_names == ["uu.real", "uu.imag"]
    np.testing.assert_array_equal(obs.u.numpy(), np.stack([usol.ravel(), 2 * usol.ravel()], axis=1))


@pytest.mark.parametrize("suffix", [".vtu", ".vtk", ".xdmf"])
def test_mesh_points_and_point_data(tmp_path, suffix):
    points = np.column_stack([X, np.zeros(len(X))])
    cells = [("triangle", np.array([[0, 1, 2], [1, 2, 3]]))]
    path = tmp_path / f"mesh{suffix}"
    meshio.write(path, meshio.Mesh(points, cells, point_data={"u": U[:, 0], "v": U[:, 1]}))
    check(load_observations(path, ["x", "y"], ["u", "v"]))
    check(load_observations(path, [0, 1], ["u", "v"]))


def test_nan_rows_dropped_with_a_warning_or_refused(tmp_path):
    values = np.column_stack([X, U])
    values[3, 0] = values[7, 3] = values[9, 2] = np.nan
    path = write_csv(tmp_path / "gaps.csv", values=values)
    with pytest.warns(UserWarning, match="dropped 3 of 40 rows"):
        obs = load_observations(path, ["x", "y"], ["u", "v"])
    keep = np.setdiff1d(np.arange(40), [3, 7, 9])
    check(obs, X[keep], U[keep], dropped=3)
    with pytest.warns(UserWarning, match="dropped 1 of 40"):  # only the chosen columns count
        assert load_observations(path, ["y"], ["u"]).dropped == 1
    with pytest.raises(ConfigError, match=r"gaps.csv: 3 rows with NaN"):
        load_observations(path, ["x", "y"], ["u", "v"], nan="refuse")


def test_subset_reproducible_with_the_seed(tmp_path):
    path = write_csv(tmp_path / "a.csv")
    a = load_observations(path, ["x", "y"], ["u", "v"], subset=10, seed=3)
    b = load_observations(path, ["x", "y"], ["u", "v"], subset=10, seed=3)
    c = load_observations(path, ["x", "y"], ["u", "v"], subset=10, seed=4)
    assert len(a) == 10 and torch.equal(a.x, b.x) and torch.equal(a.u, b.u) and not torch.equal(a.x, c.x)
    rows = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in a.x.numpy()]
    assert rows == sorted(rows)  # file order kept
    np.testing.assert_array_equal(a.u.numpy(), U[rows])  # inputs and outputs stay paired


def test_noise_is_relative_to_the_std_of_each_output(tmp_path):
    n = 20_000
    x = np.linspace(0, 1, n)[:, None]
    u = np.column_stack([np.sin(6 * x[:, 0]), 50 * x[:, 0]])
    np.savez(tmp_path / "big.npz", x=x, u=u)
    obs = load_observations(tmp_path / "big.npz", ["x"], ["u"], noise=0.1, seed=1)
    added = obs.u.numpy() - u
    expected = 0.1 * u.std(axis=0)
    # the sample std of n Gaussian draws is within a few times σ/√(2n) of σ (here 0.5 %)
    np.testing.assert_allclose(added.std(axis=0), expected, rtol=0.03)
    assert (np.abs(added.mean(axis=0)) < 4 * expected / np.sqrt(n)).all()
    same = load_observations(tmp_path / "big.npz", ["x"], ["u"], noise=0.1, seed=1)
    assert torch.equal(obs.u, same.u)
    check(load_observations(tmp_path / "big.npz", ["x"], ["u"]), x, u)  # noise=0: the data as read


ERRORS = [
    (lambda p: load_observations(p / "missing.csv", ["x"], ["u"]), r"^path: .*missing.csv: no such file"),
    (lambda p: load_observations(p / "a.xyz", ["x"], ["u"]), r"^path: .*a.xyz: unknown format '.xyz'; formats: .csv"),
    (lambda p: load_observations(p / "a.csv", ["x", "q"], ["u"]),
     r"^inputs: .*a.csv: no column 'q'; columns: x, y, u, v$"),
    (lambda p: load_observations(p / "a.csv", ["x"], [7]), r"^outputs: .*a.csv: no column 7; columns: x, y, u, v$"),
    (lambda p: load_observations(p / "b.csv", ["x"], ["u"]),
     r"^inputs: .*b.csv: no column 'x'; columns: integer columns 0..3 \(the file has no header\)$"),
    (lambda p: load_observations(p / "a.npz", ["x"], ["w"]), r"^outputs: .*a.npz: no array 'w'; arrays: x, u$"),
    (lambda p: load_observations(p / "a.csv", ["x"], ["u"], expected_dim=2),
     r"^inputs: .*a.csv: 1 input columns \['x'\], but the problem has 2 inputs$"),
    (lambda p: load_observations(p / "empty.csv", ["x"], ["u"]),
     r"^path: .*empty.csv: no rows left \(of 2\) after dropping missing values$"),
    (lambda p: load_observations(p / "a.csv", ["x"], ["u"], subset=41),
     r"^subset: .*a.csv: subset=41 is more than the 40 rows of the data$"),
    (lambda p: load_observations(p / "a.csv", ["x"], ["u"], nan="keep"), r"^nan: must be one of drop, refuse"),
    (lambda p: load_observations(p / "a.csv", ["x"], ["u"], noise=-1), r"^noise: must be a non-negative number"),
    (lambda p: load_observations(p / "a.csv", ["x"], []), r"^outputs: name at least one column$"),
    (lambda p: load_observations(p / "bad.csv", ["x"], ["u"]), r"^path: .*bad.csv: line 3 holds a value that is not"),
]


@pytest.mark.parametrize("call, message", ERRORS, ids=[m for _, m in ERRORS])
def test_errors_name_the_file_and_what_is_wrong(tmp_path, call, message):
    write_csv(tmp_path / "a.csv")
    write_csv(tmp_path / "b.csv", header=False)
    (tmp_path / "a.xyz").write_text("1 2\n")
    (tmp_path / "empty.csv").write_text("x,u\nnan,1\n2,\n")
    (tmp_path / "bad.csv").write_text("x,u\n1,2\n3,four\n")
    np.savez(tmp_path / "a.npz", x=X[:, 0], u=U[:, 0])
    with pytest.warns(UserWarning) if "empty" in message else nullcontext():
        with pytest.raises(ConfigError, match=message) as error:
            call(tmp_path)
    assert "\n" not in str(error.value)


class Known(nn.Module):
    """Outputs ``[u, v] = [sin(x) y, cos(y)]``: the data of :data:`U`."""

    def forward(self, x):
        return torch.stack([torch.sin(x[:, 0]) * x[:, 1], torch.cos(x[:, 1])], dim=1)


def misfit(term, model, shift=0.0):
    x, data = term.sampler.sample(term.batch_size, torch.Generator().manual_seed(0), torch.float64)
    data = {"obs": data["obs"] + shift}
    field = Field(model, x, ["x", "y"], Engine(), outputs=["u", "v"], data=data)
    return term.residual(field).detach()


def test_observation_term_through_a_field(tmp_path):
    obs = load_observations(write_csv(tmp_path / "a.csv"), ["x", "y"], ["u", "v"])
    term = observation_term(obs, ["u", "v"], weight=2.0)
    assert term.batch_size == 40 and term.weight == 2.0
    r = misfit(term, Known())
    assert r.shape == (40, 2) and float(r.square().mean()) < 1e-28
    assert float(misfit(term, Known(), shift=0.5).square().mean()) == pytest.approx(0.25, rel=1e-12)
    only_v = observation_term(load_observations(tmp_path / "a.csv", ["x", "y"], ["v"]), ["v"])
    assert float(misfit(only_v, Known()).square().mean()) < 1e-28  # the second output, by name
    batches = observation_term(obs, ["u", "v"], batch_size=8)  # random rows, points and data together
    r = misfit(batches, Known())
    assert r.shape == (8, 2) and float(r.square().mean()) < 1e-28
    with pytest.raises(ConfigError, match=r"^outputs: .*a.csv: 2 observed columns \['u', 'v'\] need as many"):
        observation_term(obs, ["u"])
    with pytest.raises(ConfigError, match=r"^batch_size: .*a.csv: 50 is more than the 40 observations"):
        observation_term(obs, ["u", "v"], batch_size=50)


class FitData(Problem):
    """A problem made of observations only (regression), to check the term inside a trainer."""

    variables = ["x", "y"]
    outputs = ["u", "v"]

    def __init__(self, term):
        self.term = term

    def terms(self):
        return {"data": self.term}


def test_observation_term_trains(tmp_path, one_thread):
    obs = load_observations(write_csv(tmp_path / "a.csv"), ["x", "y"], ["u", "v"])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    trainer = Trainer(FitData(observation_term(obs, ["u", "v"], batch_size=16)), model, Engine(), FixedWeights(),
                      partial(optim.adam, lr=1e-2), steps=150, progress=False, plot=False, dtype=torch.float64)
    start = float(misfit(observation_term(obs, ["u", "v"]), trainer.net).square().mean())
    trainer.fit()
    end = float(misfit(observation_term(obs, ["u", "v"]), trainer.net).square().mean())
    assert end < 0.1 * start
