"""sciml-bench: the PINNacle suite planned, scaled, run (a tiny real run), resumed and ranked."""

import csv
import dataclasses
import json
import math
import shutil

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from sciml.bench.budget import budget_overrides, check_budget, scaled
from sciml.bench.cli import main
from sciml.bench.runner import plan, protocol_counts
from sciml.bench.suites import Budget, load_suite
from sciml.cli.build import build
from sciml.cli.train import CONFIG_DIR
from sciml.errors import ConfigError

# a run's outputs that the leaderboard does not need
QUIET = ["callbacks.outputs.plots=false", "callbacks.outputs.report=false", "trainer.plot=false",
         "trainer.progress=false"]
TINY = ["pinnacle", "--cases", "burgers1d", "--methods", "pinn", "--seeds", "0", "--budget", "0.001",
        "--launcher", "basic", *QUIET]


def composed(overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=overrides)


def test_recipe_is_the_protocol_and_adam_lbfgs_switches_at_5000():
    suite = load_suite("pinnacle")
    cfg = composed(suite.overrides("ns2d_c", "pinn"))
    model = (cfg.model.width, cfg.model.depth, cfg.model.activation, cfg.model.init)
    assert model == (100, 5, "tanh", "xavier_normal")
    assert cfg.model.normalize is False and cfg.dtype == "float32" and cfg.balancer.weights == {}
    assert (cfg.optimizer.lr, cfg.optimizer.schedule, cfg.optimizer.weight_decay) == (1e-3, "constant", 0.0)
    assert (cfg.trainer.steps, cfg.trainer.resample, cfg.trainer.eval_every) == (20000, False, 100)
    lbfgs = composed(suite.overrides("ns2d_c", "adam_lbfgs"))
    phases = build("optimizer", lbfgs.optimizer)(model=torch.nn.Linear(2, 1), steps=20000)
    assert [(p.name, p.steps) for p in phases] == [("adam", 5000), ("lbfgs", 15000)]
    assert phases[0].optimizer.param_groups[0]["lr"] == 1e-3 and phases[0].scheduler is None
    assert phases[1].optimizer.defaults["line_search_fn"] is None


#: the cases whose `best` is tuned apart from the recipe, and the keys where the two differ
NAVIER_STOKES = {"balancer.others": 1.0, "pde.hard_bc": True}
TUNED_APART = {"burgers1d": {"model.width": 50, "model.depth": 4},
               "poisson2d_cg": {"pde.hard_bc": True},
               "ns2d_c": NAVIER_STOKES,
               "ns2d_cg": NAVIER_STOKES,
               "wave2d_ms": {"balancer.others": 1.0, "trainer.point_budget": 8192, "pde.output_scale": 1000,
                             "model": {"_target_": "sciml.models.periodic.PeriodicMLP", "periods": [None, None, 2.0],
                                       "harmonics": 1, "secular": False, "normalize": False, "output_scale": "auto",
                                       "width": 50, "depth": 4, "activation": "tanh", "init": "xavier_normal"}},
               "heat_nd": {"balancer.others": 1.0, "trainer.point_budget": 6144, "model.width": 50, "model.depth": 3,
                           "pde.hard_ic": True}}


@pytest.mark.parametrize("case", list(load_suite("pinnacle").cases))
def test_the_new_problem_recipe_is_the_tuned_best_and_replaces_the_suite_recipe(case):
    suite = load_suite("pinnacle")
    recipe, best = suite.overrides(case, "recipe"), suite.overrides(case, "best")
    assert recipe == ["recipe=new_problem", f"pde=pinnacle_{case}"] and best[0] == "recipe=pinnacle"
    ours, theirs = composed(recipe), composed(best)
    for key, value in TUNED_APART.get(case, {}).items():
        assert OmegaConf.select(theirs, key) == value != OmegaConf.select(ours, key), key
        if OmegaConf.select(ours, key) is None:  # a key the tuned configuration adds
            parent, _, leaf = key.rpartition(".")
            with open_dict(theirs):
                del OmegaConf.select(theirs, parent)[leaf]
        else:
            OmegaConf.update(theirs, key, OmegaConf.select(ours, key), merge=False)
    for key in ("pde", "model", "engine", "balancer", "trainer", "dtype", "seed"):
        assert ours[key] == theirs[key], key
    plans = [build("optimizer", cfg.optimizer)(model=torch.nn.Linear(2, 1), steps=cfg.trainer.steps)
             for cfg in (ours, theirs)]
    assert [(p.name, p.steps) for p in plans[0]] == [(p.name, p.steps) for p in plans[1]] == [
        ("adam", 3000), ("lbfgs", 17000)]
    assert [p.optimizer.defaults for p in plans[0]] == [p.optimizer.defaults for p in plans[1]]
    assert ours.balancer.others == 100 and ours.optimizer.switch == [0.15]
    switch_at = 3.0 if case in TUNED_APART else 15.0
    assert [p.start_minutes for p in plans[0]] == [None, 15.0]
    assert [p.start_minutes for p in plans[1]] == [None, switch_at]
    assert ours.trainer.max_minutes == 30 and ours.pde == composed([f"pde=pinnacle_{case}"]).pde


