"""Activations with closed-form first and second derivatives, for forward Taylor propagation.

Each entry maps a pre-activation ``z`` to ``(σ(z), σ'(z), σ''(z))``, reusing ``σ(z)`` where possible so
that one transcendental evaluation serves all three.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

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
