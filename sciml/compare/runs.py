"""Find run directories under sweep directories and label each by the overrides that tell it apart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sciml.io.history import read_metrics


@dataclass
class Run:
    directory: Path
    overrides: list[str]
    summary: dict
    metrics: list[dict]
    label: str = ""
    extra: dict = field(default_factory=dict)


def _overrides(directory: Path) -> list[str]:
    path = directory / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    items = yaml.safe_load(path.read_text()) or []
    return [str(o) for o in items if not str(o).startswith("hydra.")]


def _sort_key(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in path.parts)


def find_runs(roots: list[str | Path]) -> list[Run]:
    """Every directory under ``roots`` (or a root itself) holding ``metrics.jsonl``, labelled."""
    directories: list[Path] = []
    for root in map(Path, roots):
        found = [root] if (root / "metrics.jsonl").is_file() else []
        found += [p.parent for p in root.rglob("metrics.jsonl") if p.parent != root]
        directories += sorted(found, key=_sort_key)
    runs = []
    for d in directories:
        summary_path = d / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        runs.append(Run(d, _overrides(d), summary, read_metrics(d)))
    label_runs(runs)
    return runs


def label_runs(runs: list[Run]) -> None:
    """Label = the overrides not shared by every run (all of them when there is one run)."""
    shared = set.intersection(*(set(r.overrides) for r in runs)) if len(runs) > 1 else set()
    for r in runs:
        r.label = " ".join(o for o in r.overrides if o not in shared) or r.directory.name
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.label] = seen.get(r.label, 0) + 1
    for r in runs:  # identical overrides (e.g. two sweeps repeated): fall back on the directory
        if seen[r.label] > 1:
            r.label = f"{r.label} ({r.directory})"
