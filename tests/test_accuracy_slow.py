"""Accuracy runs (minutes): ``bash scripts/test.sh -m slow``."""

import pytest
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare

pytestmark = pytest.mark.slow


def test_default_config_reaches_its_accuracy(tmp_path):
    """The default run (2-D Poisson, 4×50 tanh, Adam then L-BFGS, 3000 steps) reaches rel. L2 <= 5e-3."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=["trainer.progress=false", "~output"])
    summary = prepare(cfg, tmp_path, {}).fit()
    assert summary["rel_l2"] <= 5e-3
