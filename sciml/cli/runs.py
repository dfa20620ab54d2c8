"""Rebuild a finished run (problem and trained network) from its directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from sciml.cli.build import build, resolve_dtype, user_import_path
from sciml.errors import ConfigError
from sciml.problem import Problem


@dataclass
class LoadedRun:
    directory: Path
    config: DictConfig
    problem: Problem
    model: nn.Module   # the trained network
    net: nn.Module     # the network with the problem's hard constraints applied
    dtype: torch.dtype
    checkpoint: dict


def load_run(run_dir: str | Path, checkpoint: str = "checkpoint.pt", device: str = "cpu") -> LoadedRun:
    """Read ``config.yaml`` and a checkpoint (``weights_only=True``: a checkpoint cannot run code)."""
    directory = Path(run_dir)
    config_path, ckpt_path = directory / "config.yaml", directory / checkpoint
    for path in (config_path, ckpt_path):
        if not path.is_file():
            raise ConfigError("run_dir", f"{path} not found; is {directory} a sciml run directory?")
    user_import_path()
    cfg = OmegaConf.load(config_path)
    dtype = resolve_dtype(str(cfg.dtype))
    problem = build("pde", cfg.pde)
    model = build("model", cfg.model, in_dim=problem.dim, out_dim=len(problem.network_outputs),
                  input_stats=problem.input_stats())
    state = torch.load(ckpt_path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    model = model.to(device=device, dtype=dtype).eval()
    unknowns = nn.ModuleDict(problem.unknowns())
    if len(unknowns):
        unknowns.load_state_dict(state["unknowns"])
        unknowns.to(device=device, dtype=dtype)
    return LoadedRun(directory, cfg, problem, model, problem.solution_net(model), dtype, state)
