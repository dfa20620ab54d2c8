"""Neumann and Robin residuals with the outward normals that boundary samplers attach to their points.

For a boundary point with outward unit normal ``n`` (over the spatial variables), the normal derivative is
``∂u/∂n = ∇_x u · n = Σ_i n_i ∂u/∂x_i``. A Neumann condition ``∂u/∂n = g`` has residual ``∂u/∂n − g``; a Robin
condition ``∂u/∂n + α u = g`` has residual ``∂u/∂n + α u − g``. The normal defaults to ``u.data["normal"]``,
which :class:`~sciml.geometry.csg.BoundarySampler` provides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from sciml.fields import Field


def normal_derivative(u: Field, normal: Tensor | None = None) -> Tensor:
    """``∂u/∂n = Σ_i n_i ∂u/∂x_i`` over the field's spatial variables (time excluded), ``(n,)`` for a scalar
    field (``(n, k)`` for all outputs of a multi-output field)."""
    n = u.data["normal"] if normal is None else normal
    spatial = u.spatial_dims
    if n.shape[-1] != len(spatial):
        raise ValueError(f"normal has {n.shape[-1]} components, the field {len(spatial)} spatial variables")
    grad = u.grad[:, spatial]
    return torch.einsum("nd...,nd->n...", grad, n.to(grad.dtype))


def neumann(u: Field, g: Tensor | float = 0.0, normal: Tensor | None = None) -> Tensor:
    """Residual ``∂u/∂n − g`` of the Neumann condition ``∂u/∂n = g``."""
    return normal_derivative(u, normal) - g


def robin(u: Field, alpha: Tensor | float, g: Tensor | float = 0.0, normal: Tensor | None = None) -> Tensor:
    """Residual ``∂u/∂n + α u − g`` of the Robin condition ``∂u/∂n + α u = g``."""
    return normal_derivative(u, normal) + alpha * u.value - g
