"""Separable (tensor, CP-format) network ``ψ(x) = Σ_{k=1}^{r} Π_{i=1}^{d} φ_{ik}(x_i)`` on a box.

Each coordinate has its own small 1-D MLP ``t ↦ (φ_{i1}(t), …, φ_{ir}(t))`` (all ``d`` of them evaluated
at once with batched products), multiplied by ``(t − lo)(hi − t)`` so that ``ψ = 0`` on the boundary of
``[lo, hi]ᵈ`` (Hu et al. 2023, arXiv 2307.12306, Sec. 5.4). Integrals of products of such functions
factor into 1-D integrals, which is what makes the Rayleigh quotient computable in ``d = 1000``:

    ∫ψ² = Σ_{k,l} Π_i S_i[k,l],     S_i = ∫ φ_i φ_iᵀ,   D_i = ∫ φ_i' φ_i'ᵀ,   X_i = ∫ t² φ_i φ_iᵀ,
    ∫‖∇ψ‖² + ‖x‖²ψ² = Σ_{k,l} Π_i S_i[k,l] · Σ_j (D_j + X_j)[k,l] / S_j[k,l],

each 1-D integral by Gauss-Legendre quadrature. Products over ``d`` factors are taken in log space.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.models.activations import activation as lookup_activation


def gauss_legendre(lo: float, hi: float, points: int = 16, intervals: int = 10) -> tuple[Tensor, Tensor]:
    """Composite Gauss-Legendre rule on ``[lo, hi]``: nodes and weights (float64)."""
    t, w = np.polynomial.legendre.leggauss(points)
    edges = np.linspace(lo, hi, intervals + 1)
    half = (edges[1:] - edges[:-1]) / 2
    mid = (edges[1:] + edges[:-1]) / 2
    nodes = (mid[:, None] + half[:, None] * t[None]).reshape(-1)
    weights = (half[:, None] * w[None]).reshape(-1)
    return torch.from_numpy(nodes), torch.from_numpy(weights)


class SeparableNet(nn.Module):
    """``ψ(x) = Σ_k Π_i (x_i − lo)(hi − x_i) φ_{ik}(x_i)``, one ``depth``-layer tanh MLP per coordinate."""

    def __init__(self, in_dim: int, out_dim: int = 1, rank: int = 2, width: int = 32, depth: int = 2,
                 activation: str = "tanh", lo: float = -5.0, hi: float = 5.0, input_stats=None) -> None:
        super().__init__()
        if out_dim != 1:
            raise ConfigError("out_dim", f"a separable network has one output, got {out_dim}")
        self.dim, self.rank = positive_int(in_dim, "in_dim"), positive_int(rank, "rank")
        width, depth = positive_int(width, "width"), positive_int(depth, "depth")
        self.lo, self.hi = float(lo), float(hi)
        self.act, self.act_jet = lookup_activation(activation)
        d = self.dim
        self.w_in = nn.Parameter(torch.randn(d, width) * math.sqrt(2.0 / (1 + width)))
        self.b_in = nn.Parameter(torch.zeros(d, width))
        self.hidden = nn.ParameterList(nn.Parameter(torch.randn(d, width, width) * math.sqrt(1.0 / width))
                                       for _ in range(depth - 1))
        self.hidden_b = nn.ParameterList(nn.Parameter(torch.zeros(d, width)) for _ in range(depth - 1))
        self.w_out = nn.Parameter(torch.randn(d, rank, width) * math.sqrt(1.0 / width))
        self.b_out = nn.Parameter(torch.ones(d, rank))

    def check_domain(self, problem: str, bounds: list[tuple[float, float]] | None) -> None:
        """Refuse a domain that ``ψ`` cannot represent solutions on, with a :class:`ConfigError`.

        The envelope ``Π_i (x_i − lo)(hi − x_i)`` vanishes on the faces of ``[lo, hi]ᵈ`` and nowhere else,
        so the network suits box domains inside that cube. On another domain (the unit ball, ``ℝᵈ``) it
        neither vanishes on the boundary nor stays bounded: inside the ball it is ``≈ ((hi − lo)/2)^{2d}``
        (``25^d`` for ``[−5, 5]``), which overflows float32 from ``d ≈ 28``, and a face of the cube that
        cuts a box domain forces ``ψ = 0`` inside it.
        """
        cube = f"[{self.lo:g}, {self.hi:g}]^{self.dim}"
        if bounds is None:
            raise ConfigError("model", f"model=separable supports box domains inside {cube} (model.lo, model.hi): "
                                       f"its envelope vanishes on the cube's faces; problem '{problem}' is not "
                                       "a box, use model=mlp")
        outside = [i for i, (a, b) in enumerate(bounds) if a < self.lo or b > self.hi]
        if outside:
            a, b = bounds[outside[0]]
            raise ConfigError("model", f"model=separable vanishes on the faces of {cube}, which cut the box of "
                                       f"problem '{problem}' (input {outside[0]} in [{a:g}, {b:g}]); set "
                                       "model.lo and model.hi to enclose it")

    def _scaled(self, t: Tensor) -> Tensor:
        return (2 * t - (self.lo + self.hi)) / (self.hi - self.lo)

    def factors(self, t: Tensor, dims: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``φ_{ik}(t_q)`` and ``φ_{ik}'(t_q)`` at shared 1-D nodes ``t`` (``(q,)``): ``(d', q, r)`` each."""
        sel = (lambda p: p) if dims is None else (lambda p: p[dims])
        scale = 2 / (self.hi - self.lo)
        s = self._scaled(t)[None, :, None]  # (1, q, 1)
        w = sel(self.w_in)[:, None, :]
        h, a1, _ = self.act_jet(s * w + sel(self.b_in)[:, None, :])
        dh = a1 * w * scale
        for weight, bias in zip(self.hidden, self.hidden_b):
            wt = sel(weight)
            z = torch.einsum("dqw,dvw->dqv", h, wt) + sel(bias)[:, None, :]
            dz = torch.einsum("dqw,dvw->dqv", dh, wt)
            h, a1, _ = self.act_jet(z)
            dh = a1 * dz
        wo = sel(self.w_out)
        phi = torch.einsum("dqw,drw->dqr", h, wo) + sel(self.b_out)[:, None, :]
        dphi = torch.einsum("dqw,drw->dqr", dh, wo)
        env = ((t - self.lo) * (self.hi - t))[None, :, None]
        denv = (self.lo + self.hi - 2 * t)[None, :, None]
        return env * phi, denv * phi + env * dphi

    def forward(self, x: Tensor) -> Tensor:
        """``ψ(x)``, shape ``(n, 1)`` (products over ``d`` factors in log space)."""
        n = x.shape[0]
        phi, _ = self.factors(x.T.reshape(-1))  # every coordinate's network at every coordinate value
        phi = phi.reshape(self.dim, self.dim, n, self.rank)
        own = phi[torch.arange(self.dim), torch.arange(self.dim)]  # (d, n, r): φ_i at x_i
        sign = torch.where(own < 0, -1.0, 1.0).to(x.dtype).prod(0)
        return (sign * own.abs().log().sum(0).exp()).sum(1, keepdim=True)

    def rayleigh_quotient(self, nodes: Tensor, weights: Tensor, potential: Tensor,
                          dims: Tensor | None = None) -> Tensor:
        """``(∫‖∇ψ‖² + V ψ²) / ∫ψ²`` for a separable potential ``V = Σ_i v(x_i)`` (``potential = v(nodes)``).

        With ``dims`` (a subset ``J`` of the coordinates) the sum over ``j`` of the kinetic and potential
        terms is estimated by ``(d/|J|) Σ_{j∈J}`` (SDGD over dimensions); ``∫ψ²`` is always exact.
        """
        phi, dphi = self.factors(nodes)
        gram = torch.einsum("q,dqk,dql->dkl", weights, phi, phi)  # S_i
        logabs, sign = gram.abs().log().sum(0), torch.where(gram < 0, -1.0, 1.0).to(gram.dtype).prod(0)
        product = sign * (logabs - logabs.max()).exp()  # Π_i S_i[k, l] up to a common factor
        if dims is None:
            kinetic = torch.einsum("q,dqk,dql->dkl", weights, dphi, dphi)
            pot = torch.einsum("q,dqk,dql->dkl", weights * potential, phi, phi)
            ratio = ((kinetic + pot) / gram).sum(0)
        else:
            sub = phi[dims], dphi[dims]
            kinetic = torch.einsum("q,dqk,dql->dkl", weights, sub[1], sub[1])
            pot = torch.einsum("q,dqk,dql->dkl", weights * potential, sub[0], sub[0])
            ratio = ((kinetic + pot) / gram[dims]).sum(0) * (self.dim / dims.numel())
        return (product * ratio).sum() / product.sum()


__all__ = ["SeparableNet", "gauss_legendre"]
