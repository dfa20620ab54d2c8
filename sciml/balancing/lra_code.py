"""Learning-rate annealing as in the public code of Wang, Teng & Perdikaris 2020 (arXiv 2001.04536).

Only the weight matrices count (no biases): the numerator is the largest ``|∂L_r/∂W|`` over all layers; the
denominator is the mean over layers of ``mean |∂(λ_i L_i)/∂W|``, the gradient of the already weighted
loss. Every 10 steps ``λ_i ← 0.9 λ_i + 0.1 λ̂_i``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.annealing import Annealing, clamp_tiny


class LRACode(Annealing):
    def __init__(self, reference: str | None = None, period: int = 10, new_weight: float = 0.1) -> None:
        super().__init__(reference, period, new_weight)

    def estimate(self, grads: list[list[Tensor]]) -> Tensor:
        matrices = [i for i, p in enumerate(self.params) if p.ndim >= 2]
        ref = grads[self.reference_index()]
        top = torch.stack([ref[i].abs().max() for i in matrices]).max()
        out = []
        for w, gs in zip(self.weights, grads):
            mean = torch.stack([gs[i].abs().mean() for i in matrices]).mean() * w.to(top.dtype)
            out.append(top / clamp_tiny(mean))
        return torch.stack(out).double()
