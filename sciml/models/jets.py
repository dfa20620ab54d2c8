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

A second-order channel may also carry a linear operator with constant coefficients,
``L h = Σ_i a_i ∂_i h + Σ_j B_j ∂²_j h`` with ``j`` over the jet's first-order directions: ``L`` of a layer
is again linear in ``L z`` and quadratic in the first-order channels,

    L σ(z) = σ'(z) L z + σ''(z) Σ_j B_j (z¹_j)²,   L (W h + b) = W L h,

started at the input from ``L x = a`` (the first-order part) — the forward Laplacian of Li et al. 2023
(``a = 0``, ``B = 1``) generalised. The directions of the first-order part then need no channel of their own:
``u_t − ν u_xx`` costs one channel instead of the two of ``u_t`` and ``u_xx``. ``mix`` is the ``(k, m)``
matrix of the ``B`` of ``k`` such channels.
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


def dense_jet(layer: nn.Linear, act_jet: Jet, h: Tensor, h1: Tensor, h2: Tensor,
              mix: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``σ(layer(h))`` and its first and second-order channels: second derivatives along the first
    ``h2.shape[1]`` directions, or operator channels with the quadratic weights ``mix`` (module docstring)."""
    z = layer(h)
    z1 = h1 @ layer.weight.T
    z2 = h2 @ layer.weight.T
    g, s1, s2 = act_jet(z)
    s1 = s1.unsqueeze(1)
    return g, s1 * z1, s2.unsqueeze(1) * quadratic(z1, z2, mix) + s1 * z2


def quadratic(z1: Tensor, z2: Tensor, mix: Tensor | None) -> Tensor:
    """The second-order channels' quadratic term: ``(z¹_j)²`` of their directions, or ``Σ_j B_kj (z¹_j)²``."""
    if mix is None:
        return leading(z1, z2).square()
    return torch.einsum("km,nmw->nkw", mix, z1.square())


def leading(t1: Tensor, t2: Tensor) -> Tensor:
    """The first-order channels ``t1`` of the directions that have second-order channels ``t2``."""
    return t1 if t1.shape[1] == t2.shape[1] else t1[:, :t2.shape[1]]


def linear_jet(layer: nn.Linear, h: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """An affine output layer: the bias enters the value only."""
    return layer(h), h1 @ layer.weight.T, h2 @ layer.weight.T


def propagate(layers: Sequence[nn.Linear], act_jets: Sequence[Jet], h: Tensor, h1: Tensor,
              h2: Tensor, mix: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Hidden layers ``layers[:-1]``, each with its activation jet ``act_jets[k]``, then the linear output
    layer ``layers[-1]``."""
    for layer, act_jet in zip(layers[:-1], act_jets, strict=True):
        h, h1, h2 = dense_jet(layer, act_jet, h, h1, h2, mix)
    return linear_jet(layers[-1], h, h1, h2)
