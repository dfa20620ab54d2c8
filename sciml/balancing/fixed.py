"""Fixed loss weights: ``L = Σ_i w_i L_i`` with constant ``w_i`` (the plain PINN of Raissi et al. 2019).

``others`` gives every non-PDE term (initial, boundary, data) one weight: PINNacle's PINN-w (Hao et al. 2024),
the plain PINN with larger fixed boundary and initial-condition weights (``balancer=pinn_w``).
"""

from __future__ import annotations

from torch import Tensor

from sciml.balancing.base import Balancer, pde_terms
from sciml.errors import ConfigError


class FixedWeights(Balancer):
    """Constant weights: a term's entry in ``weights``, else ``others`` for a non-PDE term when set
    (:func:`~sciml.balancing.base.pde_terms` chooses the PDE terms, or ``pde_terms`` lists them), else the
    problem's default weight (1 unless the problem sets one)."""

    def __init__(self, weights: dict[str, float] | None = None, others: float | None = None,
                 pde_terms: list[str] | None = None) -> None:
        super().__init__()
        self.requested = dict(weights or {})
        for name, w in self.requested.items():
            if float(w) < 0:
                raise ConfigError(f"weights.{name}", f"must be non-negative, got {w}")
        if others is not None and float(others) < 0:
            raise ConfigError("others", f"must be non-negative, got {others}")
        self.others = None if others is None else float(others)
        self.chosen_pde = pde_terms

    def setup(self, names, params, initial=None, pde=None) -> None:
        unknown = set(self.requested) - set(names)
        if unknown:
            raise ConfigError("weights", f"unknown term(s) {sorted(unknown)}; terms are {list(names)}")
        chosen = pde_terms(list(names), self.chosen_pde, pde)
        others = {} if self.others is None else {n: self.others for n in names if n not in chosen}
        super().setup(names, params, {**(initial or {}), **others, **self.requested}, pde)

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        return self.weights
