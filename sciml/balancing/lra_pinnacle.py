"""Learning-rate annealing as implemented in the PINNacle benchmark (Hao et al. 2023), after Wang et al. 2020.

``λ̂_i = max_θ |∇_θ L_r| / (λ_i · mean_θ |∇_θ L_i|)`` over all parameters, every step,
``λ_i ← 0.9 λ_i + 0.1 λ̂_i``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.annealing import Annealing, clamp_tiny


class LRAPinnacle(Annealing):
    def __init__(self, reference: str | None = None, period: int = 1, new_weight: float = 0.1) -> None:
        super().__init__(reference, period, new_weight)

    def estimate(self, grads: list[list[Tensor]]) -> Tensor:
        flat = [torch.cat([g.reshape(-1) for g in gs]).abs() for gs in grads]
        top = flat[self.reference_index()].max()
        return torch.stack([top / clamp_tiny(w.to(f.dtype) * f.mean()) for w, f in zip(self.weights, flat)]).double()
