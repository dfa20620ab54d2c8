"""The balancer protocol: how per-term losses become one parameter gradient.

A balancer is an ``nn.Module`` whose state (weights, moving averages, counters) lives in buffers, so it is
saved with ``state_dict`` and restored exactly. The trainer calls :meth:`Balancer.setup` once with the
term names and the trainable parameters, then :meth:`Balancer.backward` every step; ``backward`` leaves
the combined gradient in ``p.grad`` and returns the weighted total loss (for logging and line searches).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.collective import average


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

    # --- helpers for strategies that look at each term's gradient -------------------------------------
    def term_gradients(self, losses: dict[str, Tensor]) -> list[list[Tensor]]:
        """``∇_θ L_i`` for every term (in ``names`` order), one tensor per parameter (zeros if unused)."""
        return [self.gradient_of(losses[name]) for name in self.names]

    def gradient_of(self, loss: Tensor) -> list[Tensor]:
        """``∇_θ loss`` (zeros for unused parameters), averaged over data-parallel ranks when running
        under torchrun, so per-term statistics and surgery see the gradient of the whole batch."""
        parts = torch.autograd.grad(loss, self.params, retain_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, parts)]
        average(grads)
        return grads

    def flat_gradients(self, losses: dict[str, Tensor]) -> Tensor:
        """The term gradients as the rows of a ``(terms, parameters)`` matrix."""
        return torch.stack([torch.cat([g.reshape(-1) for g in grads]) for grads in self.term_gradients(losses)])

    def assign_weighted(self, grads: list[list[Tensor]]) -> None:
        """``p.grad = Σ_i w_i ∇L_i`` from per-term gradients already at hand (no second backward)."""
        for j, p in enumerate(self.params):
            p.grad = sum(w.to(p.dtype) * g[j] for w, g in zip(self.weights, grads))

    def assign(self, flat: Tensor) -> None:
        """Write a flat gradient vector into ``p.grad`` of the bound parameters."""
        offset = 0
        for p in self.params:
            n = p.numel()
            p.grad = flat[offset:offset + n].view_as(p).to(p.dtype).clone()
            offset += n
