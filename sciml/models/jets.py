"""Second-order forward Taylor propagation through dense layers (shared by every model's ``taylor``).

For ``z = W h + b`` followed by ``σ``, with ``h¹``, ``h²`` the first and second directional derivatives of the
layer input along each direction (axis 1), the chain rule gives (Shi et al., NeurIPS 2024, Eq. 7)

    z¹ = W h¹,   z² = W h²,   σ(z)¹ = σ'(z) z¹,   σ(z)² = σ''(z) (z¹)² + σ'(z) z².

A jet starts at the input along directions ``dims``: ``None`` (every coordinate ``e_1 … e_d``), an integer
tensor of coordinates ``i`` (direction ``e_i``), or a float ``(m, d)`` matrix whose rows are arbitrary
directions ``v`` (Hutchinson probes). An affine map ``x ↦ W x`` has the tangent ``W v`` and no second-order
term along every one of them.

The second-order channels may cover only the first ``m₂ ≤ m`` directions (``h²`` of shape ``(n, m₂, ·)``):
then ``σ(z)² = σ''(z) (z¹_{:m₂})² + σ'(z) z²``, and no work is spent on second derivatives nobody asks for
(:class:`sciml.engines.base.JetPlan`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from sciml.models.activations import Jet


def affine_tangent(weight: Tensor, dims: Tensor | None) -> Tensor:
    """Tangents ``W v`` of ``x ↦ W x`` (``weight``: ``(out, d)``) along ``dims``, shape ``(m, out)``: columns
    ``i`` of ``W`` for coordinates (gathered, no ``d``-sized work per direction), ``V Wᵀ`` for directions."""
    if dims is None:
        return weight.T
    if dims.is_floating_point():
        return dims.to(weight.dtype) @ weight.T
    return weight[:, dims].T


def direction_matrix(dims: Tensor | None, d: int, like: Tensor) -> Tensor:
    """The directions ``dims`` as rows of an ``(m, d)`` matrix (one-hot rows for coordinates), in the dtype
    and on the device of ``like``: the components ``v_i`` that scale the derivatives of input ``i``."""
    if dims is None:
        return torch.eye(d, dtype=like.dtype, device=like.device)
    if dims.is_floating_point():
        return dims.to(like.dtype)
    return (dims.unsqueeze(1) == torch.arange(d, device=dims.device)).to(like.dtype)


def dense_jet(layer: nn.Linear, act_jet: Jet, h: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``σ(layer(h))`` and its first and second directional derivatives (second ones along the first
    ``h2.shape[1]`` directions)."""
    z = layer(h)
    z1 = h1 @ layer.weight.T
    z2 = h2 @ layer.weight.T
    g, s1, s2 = act_jet(z)
    s1 = s1.unsqueeze(1)
    return g, s1 * z1, s2.unsqueeze(1) * leading(z1, z2).square() + s1 * z2


def leading(t1: Tensor, t2: Tensor) -> Tensor:
    """The first-order channels ``t1`` of the directions that have second-order channels ``t2``."""
    return t1 if t1.shape[1] == t2.shape[1] else t1[:, :t2.shape[1]]


def linear_jet(layer: nn.Linear, h: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """An affine output layer: the bias enters the value only."""
    return layer(h), h1 @ layer.weight.T, h2 @ layer.weight.T


def propagate(layers: Sequence[nn.Linear], act_jets: Sequence[Jet], h: Tensor, h1: Tensor,
              h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Hidden layers ``layers[:-1]``, each with its activation jet ``act_jets[k]``, then the linear output
    layer ``layers[-1]``."""
    for layer, act_jet in zip(layers[:-1], act_jets, strict=True):
        h, h1, h2 = dense_jet(layer, act_jet, h, h1, h2)
    return linear_jet(layers[-1], h, h1, h2)
