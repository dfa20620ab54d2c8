"""The balancer protocol: how per-term losses become one parameter gradient.

A balancer is an ``nn.Module`` whose state (weights, moving averages, counters) lives in buffers, so it is
saved with ``state_dict`` and restored exactly. The trainer calls :meth:`Balancer.setup` once with the
term names and the trainable parameters, then :meth:`Balancer.backward` every step; ``backward`` leaves
the combined gradient in ``p.grad`` and returns the weighted total loss (for logging and line searches).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Balancer(nn.Module):
    """Base class. Subclasses implement :meth:`backward`; weights live in the ``weights`` buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.params: list[nn.Parameter] = []
        self.register_buffer("weights", torch.ones(0))

    def setup(self, names: list[str], params: list[nn.Parameter], initial: dict[str, float] | None = None) -> None:
        """Bind to the problem's terms and the model's trainable parameters."""
        self.names = list(names)
        self.params = list(params)
        initial = initial or {}
        self.weights = torch.tensor([float(initial.get(n, 1.0)) for n in names], dtype=torch.float64)

    def weight_dict(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.names, self.weights)}

    def total(self, losses: dict[str, Tensor]) -> Tensor:
        """``Σ_i w_i L_i`` with the current weights."""
        return sum(w.to(losses[n].dtype) * losses[n] for n, w in zip(self.names, self.weights))

    def backward(self, losses: dict[str, Tensor], step: int) -> Tensor:
        raise NotImplementedError
