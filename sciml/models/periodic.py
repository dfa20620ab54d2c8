"""Exactly periodic networks: a Fourier embedding of the periodic inputs in front of an MLP.

A periodic input ``x`` with period ``L`` enters only through ``cos(k ω x)`` and ``sin(k ω x)``,
``ω = 2π/L``, ``k = 1..K`` (Dong & Ni, J. Comput. Phys. 2021; Wang, Sankaran & Perdikaris 2022, Sec. 4),
so the output and all of its derivatives take equal values at ``x`` and ``x + L``: periodic boundary
conditions hold exactly and need no loss term. Other inputs (time) are standardised and passed through.

With ``secular=True`` a periodic input is passed through standardised as well, beside its harmonics: the
network is then periodic only in its bias (low frequencies reach a periodic response through the harmonics),
and can still represent a transient or a slow drift, as a forced system that settles onto a periodic orbit
does (a time-periodic forcing of known period with a non-periodic initial condition).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.models.jets import direction_matrix, propagate
from sciml.models.mlp import MLP


class PeriodicEmbedding(nn.Module):
    """``x ↦ [cos(k ω_i x_i), sin(k ω_i x_i)]_{periodic i, k ≤ K} ++ [(x_j − m_j)/s_j]_{other j}``;
    with ``secular`` the standardised part runs over every input, the periodic ones included."""

    def __init__(self, periods: Sequence[float | None], harmonics: int = 1,
                 input_stats: tuple[Tensor, Tensor] | None = None, secular: bool = False) -> None:
        super().__init__()
        self.harmonics = positive_int(harmonics, "harmonics")
        for i, p in enumerate(periods):
            if p is not None and not float(p) > 0:
                raise ConfigError(f"periods[{i}]", f"must be positive or null, got {p}")
        periodic = [i for i, p in enumerate(periods) if p is not None]
        if not periodic:
            raise ConfigError("periods", "no input is periodic; give a period for at least one input")
        other = [i for i, p in enumerate(periods) if p is None or secular]
        omega = torch.tensor([2 * math.pi / float(periods[i]) for i in periodic], dtype=torch.float64)
        k = torch.arange(1, self.harmonics + 1, dtype=torch.float64)
        self.register_buffer("periodic", torch.tensor(periodic, dtype=torch.long))
        self.register_buffer("other", torch.tensor(other, dtype=torch.long))
        self.register_buffer("frequencies", (omega.unsqueeze(1) * k).reshape(-1))  # (p * K,)
        mean, std = torch.zeros(len(other)), torch.ones(len(other))
        if input_stats is not None and other:
            mean = torch.as_tensor(input_stats[0], dtype=torch.float32)[other]
            std = torch.as_tensor(input_stats[1], dtype=torch.float32)[other]
        self.register_buffer("mean", mean)
        self.register_buffer("scale", 1.0 / std)
        self.out_dim = 2 * len(periodic) * self.harmonics + len(other)

    def forward(self, x: Tensor) -> Tensor:
        phase = x[:, self.periodic].repeat_interleave(self.harmonics, dim=1) * self.frequencies
        rest = (x[:, self.other] - self.mean) * self.scale
        return torch.cat([torch.cos(phase), torch.sin(phase), rest], dim=1)

    def jet(self, x: Tensor, dims: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Features and their first and second derivatives along ``dims`` (``None``: every coordinate;
        coordinates; or the rows ``v`` of a float matrix): ``(n, F)``, ``(n, m, F)``, ``(n, m, F)``. A feature
        ``cos(ω x_i)`` has derivatives ``−ω v_i sin(ω x_i)`` and ``−(ω v_i)² cos(ω x_i)`` (along ``e_k``,
        ``v_i = 1`` if ``k = i`` and ``0`` otherwise); a standardised input ``x_j`` has ``v_j / s_j`` and ``0``."""
        phase = x[:, self.periodic].repeat_interleave(self.harmonics, dim=1) * self.frequencies
        cos, sin = torch.cos(phase).unsqueeze(1), torch.sin(phase).unsqueeze(1)
        owner = self.periodic.repeat_interleave(self.harmonics)
        along = direction_matrix(dims, x.shape[1], x)  # (m, d): components v_i of each direction
        omega = along[:, owner] * self.frequencies  # (m, P·K): derivative of each phase along v
        rest = along[:, self.other] * self.scale  # (m, R)
        n, m = x.shape[0], along.shape[0]
        features = torch.cat([cos[:, 0], sin[:, 0], (x[:, self.other] - self.mean) * self.scale], dim=1)
        d1 = torch.cat([-omega * sin, omega * cos, rest.expand(n, m, -1)], dim=2)
        d2 = torch.cat([-omega.square() * cos, -omega.square() * sin, torch.zeros_like(rest).expand(n, m, -1)],
                       dim=2)
        return features, d1, d2


class PeriodicMLP(nn.Module):
    """:class:`PeriodicEmbedding` followed by an :class:`~sciml.models.MLP` (no further normalisation).

    ``periods`` has one entry per input: the period, or ``None`` for a non-periodic input; ``secular``
    passes the periodic inputs through standardised too (:class:`PeriodicEmbedding`); ``normalize=False``
    passes the others raw (the statistics ignored); ``output_scale`` multiplies the output, as in :class:`MLP`.
    :meth:`taylor` starts the second-order jet at the embedding (:meth:`PeriodicEmbedding.jet`) and
    propagates it through the layers as :meth:`sciml.models.MLP.taylor` does.
    """

    def __init__(self, in_dim: int, out_dim: int, periods: Sequence[float | None], harmonics: int = 1,
                 width: int = 50, depth: int = 4, activation: str = "tanh", init: str = "xavier_normal",
                 input_stats: tuple[Tensor, Tensor] | None = None, secular: bool = False, normalize: bool = True,
                 output_scale: float = 1.0) -> None:
        super().__init__()
        if len(periods) != positive_int(in_dim, "in_dim"):
            raise ConfigError("periods", f"needs one entry per input ({in_dim}), got {list(periods)}")
        self.embedding = PeriodicEmbedding(periods, harmonics, input_stats if normalize else None, secular)
        self.mlp = MLP(self.embedding.out_dim, out_dim, width, depth, activation, init, normalize=False,
                       output_scale=output_scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.embedding(x))

    def taylor(self, x: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives along ``dims`` (contract of :meth:`MLP.taylor`)."""
        h, h1, h2 = self.embedding.jet(x, dims)
        jet = propagate(self.mlp.layers, self.mlp.activation_jets(), h, h1, h2)
        scale = self.mlp.output_scale
        return jet if scale == 1.0 else (jet[0] * scale, jet[1] * scale, jet[2] * scale)
