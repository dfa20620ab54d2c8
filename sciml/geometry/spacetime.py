"""Space-time points from any spatial sampler, passing its per-point data through."""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.geometry.quasi_random import UnitCubePoints


class SpaceTime:
    """Points ``(x, t)``: ``x`` from a spatial sampler (with its data, e.g. normals and part ids, unchanged)
    and ``t`` on ``[t0, t1]``, appended as the last column; ``t_value`` fixes the time instead.

    The times follow ``method``: pseudo-random, or a 1-D quasi-random set (``t0 + (t1 − t0) u``, ``u`` the
    van der Corput points ``φ_2(i)`` for ``halton``, ``j / n`` for ``hammersley``) put in a random order, so
    that space and time are paired at random while each marginal keeps its low discrepancy (the pairing
    PINNacle uses for non-box space-time domains). :meth:`state_dict` holds the time stream's position and
    the spatial sampler's state, when it has one.
    """

    def __init__(self, space, t0: float = 0.0, t1: float = 1.0, t_value: float | None = None,
                 method: str = "pseudo") -> None:
        if not t1 > t0:
            raise ConfigError("time", f"t1 must exceed t0, got ({t0}, {t1})")
        self.space, self.t0, self.t1, self.t_value = space, float(t0), float(t1), t_value
        self.times = UnitCubePoints(1, method)
        self.dim = space.dim + 1

    def sample(self, n: int, generator: torch.Generator,
               dtype: torch.dtype) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        out = self.space.sample(n, generator, dtype)
        x, data = out if isinstance(out, tuple) else (out, None)
        m, device = x.shape[0], generator.device
        if self.t_value is not None:
            t = torch.full((m, 1), float(self.t_value), dtype=dtype, device=device)
        else:
            u = self.times.draw(m, generator, dtype)
            if self.times.method != "pseudo":
                u = u[torch.randperm(m, generator=generator, device=device)]
            t = self.t0 + (self.t1 - self.t0) * u
        xt = torch.cat([x, t], dim=1)
        return xt if data is None else (xt, data)

    def state_dict(self) -> dict:
        state: dict = {"time": self.times.state_dict()}
        if hasattr(self.space, "state_dict"):
            state["space"] = self.space.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.times.load_state_dict(state["time"])
        if "space" in state:
            self.space.load_state_dict(state["space"])
