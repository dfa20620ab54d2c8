"""Activations with closed-form first and second derivatives, for forward Taylor propagation.

Each entry maps a pre-activation ``z`` to ``(σ(z), σ'(z), σ''(z))``, reusing ``σ(z)`` where possible so
that one transcendental evaluation serves all three. :func:`adaptive_slopes` and :func:`sloped_jet` add the
trainable slopes of adaptive activations ``σ(n a ⊙ z)`` (LAAF / GAAF, Jagtap et al. 2020).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError

Jet = Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]


def _tanh(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    h = torch.tanh(z)
    d1 = 1 - h * h
    return h, d1, -2 * h * d1


def _sin(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sin(z)
    return s, torch.cos(z), -s


def _sigmoid(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(z)
    d1 = s * (1 - s)
    return s, d1, d1 * (1 - 2 * s)


def _silu(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(z)
    ds = s * (1 - s)
    return z * s, s + z * ds, ds * (2 + z * (1 - 2 * s))


def _softplus(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = torch.sigmoid(z)
    return torch.nn.functional.softplus(z), s, s * (1 - s)


ACTIVATIONS: dict[str, Jet] = {
    "tanh": _tanh,
    "sin": _sin,
    "sigmoid": _sigmoid,
    "silu": _silu,
    "softplus": _softplus,
}

_PLAIN: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sin": torch.sin,
    "sigmoid": torch.sigmoid,
    "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
}


def activation(name: str) -> tuple[Callable[[Tensor], Tensor], Jet]:
    """The plain function and the derivative jet of activation ``name``."""
    if name not in ACTIVATIONS:
        raise ConfigError("activation", f"unknown activation {name!r}; options: {', '.join(ACTIVATIONS)}")
    return _PLAIN[name], ACTIVATIONS[name]


ADAPTIVE = ("none", "laaf", "gaaf")


def adaptive_slopes(kind: str, layers: int, width: int, scale: float) -> nn.ParameterList | None:
    """The trainable slopes ``a_k`` of ``layers`` hidden layers of ``width`` units, or ``None`` for ``none``.

    Hidden layer ``k`` computes ``σ(n a_k ⊙ z_k)`` with the fixed scale factor ``n = scale``. ``laaf`` learns
    one slope per neuron (``a_k ∈ ℝ^width``, the neuron-wise locally adaptive activation of Jagtap,
    Kawaguchi & Karniadakis, Proc. R. Soc. A 476 (2020)); ``gaaf`` one slope per layer (``a_k ∈ ℝ¹``, the
    single trainable slope of Jagtap, Kawaguchi & Karniadakis, J. Comput. Phys. 404 (2020), taken per layer
    as PINNacle does). Every slope starts at ``a = 1/n``, so ``n a = 1`` and the network starts as the plain
    one with the same weights (the papers' recommended start; PINNacle draws the slopes Xavier-uniform).
    ``1/n`` is rounded in float32, where ``n a`` is exactly 1 for ``n = 10``; a model moved to float64
    afterwards starts at ``n a = 1 + 1.5e-8``.
    """
    if kind not in ADAPTIVE:
        raise ConfigError("adaptive", f"unknown adaptive activation {kind!r}; options: {', '.join(ADAPTIVE)}")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise ConfigError("slope_scale", f"must be a positive number, got {scale!r}")
    if kind == "none":
        return None
    size = width if kind == "laaf" else 1
    return nn.ParameterList(nn.Parameter(torch.full((size,), 1.0 / scale)) for _ in range(layers))


def sloped_jet(act_jet: Jet, slope: Tensor) -> Jet:
    """The jet of ``z ↦ σ(c ⊙ z)`` for a slope ``c`` (broadcast over the neurons): the slope scales the
    pre-activation before ``σ``, so by the chain rule ``(σ(cz), c σ'(cz), c² σ''(cz))``."""

    def jet(z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        g, d1, d2 = act_jet(slope * z)
        return g, slope * d1, slope.square() * d2

    return jet
