"""Point pairs for periodic boundary conditions in one space dimension plus time."""

from __future__ import annotations

import torch
from torch import Tensor


class PeriodicPairSampler:
    """``n // 2`` random times ``t ∈ [t0, t1]``, returned twice: first at ``x = lo``, then at ``x = hi``.

    A residual compares the first half of the batch with the second (``u(lo, t) = u(hi, t)``).
    """

    dim = 2

    def __init__(self, lo: float, hi: float, t0: float, t1: float) -> None:
        self.lo, self.hi, self.t0, self.t1 = float(lo), float(hi), float(t0), float(t1)

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        m = max(n // 2, 1)
        t = self.t0 + (self.t1 - self.t0) * torch.rand(m, generator=generator, dtype=dtype,
                                                       device=generator.device)
        x = torch.cat([torch.full_like(t, self.lo), torch.full_like(t, self.hi)])
        return torch.stack([x, torch.cat([t, t])], dim=1)
