"""Counter-based standard normal numbers for very wide CPU draws: a keyed 32-bit integer hash and Box-Muller.

torch's CPU normal sampler runs one mt19937 stream on one thread (≈ 3.4–4.5 ns per number); at
``d = 10⁶`` the SDGD step's 10⁸ fresh Gaussian numbers then cost about half of the step. Here the numbers
are a pure function of a key and their position, so one compiled, vectorised, multi-threaded loop draws
them (:func:`counter_normal`; eager tensor operations compute the same words, :func:`hash_words`):

- word ``i`` is ``H(H(i ⊕ k₁) ⊕ k₂)`` for a 32-bit counter ``i`` and two 32-bit keys, with ``H`` C. Wellons'
  "lowbias32" integer hash (``x ⊕= x ≫ 16; x ·= 0x7feb352d; x ⊕= x ≫ 15; x ·= 0x846ca68b; x ⊕= x ≫ 16``,
  all modulo ``2³²``; hash-prospector, 2018), a bijection of the 32-bit words with a low avalanche bias;
  two keyed rounds decorrelate draws under different keys (no key's stream is a shifted copy of another's);
- the words are computed two ways, bit for bit the same. Eagerly in ``int64``, exactly: every value stays
  below ``2³²`` and each product ``x · c mod 2³²`` is taken as ``x · c_lo + ((x · c_hi) mod 2¹⁶) · 2¹⁶``
  with the 16-bit halves of ``c`` (products below ``2⁴⁸``, no overflow). In the compiled loop in ``int32``,
  as two's-complement bit patterns: shifts are made logical by a mask and products wrap modulo ``2³²``, as
  the vector multiply the loop is made of does (``int64`` vector products cost several instructions each:
  the ``int32`` loop draws in 0.6 of the time). A wrapping signed product is formally undefined in scalar
  C++, so the tests compare the compiled words with the exact ones on sizes that also run the loop's scalar
  tail and on the edges of the word range;
- normal pair ``p`` takes words ``2p`` and ``2p + 1`` as two uniforms (their top 24 bits in single
  precision, shifted by half an ulp into ``(0, 1)``; all 32 bits in double) and the Box-Muller transform
  ``√(−2 ln u₁) (cos θ, sin θ)`` with the angle ``θ = 2π(u₂ − ½)``: the first half of the output holds the
  cosines, the second the sines; in single precision the sine and cosine of the bounded angle are short
  polynomials (:func:`sciml.trig.bounded_sincos`).

The keys are drawn from the caller's generator, so a seed fixes every number and the generator's state
(which checkpoints save) fixes the next draw. One draw holds at most ``2³²`` words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import torch
from torch import Tensor

from sciml.trig import bounded_sincos

_LOW16 = (1 << 16) - 1
_LOW32 = (1 << 32) - 1
_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
MAX_WORDS = 1 << 32


def _mul32(x: Tensor, c: int) -> Tensor:
    """``x · c mod 2³²``: for ``int64`` words (``0 ≤ x < 2³²``) without an intermediate of ``2⁴⁹`` or more; for
    ``int32`` words (bit patterns) by the wrapping product with ``c`` as a signed 32-bit constant."""
    if x.dtype == torch.int32:
        return x * (c - (1 << 32) if c >> 31 else c)
    return (x * (c & _LOW16) + (((x * (c >> 16)) & _LOW16) << 16)) & _LOW32


def _shift_right(x: Tensor, bits: int) -> Tensor:
    """The logical right shift of 32-bit words held in ``int64`` or ``int32`` (the mask clears the copies of
    an ``int32`` sign bit; it changes no ``int64`` word below ``2³²``)."""
    return (x >> bits) & ((1 << (32 - bits)) - 1)


def lowbias32(x: Tensor) -> Tensor:
    """Wellons' lowbias32 hash of 32-bit words held in ``int64`` (values in ``[0, 2³²)``) or ``int32``."""
    x = x ^ _shift_right(x, 16)
    x = _mul32(x, _MULTIPLIERS[0])
    x = x ^ _shift_right(x, 15)
    x = _mul32(x, _MULTIPLIERS[1])
    return x ^ _shift_right(x, 16)


def hash_words(keys: Tensor, counter: Tensor) -> Tensor:
    """The words at the positions ``counter`` under the two 32-bit ``keys`` (``int64`` in ``[0, 2³²)``): in
    ``counter``'s dtype, ``int64`` (exact) or ``int32`` (the same bit patterns)."""
    keys = keys.to(counter.dtype)
    return lowbias32(lowbias32(counter ^ keys[0]) ^ keys[1])


def _counters(count: int, device: torch.device, wrapping: bool) -> Tensor:
    """The positions ``0, 2, 4, …`` of the pairs' first words: ``int64``, or their ``int32`` bit patterns."""
    first = 2 * torch.arange(count, dtype=torch.int64, device=device)
    return first.to(torch.int32) if wrapping else first