def test_budget_scaling_arithmetic():
    floors = Budget(min_steps=20, min_points=100)
    assert scaled(12288, 0.01, 100) == 123          # 122.88
    assert scaled(2048, 0.01, 100) == 100           # 20.48, raised to the floor
    assert scaled(1, 0.01, 100) == 1                # a gauge point stays one point
    assert scaled(20000, 0.0004, 20) == 20 and scaled(20000, 0.1, 20) == 2000 and scaled(2048, 2.0, 100) == 4096
    assert budget_overrides(20000, {"pde": 12288}, 1.0, floors) == []
    assert budget_overrides(20000, {"pde": 12288, "ic": 2048}, 0.01, floors) == [
        "trainer.steps=200", "pde.batch_size={pde:123,ic:100}"]
    with pytest.raises(ConfigError, match="budget"):
        check_budget(0.0)


def test_point_counts_come_from_each_problem():
    """Per-term counts of the protocol as each case declares them, whatever its term names."""
    suite = load_suite("pinnacle")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        steps, cg = protocol_counts(compose("config", overrides=suite.overrides("poisson2d_cg", "pinn")))
        _, cavity = protocol_counts(compose("config", overrides=suite.overrides("ns2d_c", "pinn")))
    assert steps == 20000 and cg == {"pde": 10240, "rec": 1147, "circ": 901}
    assert budget_overrides(steps, cg, 0.1, suite.budget) == ["trainer.steps=2000",
                                                              "pde.batch_size={pde:1024,rec:115,circ:100}"]
    assert cavity["p_point"] == 1 and cavity["mom_x"] == cavity["cont"] == 10240
    assert cavity["top_u"] + cavity["wall_u"] == 2048   # the boundary points divided by length


