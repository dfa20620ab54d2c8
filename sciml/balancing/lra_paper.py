"""Learning-rate annealing as in Algorithm 1 of Wang, Teng & Perdikaris 2020 (arXiv 2001.04536, Eq. 2.15–2.16).

``λ̂_i = max_θ |∇_θ L_r| / mean_θ |∇_θ L_i|`` over all parameters (weights and biases), with ``L_r`` the
PDE residual loss and ``L_i`` unweighted; ``λ_i ← (1 − α) λ_i + α λ̂_i`` with ``α = 0.9``, every step
(``period=10`` gives the every-10-steps reading).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.annealing import Annealing, clamp_tiny


class LRAPaper(Annealing):
    def __init__(self, reference: str | None = None, period: int = 1, alpha: float = 0.9) -> None:
        super().__init__(reference, period, new_weight=alpha)

    def estimate(self, grads: list[list[Tensor]]) -> Tensor:
        flat = [torch.cat([g.reshape(-1) for g in gs]).abs() for gs in grads]
        top = flat[self.reference_index()].max()
        return torch.stack([top / clamp_tiny(f.mean()) for f in flat]).double()
