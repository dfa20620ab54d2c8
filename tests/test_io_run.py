"""Run outputs end to end: metric plots, report.md, the end-of-run callback and sciml-export from a checkpoint."""

import json
import math
import shutil

import meshio
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sciml.cli import export as export_cli
from sciml.cli.train import CONFIG_DIR, run
from sciml.errors import ConfigError
from sciml.geometry import BoxBoundarySampler, BoxSampler, TimeProduct
from sciml.io.history import history_figures
from sciml.io.outputs import RunOutputs
from sciml.io.plots import plot_solution
from sciml.problem import Problem, Term


class Heat1D(Problem):
    """u_t = κ u_xx on [0, 1] × [0, 1] with u(x, 0) = sin(π x), u(0, t) = u(1, t) = 0;
    exact u = exp(-κ π² t) sin(π x)."""

    name = "heat1d"
    variables = ["x", "t"]

    def __init__(self, kappa: float = 0.1) -> None:
        self.kappa = kappa

    def bounds(self):
        return [(0.0, 1.0), (0.0, 1.0)]

    def exact(self, x):
        return (torch.exp(-self.kappa * math.pi**2 * x[:, 1]) * torch.sin(math.pi * x[:, 0])).unsqueeze(1)

    def terms(self):
        space = [(0.0, 1.0)]
        return {"pde": Term(BoxSampler(self.bounds()), lambda u: u.d("t") - self.kappa * u.d("x", "x"), 64),
                "bc": Term(TimeProduct(BoxBoundarySampler(space)), lambda u: u.value, 16),
                "ic": Term(TimeProduct(BoxSampler(space), t_value=0.0),
                           lambda u: u.value - torch.sin(math.pi * u.x[:, 0]), 32)}


ROWS = [{"step": 10, "train_s": 0.5, "wall_s": 0.6, "loss": 2.0, "loss/pde": 1.5, "loss/bc": 0.5,
         "weight/pde": 1.0, "weight/bc": 4.0, "lr": 1e-3},
        {"step": 20, "train_s": 1.0, "wall_s": 1.3, "loss": 1.0, "loss/pde": 0.8, "loss/bc": 0.2,
         "weight/pde": 1.0, "weight/bc": 6.0, "lr": 5e-4, "rel_l2": 0.3, "max_abs": 0.5},
        {"step": 30, "train_s": 1.5, "wall_s": 2.1, "loss": 0.4, "loss/pde": 0.3, "loss/bc": 0.1,
         "weight/pde": 1.0, "weight/bc": 7.0, "lr": 2e-4, "rel_l2": 0.1, "max_abs": 0.2}]


def lines(ax):
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_history_figures_hold_the_expected_series():
    figures = history_figures(ROWS)
    assert sorted(figures) == ["errors", "losses", "lr", "weights"]
    by_step, by_wall = figures["losses"].axes
    assert lines(by_step) == {"loss": ([10, 20, 30], [2.0, 1.0, 0.4]), "loss/pde": ([10, 20, 30], [1.5, 0.8, 0.3]),
                              "loss/bc": ([10, 20, 30], [0.5, 0.2, 0.1])}
    assert lines(by_wall)["loss/bc"] == ([0.6, 1.3, 2.1], [0.5, 0.2, 0.1])
    assert by_step.get_yscale() == "log" and by_wall.get_xlabel() == "wall time [s]"
    assert lines(figures["errors"].axes[0]) == {"rel_l2": ([20, 30], [0.3, 0.1]), "max_abs": ([20, 30], [0.5, 0.2])}
    assert lines(figures["lr"].axes[1]) == {"lr": ([0.6, 1.3, 2.1], [1e-3, 5e-4, 2e-4])}
    assert lines(figures["weights"].axes[0])["weight/bc"] == ([10, 20, 30], [4.0, 6.0, 7.0])
    no_metrics = history_figures([{k: v for k, v in r.items() if k not in ("rel_l2", "max_abs")} for r in ROWS])
    assert "errors" not in no_metrics


def test_solution_plot_without_an_exact_solution(tmp_path):
    class Unknown(Heat1D):
        def exact(self, x):
            return None

    path = plot_solution(Unknown(), lambda x: x[:, :1] ** 2, tmp_path / "p.png", torch.float32, torch.device("cpu"),
                         resolution=16)
    assert path.stat().st_size > 1000


HEAT = ("pde=custom", f"pde._target_={__name__}.Heat1D")


