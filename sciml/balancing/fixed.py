"""Fixed loss weights: ``L = Σ_i w_i L_i`` with constant ``w_i`` (the plain PINN of Raissi et al. 2019)."""

from __future__ import annotations

from torch import Tensor

from sciml.balancing.base import Balancer
from sciml.errors import ConfigError


class FixedWeights(Balancer):
    """Constant weights; terms not named in ``weights`` get weight 1 (or the problem's default)."""

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.requested = dict(weights or {})
        for name, w in self.requested.items():
            if float(w) < 0:
                raise ConfigError(f"weights.{name}", f"must be non-negative, got {w}")

    def setup(self, names, params, initial=None) -> None:
        unknown = set(self.requested) - set(names)
        if unknown:
            raise ConfigError("weights", f"unknown term(s) {sorted(unknown)}; terms are {list(names)}")
        super().setup(names, params, {**(initial or {}), **self.requested})

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        return self.weights
