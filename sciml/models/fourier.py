"""An MLP on random Fourier features (Tancik et al. 2020; Wang, Wang & Perdikaris 2021, arXiv 2012.10047).

The (standardised) input ``x̂`` is embedded as ``γ(x̂) = [cos(2π B x̂), sin(2π B x̂)]`` with a fixed
random matrix ``B`` (``features × in_dim``, entries ``N(0, σ²)``, a buffer), then fed to an MLP.

:meth:`FourierMLP.taylor` starts the jet at the embedding: along ``e_i``, with ``ω = 2π B[:, i]`` (along a
direction ``v``, ``ω = 2π B v``: the phase is linear in ``x̂``),

    γ¹ = ω ⊙ [−sin, cos],   γ² = −ω² ⊙ [cos, sin],

and propagates it through the hidden layers as :meth:`sciml.models.MLP.taylor` does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.models.activations import activation as lookup_activation
from sciml.models.jets import affine_tangent, propagate
from sciml.models.mlp import init_linear


class FourierMLP(nn.Module):
    """``depth`` hidden layers of ``width`` units on ``2 · features`` Fourier features of scale ``sigma``."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 4, features: int = 64,
                 sigma: float = 1.0, activation: str = "tanh", init: str = "xavier_normal",
                 input_stats: tuple[Tensor, Tensor] | None = None, normalize: bool = True,
                 seed: int | None = None) -> None:
        super().__init__()
        self.in_dim, self.out_dim = positive_int(in_dim, "in_dim"), positive_int(out_dim, "out_dim")
        self.width, self.features = positive_int(width, "width"), positive_int(features, "features")
        if not isinstance(depth, int) or depth < 1:
            raise ConfigError("depth", f"must be a positive integer (number of hidden layers), got {depth!r}")
        if not float(sigma) > 0:
            raise ConfigError("sigma", f"must be positive, got {sigma}")
        self.depth, self.sigma = depth, float(sigma)
        self.act, self.act_jet = lookup_activation(activation)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        frequencies = 2 * math.pi * self.sigma * torch.randn(self.features, in_dim, generator=generator)
        self.register_buffer("frequencies", frequencies)  # 2π B
        sizes = [2 * self.features] + [self.width] * depth + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer in self.layers:
            init_linear(layer, init)
        mean, std = torch.zeros(in_dim), torch.ones(in_dim)
        if normalize and input_stats is not None:
            mean, std = (torch.as_tensor(s, dtype=torch.float32).reshape(in_dim) for s in input_stats)
        self.register_buffer("input_mean", mean)
        self.register_buffer("input_scale", 1.0 / std)

    def embed(self, x: Tensor) -> Tensor:
        phase = ((x - self.input_mean) * self.input_scale) @ self.frequencies.T
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.embed(x)
        for layer in self.layers[:-1]:
            h = self.act(layer(h))
        return self.layers[-1](h)

    def taylor(self, x: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives along ``dims`` (same contract as :meth:`MLP.taylor`)."""
        omega = affine_tangent(self.frequencies * self.input_scale, dims).unsqueeze(0)  # (1, m, features)
        phase = ((x - self.input_mean) * self.input_scale) @ self.frequencies.T
        cos, sin = torch.cos(phase).unsqueeze(1), torch.sin(phase).unsqueeze(1)
        h = torch.cat([cos[:, 0], sin[:, 0]], dim=1)
        h1 = torch.cat([-omega * sin, omega * cos], dim=2)
        h2 = torch.cat([-omega.square() * cos, -omega.square() * sin], dim=2)
        return propagate(self.layers, [self.act_jet] * (len(self.layers) - 1), h, h1, h2)

    def extra_repr(self) -> str:
        return f"in={self.in_dim}, out={self.out_dim}, features={self.features}, sigma={self.sigma}, " \
               f"width={self.width}, depth={self.depth}"


__all__ = ["FourierMLP"]
