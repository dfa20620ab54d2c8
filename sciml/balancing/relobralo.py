"""ReLoBRaLo, relative loss balancing with random lookback (Bischof & Kraus 2021, arXiv 2110.09813, Eq. 10–13).

With ``m`` terms, ``bal(t, t')_i = m · softmax_i(L_i(t) / (T · L_i(t')))``, a Bernoulli lookback
``ρ ~ B(E[ρ])`` and a moving average ``α``:

    λ(t) = α (ρ λ(t−1) + (1 − ρ) bal(t, 0)) + (1 − α) bal(t, t−1).

The first call records ``L(0)``. ``ρ`` is drawn from a generator seeded with ``seed + step``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.balancing.base import Balancer
from sciml.errors import ConfigError


class ReLoBRaLo(Balancer):
    def __init__(self, alpha: float = 0.999, expected_rho: float = 0.999, temperature: float = 0.1,
                 seed: int = 0) -> None:
        super().__init__()
        for key, value in (("alpha", alpha), ("expected_rho", expected_rho)):
            if not 0 <= float(value) <= 1:
                raise ConfigError(key, f"must lie in [0, 1], got {value}")
        if not float(temperature) > 0:
            raise ConfigError("temperature", f"must be positive, got {temperature}")
        self.alpha, self.expected_rho, self.temperature = float(alpha), float(expected_rho), float(temperature)
        self.seed = int(seed)
        self.register_buffer("initial_losses", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("previous_losses", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def setup(self, names, params, initial=None, pde=None) -> None:
        super().setup(names, params, initial, pde)
        self.initial_losses = torch.zeros(len(self.names), dtype=torch.float64)
        self.previous_losses = torch.zeros(len(self.names), dtype=torch.float64)

    def balance(self, current: Tensor, past: Tensor) -> Tensor:
        ratio = current / (self.temperature * past.clamp_min(torch.finfo(past.dtype).tiny))
        return len(current) * torch.softmax(ratio, dim=0)

    def rebalance(self, current: Tensor, step: int) -> None:
        if int(self.calls) == 0:
            self.initial_losses = current.clone()
        else:
            generator = torch.Generator().manual_seed(self.seed + step)
            rho = float(torch.rand((), generator=generator) < self.expected_rho)
            history = rho * self.weights + (1 - rho) * self.balance(current, self.initial_losses)
            self.weights = self.alpha * history + (1 - self.alpha) * self.balance(current, self.previous_losses)
        self.previous_losses = current.clone()
        self.calls += 1

    def update(self, losses: dict[str, Tensor], step: int, first_order: bool) -> Tensor:
        current = torch.stack([losses[n].detach() for n in self.names]).double().to(self.weights.device)
        self.rebalance(current, step)
        return self.weights
