"""A benchmark suite: cases × methods over one recipe, read from ``configs/bench/<name>.yaml``.

A case is a problem (hydra overrides such as ``pde=pinnacle_burgers1d``) with the published values it is
compared with; a method is a list of hydra overrides on top of the recipe and the case. The method ``best``
(``null`` in the file) takes each case's own ``best`` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sciml.cli.train import CONFIG_DIR
from sciml.errors import ConfigError, require

SUITE_DIR = Path(CONFIG_DIR) / "bench"


@dataclass(frozen=True)
class Published:
    """A published value per case: the PINN's, the best one and its method (``None``: not given)."""

    pinn: float | None = None
    best: float | None = None
    best_method: str | None = None
    status: str = ""
    note: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    overrides: list[str]
    best: list[str]
    published: Published


@dataclass(frozen=True)
class Budget:
    """Floors of a scaled run: ``trainer.steps`` and every term's point count."""

    min_steps: int = 20
    min_points: int = 100


@dataclass(frozen=True)
class Suite:
    name: str
    recipe: str
    metric: str
    seeds: list[int]
    budget: Budget
    cases: dict[str, Case]
    methods: dict[str, list[str] | None]

    def overrides(self, case: str, method: str) -> list[str]:
        """The hydra overrides of one (case, method) run: recipe, case, method. A method that names a recipe
        (``recipe=new_problem``) is run from that recipe instead of the suite's."""
        extra = self.methods[method]
        extra = self.cases[case].best if extra is None else extra
        own = [o for o in extra if o.startswith("recipe=")]
        return [own[-1] if own else f"recipe={self.recipe}", *self.cases[case].overrides,
                *(o for o in extra if not o.startswith("recipe="))]

    def select(self, kind: str, names: list[str] | None) -> list[str]:
        """``names`` checked against the suite's cases or methods (``None``: all, in file order)."""
        known = list(self.cases if kind == "cases" else self.methods)
        if names is None:
            return known
        unknown = [n for n in names if n not in known]
        require(not unknown, kind, f"unknown {kind} {unknown}; options: {', '.join(known)}")
        return names


def available() -> list[str]:
    return sorted(p.stem for p in SUITE_DIR.glob("*.yaml"))


def load_suite(name: str) -> Suite:
    """The suite ``configs/bench/<name>.yaml``."""
    path = SUITE_DIR / f"{name}.yaml"
    require(path.is_file(), "suite", f"unknown suite {name!r}; options: {', '.join(available())}")
    raw = yaml.safe_load(path.read_text())
    try:
        cases = {key: Case(key, str(c.get("label", key)), [str(o) for o in c["overrides"]],
                           [str(o) for o in c.get("best") or []], Published(**(c.get("published") or {})))
                 for key, c in raw["cases"].items()}
        methods = {key: None if m is None else [str(o) for o in m] for key, m in raw["methods"].items()}
        return Suite(name, str(raw["recipe"]), str(raw.get("metric", "rel_l2")), [int(s) for s in raw["seeds"]],
                     Budget(**(raw.get("budget") or {})), cases, methods)
    except (KeyError, TypeError) as error:
        raise ConfigError("suite", f"{path}: malformed ({error})") from None
