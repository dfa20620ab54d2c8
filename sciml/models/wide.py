"""The first layer of a network on a very wide input (``d`` up to 10⁶), with sparse Taylor tangents.

For a second-order jet along coordinate directions ``e_i`` (Shi et al., NeurIPS 2024, "Stochastic Taylor
Derivative Estimator", Sec. 4: the first layer's tangent along ``e_i`` is column ``i`` of ``W₁``), the only
``d``-wide work of a step is the primal product ``x W₁ᵀ`` and the weight gradient ``g_zᵀ x``. This module
does both with one matrix product each and adds the gradient of the gathered columns with an
``index_add`` — no ``d``-sized zeros, one-hot tensors or per-direction gradients are ever formed.

On CPU, float32 products with a wide inner dimension go to oneDNN (``mkldnn._linear_pointwise``), which is
several times faster than the default BLAS on AMD processors; everything else uses ``torch.nn.functional``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sciml.models.jets import affine_tangent

_WIDE = 4096  # inner dimension from which the oneDNN path is used


def _onednn(x: Tensor) -> bool:
    return (x.device.type == "cpu" and x.dtype == torch.float32 and x.shape[-1] >= _WIDE
            and torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def _onednn_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    # a transposed full tensor is fine as oneDNN's weight (no copy); slices are never passed
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, bias, "none", [], "")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x Wᵀ + b`` (not differentiable on the oneDNN path: use it under ``no_grad`` or in a backward)."""
    return _onednn_linear(x, weight, bias) if _onednn(x) else F.linear(x, weight, bias)


class _InputLayer(torch.autograd.Function):
    """``(z, T) = (x W₁ᵀ + b, W₁[:, dims]ᵀ)``; backward: ``∇W₁ = g_zᵀ x`` then ``index_add`` of ``g_T``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, dims: Tensor) -> tuple[Tensor, Tensor]:
        ctx.save_for_backward(x, weight, dims)
        return linear(x, weight, bias), weight.index_select(1, dims).T.contiguous()

    @staticmethod
    def backward(ctx, grad_z: Tensor, grad_t: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, dims = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_z @ weight
        if ctx.needs_input_grad[1]:
            gz_t = grad_z.T.contiguous()
            # the product is wide in its output (d columns), not in its inner dimension (the batch)
            grad_w = _onednn_linear(gz_t, x.T) if _onednn(x) else gz_t @ x
            grad_w.index_add_(1, dims, grad_t.T.to(grad_w.dtype))
        if ctx.needs_input_grad[2]:
            grad_b = grad_z.sum(0)
        return grad_x, grad_w, grad_b, None


def input_layer_jet(x: Tensor, weight: Tensor, bias: Tensor, scale: Tensor | None,
                    dims: Tensor | None) -> tuple[Tensor, Tensor]:
    """Pre-activation ``z = x W₁ᵀ + b`` and the first-layer tangents, shape ``(m, width)``.

    ``dims``: ``None`` (every coordinate), an integer tensor of coordinates (tangent = gathered columns of
    ``W₁``), or a float ``(m, d)`` matrix of directions (tangent = ``V W₁ᵀ``). ``scale`` is the input
    scaling ``1/std`` (``None`` when the inputs are not scaled).
    """
    if dims is not None and not dims.is_floating_point() and not x.requires_grad and torch.is_grad_enabled():
        z, tangent = _InputLayer.apply(x, weight, bias, dims)
        return z, tangent if scale is None else tangent * scale[dims].unsqueeze(1)
    z = F.linear(x, weight, bias) if torch.is_grad_enabled() else linear(x, weight, bias)
    return z, affine_tangent(weight if scale is None else weight * scale, dims)


__all__ = ["input_layer_jet", "linear"]
