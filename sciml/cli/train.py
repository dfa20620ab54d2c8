"""``sciml-train``: solve a PDE from a hydra config (``python -m sciml.train`` does the same).

Every part is a config group: ``pde/``, ``model/``, ``trainer/``, ``engine/``, ``balancer/``,
``optimizer/``, ``experiment/``. User errors print one line and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sciml.cli.build import build, model_output_scale, resolve_device, resolve_dtype, user_import_path
from sciml.errors import ConfigError, require
from sciml.train import RunSettings, Trainer
from sciml.train.checkpointing import latest_checkpoint
from sciml.train.distributed import World, init_from_env
from sciml.train.guard import DivergenceError, DivergenceGuard

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def prepare(cfg: DictConfig, run_dir: Path | None, choices: dict[str, str], world: World | None = None) -> Trainer:
    """Build every part from ``cfg`` (validating it) and return the ready trainer."""
    user_import_path()
    require(isinstance(cfg.seed, int), "seed", f"must be an integer, got {cfg.seed!r}")
    device = resolve_device(str(cfg.device))
    dtype = resolve_dtype(str(cfg.dtype))
    torch.manual_seed(cfg.seed)
    problem = build("pde", cfg.pde)
    model = build("model", cfg.model, in_dim=problem.dim, out_dim=len(problem.network_outputs),
                  input_stats=problem.input_stats(), **model_output_scale(cfg.model, problem))
    engine = build("engine", cfg.engine)
    balancer = build("balancer", cfg.balancer)
    optimizer = build("optimizer", cfg.optimizer)
    info = {group: choices.get(group, "custom") for group in ("trainer", "engine", "balancer", "optimizer")}
    info["model"] = choices.get("model", "custom")
    callbacks = [build(f"callbacks.{name}", node) for name, node in (cfg.get("callbacks") or {}).items()]
    checkpoint = cfg.get("checkpoint") or {}
    try:
        guard = DivergenceGuard(**dict(cfg.get("guard") or {}))
    except TypeError as error:
        raise ConfigError("guard", str(error)) from None
    make_trainer = build("trainer", cfg.trainer)
    try:
        settings = RunSettings(run_dir=run_dir, info=info, callbacks=callbacks,
                               checkpoint_every=checkpoint.get("every", 0), checkpoint_keep=checkpoint.get("keep", 3),
                               guard=guard, world=world)
        return make_trainer(problem=problem, model=model, engine=engine, balancer=balancer,
                            optimizer=optimizer, seed=int(cfg.seed), device=device, dtype=dtype, run=settings)
    except TypeError as error:  # an unknown trainer option
        raise ConfigError("trainer", str(error)) from None


def run(cfg: DictConfig, run_dir: Path, choices: dict[str, str]) -> dict:
    """Build every part from ``cfg`` and train (continuing from a checkpoint if ``resume`` is set)."""
    world = init_from_env(resolve_device(str(cfg.device)))
    resume = cfg.get("resume")
    state = None
    if resume:
        run_dir = Path(str(resume))
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError("resume", f"{run_dir} is not a sciml run directory (no config.yaml)")
        path, state = latest_checkpoint(run_dir)
        cfg = OmegaConf.load(run_dir / "config.yaml")
        choices = {**choices, **state.get("info", {})}
        if world.is_main:
            print(f"resuming {run_dir} from {path.name} at step {state['step']}", flush=True)
    elif world.is_main:
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    trainer = prepare(cfg, run_dir, choices, world)
    if state is not None:
        trainer.load_training_state(state)
    if world.is_main:
        print(f"run directory: {run_dir}", flush=True)
    summary = trainer.fit()
    if world.active:  # leave the process group together
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    if world.is_main:
        shown = {k: summary[k] for k in ("rel_l2", "best_rel_l2", "steps_per_s", "wall_s") if k in summary}
        print(f"done: {json.dumps(shown)}\nrun directory: {run_dir}", flush=True)
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    try:
        OmegaConf.resolve(cfg)
        run(cfg, Path(hydra_cfg.runtime.output_dir), dict(hydra_cfg.runtime.choices))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(2)
    except DivergenceError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
