"""Hutchinson trace estimation of the Laplacian (HTE).

Hu, Shi, Karniadakis & Kawaguchi 2023, "Hutchinson trace estimation for high-dimensional and high-order
physics-informed neural networks" (arXiv 2312.14499), Eq. (5): for probes ``v`` with ``E[v vᵀ] = I``,

    Δu = tr(∇²u) = E[vᵀ ∇²u v] ≈ (1/V) Σ_{k=1}^{V} v_kᵀ ∇²u v_k,

with Rademacher (``±1``) or standard Gaussian probes supported on the spatial coordinates, drawn fresh
for every field and shared by its points. ``vᵀ∇²u v`` is the second directional derivative along ``v``: a
forward Taylor jet along ``v`` (first-layer tangent ``W₁ v``; every model's ``taylor`` takes a float matrix of
directions) for models with a ``taylor`` method, a Hessian-vector product by nested reverse mode otherwise
(:func:`~sciml.engines.base.autograd_jet`). The Hessian diagonal and the other derivatives
are exact (inherited from :class:`~sciml.engines.sdgd.SDGDEngine` and :class:`~sciml.engines.Engine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from sciml.engines.base import Engine
from sciml.engines.sdgd import SDGDEngine
from sciml.errors import ConfigError, positive_int

if TYPE_CHECKING:
    from sciml.fields import Field

PROBES = ("rademacher", "gaussian")


class HutchinsonEngine(SDGDEngine):
    """``u.laplacian`` by Hutchinson's estimator with ``num_probes`` probes (``engine=hutchinson``)."""

    name = "hutchinson"
    default_jets = "taylor"

    def __init__(self, num_probes: int = 16, probe: str = "rademacher", unbiased: bool = False) -> None:
        if probe not in PROBES:
            raise ConfigError("probe", f"unknown probe {probe!r}; options: {', '.join(PROBES)}")
        super().__init__(num_dims=positive_int(num_probes, "num_probes"), unbiased=unbiased)
        self.probe = probe

    def probes(self, u: Field) -> Tensor:
        """``(V, dim)`` probes, zero on the non-spatial variables."""
        generator = self._generator(u.x)
        shape = (self.num_dims, len(u.spatial_dims))
        if self.probe == "gaussian":
            v = torch.randn(shape, generator=generator, device=u.x.device, dtype=u.x.dtype)
        else:
            v = torch.randint(0, 2, shape, generator=generator, device=u.x.device).to(u.x.dtype) * 2 - 1
        full = v.new_zeros(self.num_dims, u.dim)
        full[:, u.spatial_dims] = v
        return full

    def laplacian(self, u: Field) -> Tensor:
        probes = [self.probes(u) for _ in range(2 if self.unbiased else 1)]
        y, _, d2 = self.jet(u, torch.cat(probes))
        u.cache.setdefault("value", y)
        estimates = [part.mean(1) for part in d2.split(self.num_dims, dim=1)]
        if self.unbiased:
            u.cache["laplacian~"] = estimates[1]
        return estimates[0]

    def hessian_diag(self, u: Field) -> Tensor:
        return Engine.hessian_diag(self, u)


__all__ = ["HutchinsonEngine"]
