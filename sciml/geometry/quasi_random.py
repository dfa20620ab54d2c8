"""Quasi-random point sets in the unit cube (Halton, Hammersley) and a checkpointable source of unit-cube points.

The radical inverse in base ``b`` reflects the base-``b`` digits of an index about the radix point: for
``i = Σ_k d_k b^k`` (``0 <= d_k < b``), ``φ_b(i) = Σ_k d_k b^{-k-1}``. With ``p_1 = 2, p_2 = 3, …`` the primes,

- the Halton sequence in ``[0, 1)^s`` is ``x_i = (φ_{p_1}(i), …, φ_{p_s}(i))``, ``i = 1, 2, …`` (``i = 0``, the
  origin, is skipped); every prefix has star discrepancy ``O((log N)^s / N)`` and the sequence is extensible:
  drawing ``N`` more points continues it;
- the Hammersley set of ``N`` points is ``x_j = (j / N, φ_{p_1}(j), …, φ_{p_{s-1}}(j))``, ``j = 0, …, N − 1``,
  with star discrepancy ``O((log N)^{s-1} / N)``; it is a finite set, redrawn whole for another ``N``. Later
  sets of a stream use the indices ``start + j`` and shift the first coordinate within its cell (below).

By the Koksma-Hlawka inequality the error of the equal-weight quadrature ``(1/N) Σ f(x_j)`` is at most the
Hardy-Krause variation of ``f`` times the star discrepancy, against ``O(N^{-1/2})`` for pseudo-random points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from sciml.errors import ConfigError

METHODS = ("pseudo", "halton", "hammersley")


def check_method(method: str) -> str:
    """``method`` if it names a point law of :data:`METHODS`, else a :class:`ConfigError`."""
    if method not in METHODS:
        raise ConfigError("method", f"unknown value {method!r}; options: {', '.join(METHODS)}")
    return method


def primes(count: int) -> list[int]:
    """The first ``count`` primes, by trial division against the primes found so far."""
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found


def radical_inverse(index: Tensor, base: int) -> Tensor:
    """``φ_b(i) = Σ_k d_k b^{-k-1}`` for integer indices ``i = Σ_k d_k b^k``, in float64."""
    i = index.to(torch.int64).clone()
    out = torch.zeros(i.shape, dtype=torch.float64, device=i.device)
    scale = 1.0 / base
    while bool((i > 0).any()):
        out += scale * (i % base).to(torch.float64)
        i = torch.div(i, base, rounding_mode="floor")
        scale /= base
    return out


def halton(n: int, dim: int, start: int = 1, device: torch.device | str | None = None) -> Tensor:
    """Points ``start, …, start + n − 1`` of the Halton sequence in ``[0, 1)^dim``, ``(n, dim)`` float64."""
    index = torch.arange(start, start + n, device=device)
    cols = [radical_inverse(index, p) for p in primes(dim)]
    return torch.stack(cols, dim=1) if cols else torch.zeros(n, 0, dtype=torch.float64, device=device)


def hammersley(n: int, dim: int, start: int = 0, device: torch.device | str | None = None) -> Tensor:
    """The ``n``-point Hammersley set in ``[0, 1)^dim``, ``(n, dim)`` float64.

    The first coordinate is ``(j + σ) / n`` with the shift ``σ = φ_2(⌊start / n⌋)``; the others are radical
    inverses of ``start + j`` in the first ``dim − 1`` primes. ``start = 0`` gives the classical set
    (``σ = 0``); the sets at ``start = n, 2n, 3n, …`` shift the first coordinate by ``1/2, 1/4, 3/4, …`` of a
    cell, so that successive sets differ even in one dimension, where the set is the grid ``j / n``.
    """
    if dim == 0 or n == 0:
        return torch.zeros(n, dim, dtype=torch.float64, device=device)
    j = torch.arange(n, device=device)
    shift = float(radical_inverse(torch.tensor(start // n), 2))
    first = (j.to(torch.float64) + shift) / n
    cols = [radical_inverse(start + j, p) for p in primes(dim - 1)]
    return torch.stack([first, *cols], dim=1)


class UnitCubePoints:
    """Points in the unit cube ``[0, 1)^dim`` from one of :data:`METHODS`, with a checkpointable position.

    ``pseudo`` draws from the generator. ``halton`` continues the sequence from :attr:`offset` (the index of
    the next point), so successive batches together form one Halton sequence. ``hammersley`` draws an
    ``n``-point Hammersley set whose radical-inverse coordinates start at index :attr:`offset`, then advances
    it by ``n``. :meth:`state_dict` / :meth:`load_state_dict` save and restore :attr:`offset`.
    """

    def __init__(self, dim: int, method: str = "pseudo") -> None:
        self.dim, self.method = int(dim), check_method(method)
        self.offset = 0

    def state_dict(self) -> dict[str, int]:
        return {"offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.offset = int(state["offset"])

    def _block(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        """``n`` points without advancing (pseudo-random points do advance the generator)."""
        device = generator.device
        if self.method == "pseudo":
            return torch.rand(n, self.dim, generator=generator, dtype=dtype, device=device)
        if self.method == "halton":
            return halton(n, self.dim, start=self.offset + 1, device=device).to(dtype)
        return hammersley(n, self.dim, start=self.offset, device=device).to(dtype)

    def draw(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        """``n`` points, ``(n, dim)``, on ``generator.device`` in ``dtype``."""
        u = self._block(n, generator, dtype)
        if self.method != "pseudo":
            self.offset += n
        return u

    def accept(self, n: int, generator: torch.Generator, dtype: torch.dtype,
               keep: Callable[[Tensor], Tensor] | None, rate: float, max_rounds: int = 64) -> Tensor:
        """``n`` points of the law restricted to ``{u : keep(u)}``, by rejection; ``rate`` guesses the accepted
        fraction (it sizes the draws).

        ``pseudo`` and ``halton`` keep the first ``n`` accepted points of their stream, and ``halton``
        advances :attr:`offset` to just after the last of them, so the accepted points of successive calls
        form one sequence. ``hammersley`` draws a set of ``N ≈ n / rate`` points, enlarged until at least
        ``n`` are accepted, and keeps a uniformly random ``n``-subset of the accepted ones (dropping the last
        ones instead would leave out the end of the first coordinate's range).
        """
        if keep is None:
            return self.draw(n, generator, dtype)
        if n == 0:
            return torch.zeros(0, self.dim, dtype=dtype, device=generator.device)
        if not rate > 0:
            raise ConfigError("geometry", "the region to sample has zero measure")
        size = math.ceil(1.1 * n / rate) + 8
        if self.method == "hammersley":
            for _ in range(max_rounds):
                u = self._block(size, generator, dtype)
                kept = u[keep(u)]
                if kept.shape[0] >= n:
                    self.offset += size
                    pick = torch.randperm(kept.shape[0], generator=generator, device=generator.device)[:n]
                    return kept[pick.sort().values]
                size *= 2
        else:
            chunks, have = [], 0
            for _ in range(max_rounds):
                u = self._block(size, generator, dtype)
                mask = keep(u)
                index = torch.nonzero(mask).flatten()
                if have + index.numel() >= n:
                    last = int(index[n - have - 1])
                    chunks.append(u[index[:n - have]])
                    if self.method == "halton":
                        self.offset += last + 1
                    return torch.cat(chunks)
                chunks.append(u[index])
                have += index.numel()
                if self.method == "halton":
                    self.offset += size
                size *= 2
        raise ConfigError("geometry", f"rejection sampling accepted too few points after {max_rounds} rounds")
