"""A finished (or resumed) run evaluated at the user's points.

The run's trainer is rebuilt from its ``config.yaml`` (:func:`sciml.cli.train.prepare`) and loaded from a
checkpoint, and its own ``predict`` gives the values, so predictions are what the run scored: hard
constraints applied, and for ``trainer=lpinn`` the Lagrangian solution mapped back to Eulerian points::

    from sciml.predict import predict_run
    out = predict_run("outputs/2026-11-28/10-00-00", points)   # {"u": array of shape (n,)}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from torch import Tensor

from sciml.errors import ConfigError
from sciml.train import Trainer
from sciml.train.checkpointing import FINAL_NAME, load_checkpoint


@dataclass
class RunPredictor:
    """A run's trainer, rebuilt and loaded; calling it evaluates the trained solution."""

    directory: Path
    trainer: Trainer

    @property
    def variables(self) -> list[str]:
        """The problem's input names (the columns of the points)."""
        return list(self.trainer.problem.variables)

    @property
    def outputs(self) -> list[str]:
        """The problem's output names (the keys of a prediction)."""
        return list(self.trainer.problem.outputs)

    def __call__(self, x: Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """The outputs at points ``x`` ``(n, len(variables))``, one float64 array ``(n,)`` per output name."""
        points = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
        if points.ndim != 2 or points.shape[1] != len(self.variables):
            raise ConfigError("x", f"points must have shape (n, {len(self.variables)}) for the inputs "
                                   f"{self.variables} of run {self.directory}, got {tuple(points.shape)}")
        points = points.to(device=self.trainer.device, dtype=self.trainer.dtype)
        values = self.trainer.predict(points).detach().cpu().to(torch.float64).numpy()
        return {name: values[:, j] for j, name in enumerate(self.outputs)}


def load_predictor(run_dir: str | Path, checkpoint: str = FINAL_NAME, device: str = "cpu") -> RunPredictor:
    """Rebuild the trainer of the run in ``run_dir`` on ``device`` and load ``checkpoint`` (a file inside the
    run directory, loaded with ``weights_only=True``). The global random state is left as it was."""
    from sciml.cli.train import prepare  # noqa: PLC0415 (the config machinery only when a run is loaded)

    directory = Path(run_dir)
    config_path, ckpt_path = directory / "config.yaml", directory / checkpoint
    if not config_path.is_file():
        raise ConfigError("run_dir", f"{config_path} not found; is {directory} a sciml run directory?")
    if not ckpt_path.is_file():
        raise ConfigError("checkpoint", f"{ckpt_path} not found")
    cfg = OmegaConf.load(config_path)
    cfg.device = device
    with torch.random.fork_rng():
        trainer = prepare(cfg, None, {})
        try:
            state = load_checkpoint(ckpt_path)
            state.pop("rng", None)  # a prediction draws nothing, and a generator's state is tied to its device
            trainer.load_training_state(state)
        except ConfigError as error:
            raise ConfigError("checkpoint", error.message) from None
    return RunPredictor(directory, trainer)


def predict_run(run_dir: str | Path, x: Tensor | np.ndarray, checkpoint: str = FINAL_NAME,
                device: str = "cpu") -> dict[str, np.ndarray]:
    """The trained solution of the run in ``run_dir`` at points ``x`` ``(n, d)``: one array ``(n,)`` per
    output name, exactly as the run's trainer evaluates it (see :func:`load_predictor`)."""
    return load_predictor(run_dir, checkpoint, device)(x)
