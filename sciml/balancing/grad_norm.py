"""Gradient-norm weighting of jaxpi (Wang, Wang, Perdikaris 2023, "An expert's guide to training PINNs").

``ŵ_i = mean_j ‖∇_θ L_j‖ / ‖∇_θ L_i‖`` (unweighted losses, all parameters; the mean over terms whose
gradient does not vanish), ``w ← 0.9 w + 0.1 ŵ``, every
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

    def renormalize(self, grads: list[list[Tensor]]) -> None:
        """One update of every weight. A term whose gradient vanishes to rounding (one its model satisfies
        exactly, such as a hard initial condition or an exactly periodic boundary) carries no scale information
        and keeps its weight."""
        eps = torch.finfo(grads[0][0].dtype).eps
        norms = torch.stack([torch.sqrt(sum(g.square().sum() for g in gs)) for gs in grads]).double()
        norms = norms.to(self.weights.device)
        live = norms > 10 * eps * norms.max()  # above the rounding noise of the working precision
        if not bool(live.any()):
            return
        target = norms[live].mean() / norms.clamp_min(torch.finfo(norms.dtype).tiny)
        moved = self.momentum * self.weights + (1 - self.momentum) * target.to(self.weights)
        self.weights = torch.where(live, moved, self.weights)

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        if step % self.period == 0:
            self.renormalize(self.term_gradients(losses))
        return self.weights