def _uniform_bits(words: Tensor, bits: int) -> Tensor:
    """The top ``bits`` of 32-bit words as non-negative integers (``int64`` when all 32 are kept)."""
    return words.to(torch.int64) & _LOW32 if bits == 32 else _shift_right(words, 32 - bits)


def _polar_pairs(keys: Tensor, first: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """``(R², cos θ, sin θ)`` of the Box-Muller pairs whose first words sit at the positions ``first``."""
    wide = dtype == torch.float64
    bits = 32 if wide else 24
    work = torch.float64 if wide else torch.float32
    scale = 2.0 ** -bits
    u1 = (_uniform_bits(hash_words(keys, first), bits).to(work) + 0.5) * scale
    u2 = _uniform_bits(hash_words(keys, first + 1), bits).to(work) * scale
    sin, cos = bounded_sincos((2 * math.pi) * (u2 - 0.5))  # a uniform angle in [−π, π)
    return -2.0 * torch.log(u1), cos, sin


def box_muller_normals(keys: Tensor, pairs: int, dtype: torch.dtype, wrapping: bool = False) -> Tensor:
    """``2 · pairs`` standard normals from the words of :func:`hash_words` (see the module docstring), computed
    in ``int32`` when ``wrapping`` (the compiled loop), else in ``int64``."""
    squared, cos, sin = _polar_pairs(keys, _counters(pairs, keys.device, wrapping), dtype)
    radius = torch.sqrt(squared)
    return torch.cat([radius * cos, radius * sin]).to(dtype)


def box_muller_directions(keys: Tensor, radius: Tensor, cols: int, dtype: torch.dtype,
                          wrapping: bool = False) -> Tensor:
    """Rows ``ρ_b n_b / ‖n_b‖`` of ``cols`` (even) columns, ``n_b`` standard normal, ``ρ = radius`` ``(rows, 1)``.

    Row ``b`` holds the pairs ``b·h … b·h + h − 1`` (``h = cols / 2``): cosines in its first half, sines in its
    second. Since ``cos² + sin² = 1``, ``‖n_b‖² = Σ R²`` over the row's pairs, so the norm comes with the draw
    and one fused loop writes the scaled rows (no pass to normalise them afterwards). ``wrapping``: as in
    :func:`box_muller_normals`."""
    rows, half = radius.shape[0], cols // 2
    first = _counters(rows * half, keys.device, wrapping).view(rows, half)
    squared, cos, sin = _polar_pairs(keys, first, dtype)
    length = torch.sqrt(squared) * (radius.to(squared.dtype) / torch.sqrt(squared.sum(1, keepdim=True)))
    return torch.cat([length * cos, length * sin], 1).to(dtype)


@cache
def _compiled(function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """One compiled loop per function; ``dynamic=False`` specialises it to each draw size (the SDGD step
    draws one size throughout)."""
    return torch.compile(function, dynamic=False)


def _keys(generator: torch.Generator) -> Tensor:
    return torch.randint(0, 1 << 32, (2,), generator=generator, device=generator.device, dtype=torch.int64)


def _check_words(count: int) -> None:
    if count > MAX_WORDS:
        raise ValueError(f"a counter draw holds at most {MAX_WORDS} numbers, asked for {count}")


def counter_normal(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32,
                   compiled: bool = True) -> Tensor:
    """Standard normals of ``shape`` on the generator's device, keyed by one draw from ``generator``;
    ``compiled=False`` computes the same words with eager operations (slower, several full-size temporaries)."""
    keys = _keys(generator)
    count = math.prod(shape)
    pairs = (count + 1) // 2
    _check_words(2 * pairs)
    draw = _compiled(box_muller_normals) if compiled else box_muller_normals
    return draw(keys, pairs, dtype, compiled)[:count].view(shape)


def counter_directions(radius: Tensor, cols: int, generator: torch.Generator, dtype: torch.dtype = torch.float32,
                       compiled: bool = True) -> Tensor:
    """Points ``ρ_b n_b / ‖n_b‖`` (:func:`box_muller_directions`; ``cols`` even), keyed by one draw from
    ``generator``: on the unit ball's law when ``radius ~ U[0, 1]``."""
    if cols % 2:
        raise ValueError(f"counter_directions draws whole Box-Muller pairs per row: cols must be even, got {cols}")
    keys = _keys(generator)
    _check_words(radius.shape[0] * cols)
    draw = _compiled(box_muller_directions) if compiled else box_muller_directions
    return draw(keys, radius, cols, dtype, compiled)


__all__ = [
    "box_muller_directions",
    "box_muller_normals",
    "counter_directions",
    "counter_normal",
    "hash_words",
    "lowbias32",
]
