"""Stochastic dimension gradient descent (SDGD): the Laplacian from a random subset of dimensions.

Hu, Shukla, Karniadakis & Kawaguchi 2023, "Tackling the curse of dimensionality with physics-informed
neural networks" (arXiv 2307.12306), Eq. (6): with ``J`` a uniform random subset of ``|J|`` of the ``D``
spatial dimensions, drawn fresh at every step,

    Δu ≈ (D/|J|) Σ_{i∈J} ∂²u/∂x_i²,

an unbiased estimate of the Laplacian (and, entry by entry, of the Hessian diagonal). Variants of the
paper implemented here:

- ``unbiased=True`` (Sec. 3.3, the unbiased gradient): two *independent* subsets ``J₁, J₂`` give two
  estimates ``r₁, r₂`` of every residual; the loss ``mean(2 r₁ r₂ − sg(r₁) sg(r₂))`` with the first factor
  detached (``sg``) has the value ``mean(r₁ r₂)`` and the gradient ``2 mean(r₁ ∇r₂)``, both unbiased
  (the plain estimator's ``∇ mean(r²)`` is biased because ``r`` and ``∇r`` share one subset). The
  trainer asks :meth:`SDGDEngine.independent` for the second field (``sciml/train/sdgd.py``).
- ``chunk_dims=c`` (Sec. 3.2, gradient accumulation over dimension chunks): the second derivatives are
  summed over chunks of ``c`` dimensions, each chunk recomputed in the backward pass (activation
  checkpointing), so the memory of the graph is that of one chunk whatever ``|J|``; as the residual is
  linear in the Laplacian this is exactly the paper's accumulation of per-chunk gradients.

Second derivatives along the sampled coordinates come from nested reverse mode (``jets="autograd"``,
as in the paper's implementation) or from sparse forward Taylor jets (``jets="taylor"``, the
:class:`~sciml.engines.taylor.TaylorEngine`). First derivatives (``u.grad``, ``u.d("t")``) are exact, by
one reverse pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from sciml.engines.base import Engine, autograd_jet, coordinate_jet
from sciml.errors import ConfigError, positive_int

if TYPE_CHECKING:
    from sciml.fields import Field
    from sciml.problem import Problem

JETS = ("autograd", "taylor")
STOCHASTIC = ("laplacian", "hessian_diag")


def sample_subset(n: int, k: int, generator: torch.Generator) -> Tensor:
    """``k`` distinct integers of ``range(n)``, uniform over the ``k``-subsets, without an ``n``-sized
    permutation when ``k² <= n``.

    ``k`` i.i.d. draws conditioned on being distinct are uniform over ordered ``k``-tuples of distinct
    values (rejection sampling; acceptance probability ``>= 1/2`` when ``k² <= n``).
    """
    device = generator.device
    if k >= n:
        return torch.arange(n, device=device)
    if k * k > n:
        return torch.randperm(n, generator=generator, device=device)[:k]
    while True:
        draw = torch.randint(n, (k,), generator=generator, device=device)
        if torch.unique(draw).numel() == k:
            return draw


class SDGDEngine(Engine):
    """Dimension-sampling estimates of ``u.laplacian`` and ``u.hessian_diag`` (see module doc).

    Args:
        num_dims: ``|J|``, dimensions sampled per field (all of them when ``>= D``: then exact).
        unbiased: draw a second independent subset for the unbiased-gradient loss.
        chunk_dims: accumulate over chunks of this many dimensions (``0``: one chunk).
        jets: ``autograd`` (nested reverse mode, any module) or ``taylor`` (the model's sparse Taylor jets).
    """

    name = "sdgd"
    default_jets = "autograd"
    plans_jets = False  # directions are drawn per evaluation

    def __init__(self, num_dims: int = 16, unbiased: bool = False, chunk_dims: int = 0,
                 jets: str | None = None) -> None:
        self.num_dims = positive_int(num_dims, "num_dims")
        if not isinstance(chunk_dims, int) or chunk_dims < 0:
            raise ConfigError("chunk_dims", f"must be a non-negative integer, got {chunk_dims!r}")
        jets = jets or self.default_jets
        if jets not in JETS:
            raise ConfigError("jets", f"unknown value {jets!r}; options: {', '.join(JETS)}")
        self.unbiased, self.chunk_dims, self.jets = bool(unbiased), chunk_dims, jets
        self.generator: torch.Generator | None = None

    def setup(self, problem: Problem | None, generator: torch.Generator) -> None:
        """Draw from ``generator`` (the trainer's), so that a seed fixes every subset."""
        self.generator = generator

    def _generator(self, x: Tensor) -> torch.Generator:
        if self.generator is None or self.generator.device != x.device:
            self.generator = torch.Generator(x.device).manual_seed(0)
        return self.generator

    # --- exact first derivatives -----------------------------------------------------------------------
    def gradient(self, u: Field) -> Tensor:
        """``∇u`` by one reverse pass per output (exact), shape ``(n, dim, k)``."""
        xg = u.x.detach().requires_grad_(True)
        y = u.model(xg)
        u.cache.setdefault("value", y)
        grads = [torch.autograd.grad(y[:, k].sum(), xg, create_graph=True)[0] for k in range(y.shape[1])]
        return torch.stack(grads, dim=-1)

    def first(self, u: Field, i: int) -> Tensor:
        if "grad" not in u.cache:
            u.cache["grad"] = self.gradient(u)
        return u.cache["grad"][:, i]

    def second(self, u: Field, i: int) -> Tensor:
        return self.jet(u, torch.tensor([i], device=u.x.device))[2][:, 0]

    # --- second derivatives along sampled coordinates ---------------------------------------------------
    def jet(self, u: Field, dims: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Value, first and second derivatives along the coordinates ``dims`` (or the rows of a float matrix of
        directions): ``(n, k), (n, m, k) x 2``."""
        if self.jets == "taylor":
            return coordinate_jet(u.model, u.x, dims)
        return autograd_jet(u.model, u.x, dims)

    def _sums(self, u: Field, dims: Tensor, groups: int = 1) -> tuple[Tensor, Tensor]:
        """The value and ``Σ_{i∈g} ∂²u/∂x_i²`` over each of ``groups`` equal consecutive parts ``g`` of
        ``dims``, ``(n, groups, k)``. With Taylor jets through a model that carries operator channels each sum
        is one channel of the jet (the forward Laplacian, ``sciml/models/jets.py``): ``|J| + groups``
        channels besides the value instead of ``2|J|``; otherwise the per-direction jet, summed."""
        m = dims.numel() // groups
        if self.jets == "taylor" and getattr(u.model, "operator_channels", False):
            mix = torch.block_diag(*[torch.ones(1, m, dtype=u.x.dtype, device=u.x.device)] * groups)
            y, _, sums = coordinate_jet(u.model, u.x, dims, operators=(None, mix))
            return y, sums
        y, _, d2 = self.jet(u, dims)
        return y, torch.stack([part.sum(1) for part in d2.split(m, dim=1)], dim=1)

    def _second_sum(self, u: Field, dims: Tensor) -> Tensor:
        """``Σ_{i∈dims} ∂²u/∂x_i²``, shape ``(n, k)``; chunked and recomputed in backward if asked."""
        if not self.chunk_dims or dims.numel() <= self.chunk_dims:
            y, sums = self._sums(u, dims)
            u.cache.setdefault("value", y)
            return sums[:, 0]
        parts = [checkpoint(lambda c: self._sums(u, c)[1][:, 0], chunk, use_reentrant=False)
                 for chunk in dims.split(self.chunk_dims)]
        return torch.stack(parts).sum(0)

    def draw(self, u: Field) -> tuple[Tensor, Tensor]:
        """Positions ``p`` in the spatial dimensions and the matching variable indices."""
        spatial = u.spatial_dims
        positions = sample_subset(len(spatial), min(self.num_dims, len(spatial)), self._generator(u.x))
        if spatial[0] == 0 and spatial[-1] == len(spatial) - 1:  # sorted and distinct: 0 … D−1 (O(1) check)
            return positions, positions
        return positions, torch.as_tensor(spatial, device=u.x.device)[positions]

    def _estimates(self, u: Field, diagonal: bool) -> Tensor:
        """Estimate of the Laplacian (or Hessian diagonal); with ``unbiased`` the independent second one
        is kept in the cache for :meth:`independent`."""
        key = "hessian_diag" if diagonal else "laplacian"
        draws = [self.draw(u) for _ in range(2 if self.unbiased else 1)]
        scale = len(u.spatial_dims) / draws[0][0].numel()
        out = []
        if diagonal:
            dims = torch.cat([d for _, d in draws])
            y, _, d2 = self.jet(u, dims)
            u.cache.setdefault("value", y)
            for (positions, _), part in zip(draws, d2.split(draws[0][0].numel(), dim=1)):
                full = part.new_zeros(u.n, len(u.spatial_dims), part.shape[-1])
                out.append(full.index_add(1, positions, part * scale))
        elif self.chunk_dims or not self.unbiased:
            out = [self._second_sum(u, d) * scale for _, d in draws]
        else:  # both subsets in one jet
            y, sums = self._sums(u, torch.cat([d for _, d in draws]), groups=len(draws))
            u.cache.setdefault("value", y)
            out = [part * scale for part in sums.unbind(1)]
        if self.unbiased:
            u.cache[f"{key}~"] = out[1]
        return out[0]

    def laplacian(self, u: Field) -> Tensor:
        return self._estimates(u, diagonal=False)

    def hessian_diag(self, u: Field) -> Tensor:
        """Unbiased estimate of every diagonal entry: ``D/|J| ∂²u/∂x_i²`` on ``J``, zero elsewhere."""
        return self._estimates(u, diagonal=True)

    # --- the unbiased-gradient variant -------------------------------------------------------------------
    def independent(self, u: Field) -> Field | None:
        """``u`` with every stochastic quantity replaced by its independent estimate (``None`` when the
        field used none, or the engine is not ``unbiased``)."""
        swapped = {key: u.cache[f"{key}~"] for key in STOCHASTIC if f"{key}~" in u.cache}
        if not swapped:
            return None
        other = object.__new__(type(u))
        other.__dict__.update(u.__dict__)
        other.cache = type(u.cache)(u.cache)
        other.cache.update(swapped)
        return other


__all__ = ["SDGDEngine", "sample_subset"]
