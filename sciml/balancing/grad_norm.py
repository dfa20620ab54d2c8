"""Gradient-norm weighting of jaxpi (Wang, Wang, Perdikaris 2023, "An expert's guide to training PINNs").

``ŵ_i = mean_j ‖∇_θ L_j‖ / ‖∇_θ L_i‖`` (unweighted losses, all parameters), ``w ← 0.9 w + 0.1 ŵ``, every
``period = 1000`` steps; every term, the residual included, is weighted.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer
from sciml.errors import ConfigError, positive_int


class GradNorm(Balancer):
    def __init__(self, period: int = 1000, momentum: float = 0.9) -> None:
        super().__init__()
        self.period = positive_int(period, "period")
        if not 0 <= float(momentum) < 1:
            raise ConfigError("momentum", f"must lie in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def update(self, grads: list[list[Tensor]]) -> None:
        norms = torch.stack([torch.sqrt(sum(g.square().sum() for g in gs)) for gs in grads]).double()
        target = norms.mean() / norms.clamp_min(torch.finfo(norms.dtype).tiny)
        self.weights = self.momentum * self.weights + (1 - self.momentum) * target.to(self.weights)

    def backward(self, losses: dict[str, Tensor], step: int) -> Tensor:
        if step % self.period == 0:
            grads = self.term_gradients(losses)
            self.update(grads)
            self.assign_weighted(grads)
            return self.total(losses).detach()
        total = self.total(losses)
        total.backward()
        return total.detach()
