"""Every bad config value is refused before training with one clear message naming the key.

Composed in-process with hydra's compose API (the same code path as sciml-train, without a subprocess
per case); tests/test_cli.py checks the exit status and the absence of tracebacks end to end.
"""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from sciml.cli.train import CONFIG_DIR, prepare
from sciml.errors import ConfigError


def prepared(overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=["trainer.progress=false", *overrides])
    return prepare(cfg, None, {})


# (overrides, key named in the message, a fragment of the message)
BAD_VALUES = [
    (["model.width=-5"], "model.width", "positive integer"),
    (["model.width=0"], "model.width", "positive integer"),
    (["model.width=2.5"], "model.width", "positive integer"),
    (["model.depth=0"], "model.depth", "hidden layers"),
    (["model.depth=-1"], "model.depth", "hidden layers"),
    (["model.activation=relu6"], "model.activation", "tanh"),
    (["model.init=orthogonal"], "model.init", "xavier_normal"),
    (["pde.dim=0"], "pde.dim", "positive integer"),
    (["pde.dim=-3"], "pde.dim", "positive integer"),
    (["pde.solution=cos"], "pde.solution", "sin_prod"),
    (["pde.lo=1.0", "pde.hi=0.0"], "pde.hi", "must exceed"),
    (["pde.batch_size.pde=0"], "pde.batch_size.pde", "positive integer"),
    (["pde.batch_size.bc=-10"], "pde.batch_size.bc", "positive integer"),
    (["pde.batch_size=0"], "pde.batch_size.pde", "positive integer"),
    (["+pde.batch_size.ic=10"], "pde.batch_size", "unknown term"),
    (["pde=helmholtz", "pde.batch_size.pde=0"], "pde.batch_size.pde", "positive integer"),
    (["trainer.steps=0"], "trainer.steps", "positive integer"),
    (["trainer.steps=-100"], "trainer.steps", "positive integer"),
    (["trainer.eval_every=-1"], "trainer.eval_every", "non-negative"),
    (["trainer.log_every=-5"], "trainer.log_every", "non-negative"),
    (["trainer.metrics=[rel_l3]"], "trainer.metrics", "rel_l2"),
    (["trainer.metrics=bogus"], "trainer.metrics", "rel_l2"),
    (["+trainer.unknown_option=1"], "trainer", "unknown_option"),
    (["dtype=float16"], "dtype", "float32, float64"),
    (["dtype=bfloat16"], "dtype", "float32, float64"),
    (["device=tpu"], "device", "auto, cpu, cuda"),
    (["device=cuda"], "device", "no CUDA device"),
    (["seed=abc"], "seed", "integer"),
    (["optimizer=adam", "optimizer.lr=-1"], "optimizer.lr", "positive"),
    (["optimizer=adam", "optimizer.lr=0"], "optimizer.lr", "positive"),
    (["optimizer=adam", "optimizer.schedule=cosine"], "optimizer.schedule", "exponential"),
    (["optimizer=adam", "optimizer.decay_rate=1.5"], "optimizer.decay_rate", "(0, 1]"),
    (["optimizer=adam", "optimizer.decay_steps=0"], "optimizer.decay_steps", "positive integer"),
    (["optimizer=adam", "+optimizer.momentum=0.9"], "optimizer", "momentum"),
    (["optimizer=adamw", "optimizer.lr=-0.1"], "optimizer.lr", "positive"),
    (["optimizer=lbfgs", "optimizer.history_size=0"], "optimizer.history_size", "positive integer"),
    (["optimizer=lbfgs", "optimizer.line_search=backtracking"], "optimizer.line_search", "strong_wolfe"),
    (["optimizer=lbfgs", "optimizer.lr=-1"], "optimizer.lr", "positive"),
    (["optimizer.switch=[1.5]"], "optimizer.switch", "(0, 1)"),
    (["optimizer.switch=[5000]"], "optimizer.switch", "switch points"),
    (["optimizer.switch=[0.2,0.4]"], "optimizer.switch", "switch point"),
    (["+balancer.weights.bc=-1"], "balancer.weights.bc", "non-negative"),
    (["+balancer.weights.ic=2"], "balancer.weights", "unknown term"),
    (["pde=custom"], "pde._target_", ""),
    (["pde=custom", "pde._target_=no_such_module.Thing"], "pde._target_", "cannot import"),
    (["model._target_=no_such_module.Net"], "model._target_", "cannot import"),
    (["+pde.unknown_arg=1"], "pde", "unknown_arg"),
    (["+model.unknown_arg=1"], "model", "unknown_arg"),
    (["engine._target_=sciml.engines.Nope"], "engine._target_", "cannot import"),
    (["guard.policy=ignore"], "guard.policy", "rollback"),
    (["guard.lr_factor=2.0"], "guard.lr_factor", "(0, 1]"),
    (["guard.max_retries=-1"], "guard.max_retries", "non-negative"),
    (["guard.snapshot_every=0"], "guard.snapshot_every", "positive integer"),
    (["+guard.frequency=3"], "guard", "frequency"),
    (["checkpoint.every=-1"], "checkpoint.every", "non-negative"),
    (["checkpoint.keep=0"], "checkpoint.keep", "positive integer"),
    (["trainer.compile=sometimes"], "trainer.compile", "false, true, auto"),
    (["trainer=sdgd", "trainer.compile=2"], "trainer.compile", "false, true, auto"),
]


