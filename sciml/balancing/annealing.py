"""Shared machinery of the learning-rate-annealing balancers (Wang, Teng & Perdikaris 2020, Sec. 2.5).

Every ``period`` steps the weight of each non-reference term moves towards an estimate ``λ̂_i`` computed
from the per-term gradients: ``λ_i ← (1 − a) λ_i + a λ̂_i``, where ``a`` is the weight given to the new
estimate. The reference term (the PDE residual: ``pde``, or the first term of a problem without one, such
as the characteristic residual ``x`` of the LPINN) keeps its weight. The variants differ only in
``λ̂_i`` (see :mod:`sciml.balancing.lra_paper`, :mod:`~sciml.balancing.lra_code`,
:mod:`~sciml.balancing.lra_pinnacle`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer, pde_terms
from sciml.errors import ConfigError, positive_int


def clamp_tiny(x: Tensor) -> Tensor:
    return x.clamp_min(torch.finfo(x.dtype).tiny)


class Annealing(Balancer):
    """Base of the annealing variants; subclasses implement :meth:`estimate`."""

    def __init__(self, reference: str | None = None, period: int = 10, new_weight: float = 0.1) -> None:
        super().__init__()
        self.reference = reference
        self.period = positive_int(period, "period")
        if not 0 < float(new_weight) <= 1:
            raise ConfigError("new_weight", f"must lie in (0, 1], got {new_weight}")
        self.new_weight = float(new_weight)

    def setup(self, names, params, initial=None, pde=None) -> None:
        if self.reference is None:
            self.reference = pde_terms(list(names), None, pde)[0]
        if self.reference not in names:
            raise ConfigError("reference", f"unknown term {self.reference!r}; terms are {list(names)}")
        super().setup(names, params, initial, pde)

    def estimate(self, grads: list[list[Tensor]]) -> Tensor:
        """``λ̂`` for every term (float64; the reference entry is ignored) from the unweighted gradients."""
        raise NotImplementedError

    def anneal(self, grads: list[list[Tensor]]) -> None:
        """One annealing update of the non-reference weights."""
        estimate = self.estimate(grads).to(self.weights)
        keep = torch.tensor([n == self.reference for n in self.names], device=self.weights.device)
        moved = (1 - self.new_weight) * self.weights + self.new_weight * estimate
        self.weights = torch.where(keep, self.weights, moved)

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        if step % self.period == 0:
            self.anneal(self.term_gradients(losses))
        return self.weights

    def reference_index(self) -> int:
        return self.names.index(self.reference)
