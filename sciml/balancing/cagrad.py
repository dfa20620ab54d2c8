"""CAGrad, conflict-averse gradient descent (Liu et al., NeurIPS 2021, Eq. 4–5).

With task gradients ``g_i = w_i ∇_θ L_i`` (the loss terms and their fixed weights) and ``g₀ = mean_i g_i``,
find ``w*`` on the simplex minimising ``g_w · g₀ + c ‖g₀‖ ‖g_w‖`` with ``g_w = Σ_i w_i g_i``, then update
along ``d = (g₀ + (c ‖g₀‖ / ‖g_w‖) g_w) / (1 + c²)``; ``c = 0.5``.

The small problem depends on the gradients only through their Gram matrix ``G``:
``F(w) = wᵀ G 1/K + c √(1ᵀ G 1)/K · √(wᵀ G w)``. It is convex and is solved in float64 by projected
gradient descent with a backtracking line search.

``d = Σ_i ((1/K + (c ‖g₀‖ / ‖g_w‖) w_i) / (1 + c²)) g_i`` is a non-negative combination of the task
gradients, so the balancer's decision is the objective weights ``α_i = w_i (1/K + (c ‖g₀‖ / ‖g_w‖) w*_i) /
(1 + c²)`` (see :mod:`sciml.balancing.base`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from sciml.balancing.base import Balancer
from sciml.errors import ConfigError


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto ``{w ≥ 0, Σ w = 1}`` (Held, Wolfe & Crowder 1974; sort-based)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.arange(1, len(v) + 1)
    rho = np.nonzero(u - css / k > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


def cagrad_objective(w: np.ndarray, gram: np.ndarray, c: float) -> float:
    k = len(w)
    g0_norm = np.sqrt(max(gram.sum(), 0.0)) / k
    return float(w @ gram.sum(axis=1) / k + c * g0_norm * np.sqrt(max(w @ gram @ w, 0.0)))


def cagrad_weights(gram: np.ndarray, c: float, iterations: int = 200, tol: float = 1e-12) -> np.ndarray:
    """``argmin_{w ∈ simplex} F(w)`` for the Gram matrix ``gram`` of the task gradients."""
    k = gram.shape[0]
    scale = max(float(np.abs(gram).max()), np.finfo(float).tiny)
    gram = gram / scale  # F scales by a positive constant: same minimiser
    b = gram.sum(axis=1) / k
    rho = c * np.sqrt(max(gram.sum(), 0.0)) / k
    w = np.full(k, 1.0 / k)
    f = cagrad_objective(w, gram, c)
    step = 1.0
    for _ in range(iterations):
        gw_norm = np.sqrt(max(w @ gram @ w, 1e-30))
        grad = b + rho * (gram @ w) / gw_norm
        while True:
            candidate = project_simplex(w - step * grad)
            fc = cagrad_objective(candidate, gram, c)
            if fc <= f - 1e-4 * (grad @ (w - candidate)) or step < 1e-12:
                break
            step *= 0.5
        done = abs(f - fc) <= tol * max(1.0, abs(f))
        w, f = candidate, fc
        step *= 2.0
        if done:
            break
    return w


class CAGrad(Balancer):
    def __init__(self, c: float = 0.5) -> None:
        super().__init__()
        if not float(c) >= 0:
            raise ConfigError("c", f"must be non-negative, got {c}")
        self.c = float(c)
        self.register_buffer("task_weights", torch.ones(0, dtype=torch.float64))

    def setup(self, names, params, initial=None, pde=None) -> None:
        super().setup(names, params, initial, pde)
        self.task_weights = torch.full((len(self.names),), 1.0 / len(self.names), dtype=torch.float64)

    def combination(self, grads: Tensor) -> Tensor:
        """The coefficients ``(1/K + (c ‖g₀‖ / ‖g_w‖) w*_i) / (1 + c²)`` of the CAGrad update in the task
        gradients (rows of ``grads``); float64."""
        gram = (grads @ grads.T).double()
        w = torch.from_numpy(cagrad_weights(gram.cpu().numpy(), self.c)).to(gram.device)
        self.task_weights = w.to(self.task_weights)
        k = grads.shape[0]
        g0_norm = torch.sqrt(gram.sum().clamp_min(0)) / k
        gw_norm = torch.sqrt((w @ gram @ w).clamp_min(0)).clamp_min(torch.finfo(torch.float64).tiny)
        return (1.0 / k + self.c * g0_norm / gw_norm * w) / (1 + self.c**2)

    def direction(self, grads: Tensor) -> Tensor:
        """The CAGrad update from the task gradients (rows of ``grads``)."""
        return self.combination(grads).to(grads) @ grads

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        weights = self.weights.to(self.params[0].device)
        grads = self.flat_gradients(losses) * weights.to(self.params[0].dtype).unsqueeze(1)
        return self.combination(grads) * weights
