"""A point budget: at most about ``budget`` points drawn per step over a problem's terms.

A problem declares its point counts for the hardware it was written for (PINNacle's HNd: 65,536 points a step,
one step every 5 s on one CPU core with a 5×100 network). Under a wall-time budget, fewer points and more
steps can be worth more: ``trainer.point_budget`` scales every drawing term's count by the same factor
``budget / total`` (rounded down, one point at least), so the problem keeps its proportions between terms.
Terms on fixed points (observations used in full, :class:`~sciml.geometry.FixedPoints`) keep theirs and do
not count; terms that take another term's points (``sampler.source``: Navier-Stokes' shared residuals, gPINN's
derivative terms) follow their source.
"""

from __future__ import annotations

from dataclasses import replace

from sciml.errors import ConfigError
from sciml.geometry import FixedPoints
from sciml.problem import Term


def _draws(term: Term) -> bool:
    return term.source is None and not isinstance(term.sampler, FixedPoints)


def drawn_points(terms: dict[str, Term]) -> int:
    """The points one step draws over ``terms`` (shared and fixed point sets not counted)."""
    return sum(term.batch_size for term in terms.values() if _draws(term))


def within_budget(terms: dict[str, Term], budget: int) -> dict[str, Term]:
    """``terms`` with their counts scaled so that a step draws at most about ``budget`` points (``0``: no
    budget; terms already within it are returned unchanged)."""
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise ConfigError("trainer.point_budget", f"must be a non-negative integer (0: none), got {budget!r}")
    total = drawn_points(terms)
    if budget == 0 or total <= budget:
        return terms
    factor = budget / total
    sizes = {name: max(1, int(term.batch_size * factor)) for name, term in terms.items() if _draws(term)}
    for name, term in terms.items():
        if term.source in sizes:
            sizes[name] = sizes[term.source]
    return {name: replace(term, batch_size=sizes[name]) if name in sizes else term for name, term in terms.items()}
