"""PCGrad, gradient surgery for multi-task learning (Yu et al., NeurIPS 2020, Algorithm 1).

The tasks are the loss terms, each with its (fixed) weight: ``g_i = w_i ∇_θ L_i``. For each task ``i``, over
the other tasks ``j`` in random order: if ``g_i^PC · g_j < 0`` then ``g_i^PC ← g_i^PC − (g_i^PC · g_j /
‖g_j‖²) g_j``. The update is ``Σ_i g_i^PC``. Every projection adds a non-negative multiple of a task
gradient, so ``Σ_i g_i^PC = Σ_j c_j g_j`` with ``c_j ≥ 1``: the balancer's decision is the objective weights
``α_j = c_j w_j`` (``∇ Σ α_j L_j`` is the PCGrad update; see :mod:`sciml.balancing.base`). The order is drawn
from a generator seeded with ``seed + step``, so a run is reproducible and a restored run continues
identically.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer


def projection_coefficients(grads: Tensor, orders: list[list[int]]) -> Tensor:
    """``C`` (``(K, K)``) with ``C @ grads`` the PCGrad projections of the rows of ``grads`` (``(K, P)``);
    ``orders[i]`` lists the other tasks in the order task ``i`` is projected on them."""
    k = grads.shape[0]
    gram = grads @ grads.T
    sq_norms = gram.diagonal().clamp_min(torch.finfo(grads.dtype).tiny)
    coefficients = torch.eye(k, dtype=grads.dtype, device=grads.device)
    for i, order in enumerate(orders):
        row = coefficients[i]
        for j in order:
            dot = row @ gram[:, j]  # (Σ_m C_im g_m) · g_j
            if dot < 0:
                row = row.clone()
                row[j] -= dot / sq_norms[j]
        coefficients[i] = row
    return coefficients


def project_conflicts(grads: Tensor, orders: list[list[int]]) -> Tensor:
    """PCGrad projections of the rows of ``grads`` (``(K, P)``); ``orders[i]`` lists the other tasks."""
    return projection_coefficients(grads, orders) @ grads


class PCGrad(Balancer):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = int(seed)

    def orders(self, step: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + step)
        k = len(self.names)
        return [[j for j in torch.randperm(k, generator=generator).tolist() if j != i] for i in range(k)]

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        weights = self.weights.to(self.params[0].device)
        grads = self.flat_gradients(losses) * weights.to(self.params[0].dtype).unsqueeze(1)
        combination = projection_coefficients(grads.double(), self.orders(step)).sum(dim=0)
        return combination * weights
