"""Second-order forward Taylor propagation through dense layers (shared by every model's ``taylor``).

For ``z = W h + b`` followed by ``σ``, with ``h¹``, ``h²`` the first and second directional derivatives of the
layer input along each direction (axis 1), the chain rule gives (Shi et al., NeurIPS 2024, Eq. 7)

    z¹ = W h¹,   z² = W h²,   σ(z)¹ = σ'(z) z¹,   σ(z)² = σ''(z) (z¹)² + σ'(z) z².
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from sciml.models.activations import Jet


def dense_jet(layer: nn.Linear, act_jet: Jet, h: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``σ(layer(h))`` and its first and second directional derivatives."""
    z = layer(h)
    z1 = h1 @ layer.weight.T
    z2 = h2 @ layer.weight.T
    g, s1, s2 = act_jet(z)
    s1 = s1.unsqueeze(1)
    return g, s1 * z1, s2.unsqueeze(1) * z1.square() + s1 * z2


def linear_jet(layer: nn.Linear, h: Tensor, h1: Tensor, h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """An affine output layer: the bias enters the value only."""
    return layer(h), h1 @ layer.weight.T, h2 @ layer.weight.T


def propagate(layers: Sequence[nn.Linear], act_jet: Jet, h: Tensor, h1: Tensor,
              h2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Hidden layers ``layers[:-1]`` with activation, then the linear output layer ``layers[-1]``."""
    for layer in layers[:-1]:
        h, h1, h2 = dense_jet(layer, act_jet, h, h1, h2)
    return linear_jet(layers[-1], h, h1, h2)
