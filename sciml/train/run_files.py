"""What a run writes into its directory: metric rows and the summary (checkpoints: checkpointing.py)."""

from __future__ import annotations

import json
from pathlib import Path

from sciml.io.history import read_metrics


class RunFiles:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = self.dir / "metrics.jsonl"

    def truncate_after(self, step: int) -> None:
        """Keep only metric rows up to ``step``: none for a new run; a resumed run continues from its
        checkpoint and drops what was logged after it."""
        rows = read_metrics(self.dir) if step > 0 and self.metrics_path.exists() else []
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["step"] <= step))

    def log(self, row: dict) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def write_summary(self, summary: dict) -> None:
        (self.dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
