"""Counter-based standard normal numbers for very wide CPU draws: SplitMix64 words and Box-Muller.

torch's CPU normal sampler runs one mt19937 stream on one thread (≈ 3.4–4.5 ns per number); at
``d = 10⁶`` the SDGD step's 10⁸ fresh Gaussian numbers then cost about a third of the step. Here the
numbers are a pure function of a key and their position, so they are drawn by one vectorised,
multi-threaded sequence of tensor operations:

- word ``i`` is SplitMix64's output for counter ``i`` under the key (Steele, Lea & Flood, OOPSLA 2014,
  "Fast splittable pseudorandom number generators": ``z = key + (i + 1) γ``, ``γ = 0x9E3779B97F4A7C15``,
  then Stafford's "variant 13" 64-bit finaliser); SplitMix64 passes TestU01's BigCrush;
- each word gives two uniforms, its high and low bits (24 bits each in single precision, 32 in double;
  the first is shifted by half an ulp into ``(0, 1)``), and the Box-Muller transform maps them to two
  independent standard normals ``√(−2 ln u₁) (cos 2πu₂, sin 2πu₂)``: the first half of the output holds
  the cosines, the second half the sines.

The key is drawn from the caller's generator, so a seed fixes every number and the generator's state
(which checkpoints save) fixes the next draw. The integer arithmetic wraps modulo ``2⁶⁴`` in ``int64``
(eager torch operations wrap; a ``torch.compile``d version of this function gave wrong words on CPU, as
C++ leaves signed overflow undefined, so it is not compiled).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_GAMMA = 0x9E3779B97F4A7C15 - (1 << 64)  # 64-bit constants as the int64 values with the same bits
_MIX1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_MIX2 = 0x94D049BB133111EB - (1 << 64)
_LOW32 = (1 << 32) - 1


def _shift(x: Tensor, k: int) -> Tensor:
    """Logical right shift of the 64 bits of ``x`` by ``0 < k < 64``."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def splitmix64(key: Tensor, count: int) -> Tensor:
    """SplitMix64 words ``0 … count − 1`` under ``key`` (a 0-d ``int64`` tensor), as ``int64``."""
    z = key + torch.arange(1, count + 1, dtype=torch.int64, device=key.device) * _GAMMA
    z = (z ^ _shift(z, 30)) * _MIX1
    z = (z ^ _shift(z, 27)) * _MIX2
    return z ^ _shift(z, 31)


def box_muller_normals(key: Tensor, pairs: int, dtype: torch.dtype) -> Tensor:
    """``2 · pairs`` standard normals from the words of :func:`splitmix64` (see the module docstring)."""
    wide = dtype == torch.float64
    bits = 32 if wide else 24
    work = torch.float64 if wide else torch.float32
    z = splitmix64(key, pairs)
    scale = 2.0 ** -bits
    u1 = (_shift(z, 64 - bits).to(work) + 0.5) * scale
    u2 = ((z & _LOW32) >> (32 - bits)).to(work) * scale
    radius = torch.sqrt(-2.0 * torch.log(u1))
    angle = (2 * math.pi) * u2
    return torch.cat([radius * torch.cos(angle), radius * torch.sin(angle)]).to(dtype)


def counter_normal(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> Tensor:
    """Standard normals of ``shape`` on the generator's device, keyed by one draw from ``generator``."""
    key = torch.randint(0, 2**62, (), generator=generator, device=generator.device)
    count = math.prod(shape)
    return box_muller_normals(key, (count + 1) // 2, dtype)[:count].view(shape)


__all__ = ["box_muller_normals", "counter_normal", "splitmix64"]
