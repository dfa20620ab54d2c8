"""PCGrad, gradient surgery for multi-task learning (Yu et al., NeurIPS 2020, Algorithm 1).

The tasks are the loss terms, each with its (fixed) weight: ``g_i = w_i ∇_θ L_i``. For each task ``i``, over
the other tasks ``j`` in random order: if ``g_i^PC · g_j < 0`` then ``g_i^PC ← g_i^PC − (g_i^PC · g_j /
‖g_j‖²) g_j``. The update is ``Σ_i g_i^PC``. The order is drawn from a generator seeded with
``seed + step``, so a run is reproducible and a restored run continues identically.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer


def project_conflicts(grads: Tensor, orders: list[list[int]]) -> Tensor:
    """PCGrad projections of the rows of ``grads`` (``(K, P)``); ``orders[i]`` lists the other tasks."""
    out = grads.clone()
    sq_norms = grads.square().sum(dim=1).clamp_min(torch.finfo(grads.dtype).tiny)
    for i, order in enumerate(orders):
        g = out[i]
        for j in order:
            dot = g @ grads[j]
            if dot < 0:
                g = g - (dot / sq_norms[j]) * grads[j]
        out[i] = g
    return out


class PCGrad(Balancer):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = int(seed)

    def orders(self, step: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + step)
        k = len(self.names)
        return [[j for j in torch.randperm(k, generator=generator).tolist() if j != i] for i in range(k)]

    def backward(self, losses: dict[str, Tensor], step: int) -> Tensor:
        grads = self.flat_gradients(losses)
        grads = grads * self.weights.to(grads).unsqueeze(1)
        self.assign(project_conflicts(grads, self.orders(step)).sum(dim=0))
        return self.total(losses).detach()