def test_dry_run_prints_planned_commands(tmp_path, capsys):
    out = tmp_path / "suite"
    assert main(["pinnacle", "--cases", "burgers1d,heat_nd", "--methods", "pinn,lra", "--seeds", "0,1",
                 "--budget", "0.01", "--jobs", "2", "--out", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and not out.exists()
    heat_lra = lines[3].split()
    assert heat_lra[1:4] == ["-m", "sciml.train", "--multirun"]
    assert heat_lra[4:] == ["recipe=pinnacle", "pde=pinnacle_heat_nd", "balancer=lra_pinnacle", "trainer.steps=200",
                            "'pde.batch_size={pde:492,ic:100,neumann:100}'", "seed=0,1",
                            f"hydra.sweep.dir={out}/heat_nd/lra", "'hydra.sweep.subdir=${seed}'",
                            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    assert "pde=pinnacle_burgers1d" in lines[0] and "balancer" not in lines[0]
    assert "'pde.batch_size={pde:123,ic:100,dirichlet:100}'" in lines[1]


def test_unavailable_method_reported_on_one_line(tmp_path, capsys):
    suite = load_suite("pinnacle")
    broken = dataclasses.replace(suite, methods={"pinn": [], "nothing": ["balancer=no_such_balancer"],
                                                 "nokey": ["trainer.no_such_option.method=rar"]})
    jobs, unavailable = plan(broken, ["burgers1d", "heat_nd"], list(broken.methods), [0], 1.0, tmp_path)
    assert [(j.case, j.method) for j in jobs] == [("burgers1d", "pinn"), ("heat_nd", "pinn")]
    assert unavailable == [
        "method nothing unavailable: In 'config': Could not find 'balancer/no_such_balancer'",
        "method nokey unavailable: Could not override 'trainer.no_such_option.method'. "
        "(Key 'no_such_option' is not in struct)"]
    assert main(["pinnacle", "--methods", "nope", "--dry-run"]) == 2
    assert capsys.readouterr().err == "error: methods: unknown methods ['nope']; options: " \
                                      f"{', '.join(suite.methods)}\n"


def test_an_extra_override_for_some_methods_leaves_out_only_the_others(tmp_path):
    suite = load_suite("pinnacle")
    jobs, unavailable = plan(suite, ["ns2d_c"], ["pinn", "recipe"], [0], 1.0, tmp_path, ["balancer.others=1"])
    assert [(j.case, j.method) for j in jobs] == [("ns2d_c", "recipe")]
    assert jobs[0].overrides[-1] == "balancer.others=1"
    assert unavailable == ["method pinn unavailable: Could not override 'balancer.others'. "
                           "(Key 'others' is not in struct)"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One real run: Burgers1d-C, the protocol at budget 0.001 (20 steps on 300 points), seed 0."""
    out = tmp_path_factory.mktemp("bench") / "pinnacle"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def test_tiny_run_writes_summary_and_leaderboard(tiny):
    run = tiny / "burgers1d" / "pinn" / "0"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["pde"] == "pinnacle_burgers1d" and summary["dtype"] == "float32"
    config = (run / "config.yaml").read_text()
    assert "batch_size:\n    pde: 100\n    ic: 100\n    dirichlet: 100" in config
    with (tiny / "leaderboard.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert (row["case"], row["method"], row["seeds"], row["steps"]) == ("burgers1d", "pinn", "1", "20")
    assert float(row["mean"]) == summary["rel_l2"] and float(row["std"]) == 0.0
    assert float(row["ratio_to_published_best"]) == pytest.approx(summary["rel_l2"] / 1.45e-2, rel=1e-12)
    for name in ("leaderboard.md", "leaderboard.png", "burgers1d/curves.png"):
        assert (tiny / name).stat().st_size > 0


def test_resume_skips_finished_runs(tiny, capsys):
    summary = tiny / "burgers1d" / "pinn" / "0" / "summary.json"
    before = summary.stat().st_mtime_ns
    assert main([*TINY, "--out", str(tiny)]) == 0
    assert "[1/1] burgers1d/pinn: seeds 0 finished, skipped" in capsys.readouterr().out
    assert summary.stat().st_mtime_ns == before
    assert main([*TINY[:6], "0,1", *TINY[7:], "--out", str(tiny), "--dry-run"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert " seed=1 " in line and "seed=0" not in line


def test_leaderboard_mean_and_std_over_seeds(tiny, tmp_path, capsys):
    """Two more seeds made from the real one: 0.5 and a diverged (NaN) run; mean and population std by hand."""
    out = tmp_path / "pinnacle"
    shutil.copytree(tiny, out)
    first = json.loads((out / "burgers1d/pinn/0/summary.json").read_text())
    for seed, value, wall in ((1, 0.5, 3.0), (2, math.nan, 1.0)):
        shutil.copytree(out / "burgers1d/pinn/0", out / f"burgers1d/pinn/{seed}")
        summary = {**first, "rel_l2": value, "wall_s": wall}
        (out / f"burgers1d/pinn/{seed}/summary.json").write_text(json.dumps(summary))
    assert main(["pinnacle", "--table-only", "--out", str(out)]) == 0
    with (out / "leaderboard.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    a = first["rel_l2"]
    assert (row["seeds"], row["failed"]) == ("2", "1")
    assert float(row["mean"]) == pytest.approx((a + 0.5) / 2, rel=1e-12)
    assert float(row["std"]) == pytest.approx(abs(a - 0.5) / 2, rel=1e-12)
    assert float(row["wall_s_mean"]) == pytest.approx((first["wall_s"] + 3.0 + 1.0) / 3, rel=1e-12)
    table = (out / "leaderboard.md").read_text()
    assert "(2, 1 non-finite)" in table and "| Burgers1d-C | 1.45e-02 | 1.45e-02 (PINN) |" in table
    assert "single source (S1), unverified" in capsys.readouterr().out
    assert "recipe / best here" not in table


def test_leaderboard_gap_of_the_recipe_to_the_best_method(tiny, tmp_path):
    out = tmp_path / "pinnacle"
    shutil.copytree(tiny, out)
    first = json.loads((out / "burgers1d/pinn/0/summary.json").read_text())
    shutil.copytree(out / "burgers1d/pinn/0", out / "burgers1d/recipe/0")
    (out / "burgers1d/recipe/0/summary.json").write_text(json.dumps({**first, "rel_l2": 2.5 * first["rel_l2"]}))
    assert main(["pinnacle", "--table-only", "--out", str(out)]) == 0
    with (out / "leaderboard.csv").open() as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    assert rows["pinn"]["best_here"] == "True" and float(rows["pinn"]["ratio_to_best_here"]) == 1.0
    assert float(rows["recipe"]["ratio_to_best_here"]) == pytest.approx(2.5, rel=1e-12)
    header, _, burgers = (out / "leaderboard.md").read_text().splitlines()[2:5]
    assert header.rstrip(" |").endswith("recipe / best here") and burgers.rstrip(" |").endswith("| 2.5")


def test_leaderboard_of_a_case_without_a_finite_run(tiny, tmp_path):
    out = tmp_path / "pinnacle"
    shutil.copytree(tiny, out)
    summary = out / "burgers1d/pinn/0/summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "rel_l2": math.nan}))
    assert main(["pinnacle", "--table-only", "--out", str(out)]) == 0
    with (out / "leaderboard.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert (row["seeds"], row["failed"], row["best_here"], row["ratio_to_best_here"]) == ("0", "1", "False", "")
