"""Checkpoints that survive crashes: atomic writes, the last K kept, safe loading, newest-good lookup.

A checkpoint is written to a temporary file, flushed and fsync'ed, then renamed over its final name, so a
process killed mid-write leaves either the old file or the new one, never a torn one. Loading uses
``torch.load(weights_only=True)``: a checkpoint holds tensors and plain containers only and can never run
code; a file that fails to load (truncated, tampered, foreign) is reported and skipped in favour of the
next older one.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path

import torch

from sciml.errors import ConfigError

PERIODIC_DIR = "checkpoints"
FINAL_NAME = "checkpoint.pt"
_PERIODIC = re.compile(r"step_(\d+)\.pt$")


def atomic_save(state: dict, path: Path) -> Path:
    """``torch.save`` to ``path`` through a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint safely; any failure is a :class:`ConfigError` naming the file and the reason."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise ConfigError("resume", f"{path} was refused: it holds more than tensors and plain data "
                                    f"(weights_only load): {str(error).splitlines()[0]}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise ConfigError("resume", f"{path} cannot be read (truncated or corrupt): "
                                    f"{str(error).splitlines()[0]}") from None
    if not isinstance(state, dict) or "step" not in state or "model" not in state:
        raise ConfigError("resume", f"{path} is not a sciml checkpoint")
    return state


class CheckpointManager:
    """Periodic checkpoints ``checkpoints/step_XXXXXXXX.pt`` (the last ``keep``) and the final one."""

    def __init__(self, run_dir: Path | None, every: int = 0, keep: int = 3) -> None:
        if not isinstance(every, int) or every < 0:
            raise ConfigError("checkpoint.every", f"must be a non-negative integer, got {every!r}")
        if not isinstance(keep, int) or keep < 1:
            raise ConfigError("checkpoint.keep", f"must be a positive integer, got {keep!r}")
        self.dir, self.every, self.keep = run_dir, every, keep

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def save_periodic(self, state: dict) -> Path:
        path = atomic_save(state, self.dir / PERIODIC_DIR / f"step_{state['step']:08d}.pt")
        for old in periodic_checkpoints(self.dir)[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def save_final(self, state: dict) -> Path:
        return atomic_save(state, self.dir / FINAL_NAME)


def periodic_checkpoints(run_dir: Path) -> list[Path]:
    """Periodic checkpoint files, oldest first."""
    folder = Path(run_dir) / PERIODIC_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PERIODIC.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict]:
    """The newest checkpoint of ``run_dir`` that loads cleanly (by step; the final one wins ties)."""
    run_dir = Path(run_dir)
    candidates = periodic_checkpoints(run_dir)
    if (run_dir / FINAL_NAME).is_file():
        candidates.append(run_dir / FINAL_NAME)
    loaded = []
    problems = []
    for path in candidates:
        try:
            loaded.append((path, load_checkpoint(path, map_location)))
        except ConfigError as error:
            problems.append(error.message)
            warnings.warn(f"skipping checkpoint: {error.message}", stacklevel=2)
    if not loaded:
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise ConfigError("resume", f"no loadable checkpoint in {run_dir}{detail}")
    return max(loaded, key=lambda item: (item[1]["step"], item[0].name == FINAL_NAME))
