"""sciml-predict and ``predict_run``: a run evaluated at the user's points equals what the run scored."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import meshio
import numpy as np
import pytest
import scipy.io
import torch

from sciml.cli.predict import main
from sciml.predict import load_predictor, predict_run
from sciml.train.trainer import relative_l2
from tests.test_cli import FAST, sciml_train

QUICK = [*(a for a in FAST if not a.startswith("model.")), "trainer.plot=false"]
RUNS = {
    "pinn": ["model.width=8", "model.depth=2"],
    "lpinn": ["trainer=lpinn", "pde=convection", "model=lagrangian", "model.x_width=8", "model.u_width=8",
              "model.u_depth=2", "trainer.batch_size={x: 48, u: 48, x0: 16, u0: 16, bc: 16}", "trainer.particles=64"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny finished run per trainer (30 steps)."""
    root = tmp_path_factory.mktemp("runs")
    for name, overrides in RUNS.items():
        sciml_train([*QUICK, *overrides, f"hydra.run.dir={root / name}"], root)
    return {name: root / name for name in RUNS}


@pytest.mark.parametrize("trainer", list(RUNS))
def test_predictions_are_what_the_run_scored(runs, trainer):
    """rel. L2 of predict_run at the run's reference points equals summary.json's (LPINN: Eulerian values)."""
    run = runs[trainer]
    reference = load_predictor(run).trainer.reference
    state = torch.get_rng_state()
    out = predict_run(run, reference.x)
    assert torch.equal(torch.get_rng_state(), state)  # the global random state is left alone
    assert list(out) == ["u"] and out["u"].shape == (reference.x.shape[0],) and out["u"].dtype == np.float64
    pred = torch.as_tensor(out["u"], dtype=reference.u.dtype)[:, None]
    summary = json.loads((run / "summary.json").read_text())
    assert relative_l2(pred, reference.u) == pytest.approx(summary["rel_l2"], rel=1e-6)
    assert predict_run(run, reference.x.numpy())["u"] == pytest.approx(out["u"], rel=0, abs=0)


def points(n=30):
    return np.random.default_rng(1).uniform(0, 1, size=(n, 2))


def test_csv_points_to_csv(runs, capsys):
    run, x = runs["pinn"], points()
    np.savetxt(run.parent / "pts.csv", x, delimiter=",", header="x,y", comments="", fmt="%.17g")
    assert main([str(run), "--points", str(run.parent / "pts.csv")]) == 0
    assert str(run / "predictions.csv") in capsys.readouterr().out
    table = np.genfromtxt(run / "predictions.csv", delimiter=",", names=True)
    assert table.dtype.names == ("x", "y", "u")
    np.testing.assert_array_equal(np.column_stack([table["x"], table["y"]]), x)
    np.testing.assert_array_equal(table["u"], predict_run(run, x)["u"])


def test_named_columns_and_headerless_tables(runs, tmp_path):
    run, x = runs["pinn"], points()
    np.savez(tmp_path / "pts.npz", a=x[:, 0], b=x[:, 1])
    assert main([str(run), "--points", str(tmp_path / "pts.npz"), "--inputs", "a,b"]) == 0
    saved = np.load(run / "predictions.npz")
    assert sorted(saved.files) == ["a", "b", "u"]
    np.testing.assert_array_equal(saved["u"], predict_run(run, x)["u"])
    (tmp_path / "pts.dat").write_text("% two columns, no names\n" + "\n".join(f"{a:.17g} {b:.17g}" for a, b in x))
    out = tmp_path / "out" / "pred.npz"
    assert main([str(run), "--points", str(tmp_path / "pts.dat"), "--out", str(out)]) == 0  # first columns
    np.testing.assert_array_equal(np.load(out)["u"], predict_run(run, x)["u"])


