"""What a run writes into its directory: metrics rows, the summary and checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch


class RunFiles:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = self.dir / "metrics.jsonl"
        self.metrics_path.write_text("")

    def log(self, row: dict) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def write_summary(self, summary: dict) -> None:
        (self.dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    def save_checkpoint(self, state: dict, name: str = "checkpoint.pt") -> Path:
        """Write atomically: a temporary file, flushed to disk, then renamed over the old one."""
        path = self.dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The metric rows of a run directory."""
    with (Path(run_dir) / "metrics.jsonl").open() as f:
        return [json.loads(line) for line in f if line.strip()]
