"""The residual Jacobian ``J = ∂r/∂θ`` that Gauss-Newton type optimizers linearise.

A PINN residual at a collocation point depends on that point only, so the rows of ``J`` are per-point
gradients. :func:`per_point_jacobian` computes them with ``torch.func``: ``jacrev`` of one point's residual,
``vmap``-ed over the points, which costs about one backward pass over the batch. The generic alternative,
one batched backward pass through the whole residual vector per row
(:func:`sciml.optim.gauss_newton.residual_jacobian`), costs ``N`` of them; it remains the fallback for
models or engines that ``vmap`` cannot trace.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap


class _Bound(nn.Module):
    """Runs ``fn`` with ``module`` as a child, so that ``functional_call`` can swap its parameters."""

    def __init__(self, module: nn.Module, fn: Callable[[Tensor, dict[str, Tensor]], Tensor]) -> None:
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, x: Tensor, data: dict[str, Tensor]) -> Tensor:
        return self.fn(x, data)


def per_point_jacobian(module: nn.Module, params: list[Tensor],
                       residual: Callable[[Tensor, dict[str, Tensor]], Tensor],
                       x: Tensor, data: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """``(r, J)`` for the residual of a batch of points, ``residual(x, data) -> (n, ...)``, which must use
    ``module``'s parameters (``params``, all of them parameters of ``module``) and treat points
    independently. Returns ``r`` flattened (point-major) and ``J`` of shape ``(r.numel(), Σ p.numel())``.

    Raises ``KeyError`` when a parameter does not belong to ``module`` and whatever ``vmap`` raises when the
    computation cannot be traced point by point.
    """
    names = {id(p): name for name, p in module.named_parameters()}
    keys = ["module." + names[id(p)] for p in params]
    bound = _Bound(module, residual)

    def one(values: tuple[Tensor, ...], xi: Tensor, di: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        out = functional_call(bound, dict(zip(keys, values)), (xi[None], {k: v[None] for k, v in di.items()}))
        out = out.reshape(-1)
        return out, out

    values = tuple(p.detach() for p in params)
    jac, r = vmap(jacrev(one, has_aux=True), in_dims=(None, 0, 0))(values, x, data)
    rows = r.numel()
    return r.reshape(-1), torch.cat([j.reshape(rows, -1) for j in jac], dim=1)