@pytest.mark.parametrize("suffix", [".vtu", ".xdmf"])
def test_mesh_points_keep_the_mesh(runs, tmp_path, suffix):
    run, x = runs["pinn"], points(4)
    cells = [("triangle", np.array([[0, 1, 2], [1, 2, 3]]))]
    mesh = tmp_path / f"mesh{suffix}"
    meshio.write(mesh, meshio.Mesh(np.column_stack([x, np.zeros(4)]), cells, point_data={"T": np.arange(4.0)}))
    assert main([str(run), "--points", str(mesh)]) == 0
    back = meshio.read(run / f"predictions{suffix}")
    assert [(c.type, c.data.tolist()) for c in back.cells] == [("triangle", [[0, 1, 2], [1, 2, 3]])]
    np.testing.assert_allclose(back.point_data["u"], predict_run(run, x)["u"], rtol=1e-6)
    np.testing.assert_array_equal(back.point_data["T"], np.arange(4.0))


def test_table_points_to_vtu_as_vertices(runs, tmp_path):
    run, x = runs["lpinn"], points()
    np.savetxt(tmp_path / "pts.csv", x, delimiter=",", header="x,t", comments="", fmt="%.17g")
    assert main([str(run), "--points", str(tmp_path / "pts.csv"), "--out", str(tmp_path / "p.vtu")]) == 0
    back = meshio.read(tmp_path / "p.vtu")
    assert back.cells[0].type == "vertex" and len(back.cells[0].data) == len(x)
    np.testing.assert_allclose(back.points[:, :2], x)
    np.testing.assert_allclose(back.point_data["u"], predict_run(run, x)["u"], rtol=1e-6)


ERRORS = [
    (lambda run, pts: [str(run.parent / "nope"), "--points", pts], r"^error: run_dir: .*nope/config.yaml not found"),
    (lambda run, pts: [str(run), "--points", pts + ".missing"], r"^error: --points: .*pts.csv.missing: no such file"),
    (lambda run, pts: [str(run), "--points", pts, "--inputs", "x,q"],
     r"^error: --inputs: .*pts.csv: no column 'q'; columns: x, y$"),
    (lambda run, pts: [str(run), "--points", pts, "--inputs", "x"],
     r"^error: --inputs: .*pts.csv: 1 input columns \['x'\], but the run's problem has 2 inputs \['x', 'y'\]$"),
    (lambda run, pts: [str(run), "--points", pts, "--out", "p.json"], r"^error: --out: p.json: unknown format"),
    (lambda run, pts: [str(run), "--points", pts, "--checkpoint", "other.pt"],
     r"^error: checkpoint: .*other.pt not found$"),
]


@pytest.mark.parametrize("args, message", ERRORS, ids=[m for _, m in ERRORS])
def test_user_errors_exit_2_with_one_line(runs, tmp_path, capsys, args, message):
    pts = tmp_path / "pts.csv"
    np.savetxt(pts, points(), delimiter=",", header="x,y", comments="", fmt="%.17g")
    assert main(args(runs["pinn"], str(pts))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(message, err), err


def test_command_line_entry_point(runs, tmp_path):
    env = {**os.environ, "DDE_BACKEND": "pytorch", "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, "-m", "sciml.cli.predict", str(runs["pinn"]), "--points",
                           str(tmp_path / "none.csv")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: --points: ") and proc.stderr.count("\n") == 1


def test_mat_axes_are_a_grid(runs, tmp_path):
    """Raissi's layout: 1-D axes x and t of different lengths give their tensor grid (x slowest)."""
    run = runs["lpinn"]
    x, t = np.linspace(0, 2 * np.pi, 6)[:, None], np.linspace(0, 1, 4)[:, None]
    scipy.io.savemat(tmp_path / "grid.mat", {"x": x, "t": t})
    assert main([str(run), "--points", str(tmp_path / "grid.mat"), "--inputs", "x,t",
                 "--out", str(tmp_path / "grid.npz")]) == 0
    saved = np.load(tmp_path / "grid.npz")
    xx, tt = np.meshgrid(x[:, 0], t[:, 0], indexing="ij")
    grid = np.stack([xx.ravel(), tt.ravel()], axis=1)
    np.testing.assert_array_equal(np.stack([saved["x"], saved["t"]], axis=1), grid)
    np.testing.assert_array_equal(saved["u"], predict_run(run, grid)["u"])