@pytest.mark.parametrize("overrides, key, fragment", BAD_VALUES, ids=lambda v: str(v))
def test_bad_value_names_its_key(overrides, key, fragment):
    with pytest.raises((ConfigError, OmegaConfBaseException, HydraException)) as info:
        prepared(overrides)
    message = str(info.value)
    assert "\n" not in message.strip() or isinstance(info.value, (OmegaConfBaseException, HydraException))
    assert message.startswith(key) or key in message, message
    assert fragment in message, message


BAD_GROUPS = [
    (["pde=nonexistent"], ["helmholtz", "poisson"]),
    (["model=nonexistent"], ["mlp"]),
    (["optimizer=sgd9"], ["adam", "lbfgs"]),
    (["engine=nonexistent"], ["exact"]),
    (["balancer=nonexistent"], ["fixed"]),
    (["trainer=nonexistent"], ["pinn"]),
    (["experiment=nonexistent"], ["wang2020_helmholtz"]),
]


@pytest.mark.parametrize("overrides, options", BAD_GROUPS, ids=lambda v: str(v))
def test_unknown_group_option_lists_the_valid_ones(overrides, options):
    with pytest.raises(HydraException) as info:
        prepared(overrides)
    for option in options:
        assert option in str(info.value)


def test_good_config_prepares():
    trainer = prepared(["trainer.steps=5"])
    assert trainer.steps == 5 and [p.name for p in trainer.plan.phases] == ["adam", "lbfgs"]


@pytest.mark.parametrize("dim", [100, 400])
def test_stde_experiment_scales_the_output_with_the_dimension(dim):
    trainer = prepared(["experiment=stde_allen_cahn", f"pde.dim={dim}", "pde.compile=false", "trainer.steps=2"])
    assert trainer.model.output_scale == pytest.approx(dim**0.5)
    assert trainer.problem.coefficients.shape == (dim - 1,)


EXPERIMENTS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_prepares_and_takes_a_step(name):
    """Each shipped experiment composes, validates and trains one step (at a small size where it is large)."""
    small = {"pde.dim=50", "pde.compile=false"} if name.startswith(("stde_", "sdgd_")) else set()
    small = {"sdgd_oscillator": {"pde.dim=5"}, "sdgd_hjb_lin": {"pde.dim=50"}, "nls_lm": {"pde.batch_size.pde=200"},
             "raissi_burgers": {"optimizer.switch=[2]"}}.get(name, small)
    trainer = prepared([f"experiment={name}", "trainer.steps=4", "trainer.eval_every=0", *sorted(small)])
    trainer.train_step()
    assert trainer.step == 1


def test_optimizer_group_on_the_command_line_wins_over_an_experiment():
    """Experiments set only the switch point, so ``optimizer=adam_lm`` really runs Adam then LM."""
    trainer = prepared(["experiment=raissi_burgers", "optimizer=adam_lm", "trainer.steps=4", "optimizer.switch=[2]",
                        "trainer.eval_every=0"])
    assert [p.name for p in trainer.plan.phases] == ["adam", "lm"]


def test_resume_of_a_directory_that_is_not_a_run(tmp_path):
    from sciml.cli.train import run

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"resume={tmp_path}"])
    with pytest.raises(ConfigError, match="not a sciml run directory"):
        run(cfg, tmp_path / "new", {})