def train(run_dir, *overrides, pde=HEAT):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[*pde, "optimizer=adam",
                                           "trainer.steps=20", "trainer.eval_every=10", "trainer.log_every=5",
                                           "trainer.progress=false", "trainer.eval_resolution=16", "model.width=8",
                                           "model.depth=2", "device=cpu", "callbacks.outputs.resolution=9",
                                           "callbacks.outputs.time_steps=4", *overrides])
    OmegaConf.resolve(cfg)
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    return run(cfg, run_dir, {})


def arrays(fields):
    """Every array of every exported file: VTU point data and XDMF steps."""
    out = {}
    for path in sorted(fields.glob("*.vtu")):
        mesh = meshio.read(path)
        out[path.name] = (mesh.points, mesh.cells[0].data, dict(mesh.point_data))
    for path in sorted(fields.glob("*.xdmf")):
        reader = meshio.xdmf.TimeSeriesReader(path)
        points, cells = reader.read_points_cells()
        out[path.name] = (points, cells[0].data, [reader.read_data(k) for k in range(reader.num_steps)])
    return out


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("heat") / "run"
    return run_dir, train(run_dir)


def test_end_of_run_outputs_and_report(finished):
    run_dir, summary = finished
    assert summary["steps"] == 20
    for name in ("fields/field.xdmf", "fields/field.h5", "fields/spacetime.vtu", "fields/manifest.json",
                 "plots/losses.png", "plots/errors.png", "plots/lr.png", "plots/weights.png", "report.md"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "renders").exists()  # renders are off by default
    report = (run_dir / "report.md").read_text()
    assert "# Run report: heat1d" in report and "| steps | 20 |" in report
    assert f"| rel_l2 | {summary['rel_l2']:.4g} |" in report
    for link in ("plots/losses.png", "prediction.png", "fields/field.xdmf", "fields/spacetime.vtu"):
        assert f"({link})" in report and (run_dir / link).is_file()
    assert "```yaml\n" + (run_dir / "config.yaml").read_text().rstrip() + "\n```" in report
    manifest = json.loads((run_dir / "fields" / "manifest.json").read_text())
    assert [d["name"] for d in manifest["datasets"]] == ["field", "spacetime"]
    assert manifest["datasets"][0]["times"] == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_export_from_the_checkpoint_matches_the_end_of_run_export(finished, tmp_path):
    run_dir, _ = finished
    at_end = tmp_path / "at_end"
    shutil.copytree(run_dir / "fields", at_end)
    assert export_cli.main([str(run_dir), "--no-plots"]) == 0
    before, after = arrays(at_end), arrays(run_dir / "fields")
    assert sorted(before) == sorted(after) == ["field.xdmf", "spacetime.vtu"]
    for name in before:
        (p0, c0, d0), (p1, c1, d1) = before[name], after[name]
        np.testing.assert_array_equal(p0, p1)
        np.testing.assert_array_equal(c0, c1)
        steps0, steps1 = (d0, d1) if isinstance(d0, list) else ([(0, d0, {})], [(0, d1, {})])
        for (t0, a0, _), (t1, a1, _) in zip(steps0, steps1):
            assert t0 == t1 and sorted(a0) == sorted(a1) == ["u", "u_error", "u_exact"]
            for key in a0:
                np.testing.assert_allclose(a0[key], a1[key], rtol=1e-6, atol=1e-7)
    # and the exported prediction is the trained network's: not the exact solution
    assert np.abs(after["spacetime.vtu"][2]["u_error"]).max() > 1e-3


def test_export_command_errors_are_one_line(tmp_path, capsys):
    assert export_cli.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: run_dir:") and len(err.splitlines()) == 1


def test_a_failed_render_does_not_stop_the_run(tmp_path, capsys):
    summary = train(tmp_path / "run", "trainer.steps=5", "callbacks.outputs.render=true",
                    "callbacks.outputs.render_timeout=0.001")
    assert summary["steps"] == 5 and (tmp_path / "run" / "summary.json").is_file()
    assert "warning: renders skipped: rendering did not finish" in capsys.readouterr().err
    assert "Renders: rendering did not finish" in (tmp_path / "run" / "report.md").read_text()


def test_bad_export_settings_fail_before_training(tmp_path):
    with pytest.raises(ConfigError) as info:
        train(tmp_path / "run", "callbacks.outputs.slices=[{axes: [x0, x9]}]", pde=("pde=poisson", "pde.dim=4"))
    assert info.value.key == "callbacks.outputs.slices[0].axes" and "x9" in info.value.message
    assert not (tmp_path / "run" / "metrics.jsonl").read_text()
    with pytest.raises(ConfigError, match="time_steps"):
        RunOutputs(time_steps=0)
