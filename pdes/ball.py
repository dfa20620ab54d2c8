"""Poisson, Allen-Cahn and Sine-Gordon equations on the unit ball in any dimension (SDGD / STDE benchmarks).

Hu, Shukla, Karniadakis & Kawaguchi 2023 (arXiv 2307.12306, Sec. 5.1-5.2) and Shi et al. 2024 (STDE,
Sec. 5, Table 3): on ``Bᵈ`` with ``u = 0`` on the sphere (imposed exactly by ``u = (1 − ‖x‖²)·MLP(x)``),

    Poisson      Δu = f,        Allen-Cahn   Δu + u − u³ = f,        Sine-Gordon   Δu + sin u = f,

with ``f`` the operator applied to the exact solution ``u* = (1 − ‖x‖²) s(x)``:

- two-body:   ``s = Σ_{i=1}^{d−1} c_i sin(x_i + cos x_{i+1} + x_{i+1} cos x_i)``,
- three-body: ``s = Σ_{i=1}^{d−2} c_i exp(x_i x_{i+1} x_{i+2})``,  ``c_i ~ N(0, 1)`` drawn once.

``f`` is analytic: with ``g = 1 − ‖x‖²``, ``Δu* = g Δs − 4 x·∇s − 2 d s``, and ``s``, ``x·∇s``, ``Δs`` are
sums over neighbouring coordinates, computed in one pass over column blocks (``compile=true`` fuses each
block into a single kernel with ``torch.compile``). Points: normalised Gaussian direction times a radius
``U[0, 1]`` (the papers' law), for training and the 20,000 test points alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor, nn

from sciml.errors import ConfigError, positive_int
from sciml.fields import Field
from sciml.geometry.gaussian import counter_directions, counter_normal
from sciml.models.constrained import BallFactor, HardConstraint
from sciml.problem import Problem, Term
from sciml.trig import bounded_sincos

Sums = tuple[Tensor, Tensor, Tensor]


def two_body_sums(x: Tensor, c: Tensor) -> Sums:
    """``(s, x·∇s, Δs)`` per row for ``s = Σ_i c_i sin(φ_i)``, ``φ_i = x_i + cos x_{i+1} + x_{i+1} cos x_i``,
    at points of the unit ball: there ``|x_i| ≤ 1`` and ``|φ_i| ≤ 3``, so every sine and cosine has an argument
    in ``[−π, π]`` (:func:`~sciml.trig.bounded_sincos`: short polynomials in single precision)."""
    a, b = x[:, :-1], x[:, 1:]
    (sa, ca), (sb, cb) = bounded_sincos(a, bound=1.0), bounded_sincos(b, bound=1.0)
    phi = a + cb + b * ca
    sp, cp = bounded_sincos(phi, bound=3.0)
    da, db = 1 - b * sa, ca - sb  # ∂φ/∂x_i, ∂φ/∂x_{i+1}
    s = (c * sp).sum(1)
    radial = (c * cp * (a * da + b * db)).sum(1)
    lap = (c * (cp * (-b * ca - cb) - sp * (da * da + db * db))).sum(1)
    return s, radial, lap


def three_body_sums(x: Tensor, c: Tensor) -> Sums:
    """``(s, x·∇s, Δs)`` per row for ``s = Σ_i c_i exp(x_i x_{i+1} x_{i+2})``."""
    a, b, e = x[:, :-2], x[:, 1:-1], x[:, 2:]
    p = a * b * e
    ep = c * torch.exp(p)
    return ep.sum(1), 3 * (ep * p).sum(1), (ep * ((b * e).square() + (a * e).square() + (a * b).square())).sum(1)


NORMALS = ("counter", "torch")


class RadialBallSampler:
    """The papers' law on the unit ball, fused for large ``d``: radius ``U[0, 1]`` times a normalised
    Gaussian direction, normalised and scaled in place (one pass after the draw instead of three).

    Large CPU draws (at least ``min_count`` numbers) come from ``normal``:

    - ``counter`` (default): a keyed 32-bit counter hash and Box-Muller in one compiled, multi-threaded loop
      (``sciml/geometry/gaussian.py``), keyed by one draw from the caller's generator;
    - ``torch``: torch's normal sampler, rows split over ``threads`` Python threads (torch's sampler is
      single-threaded), each with its own generator seeded from the caller's.

    With ``counter`` and an even ``d``, one compiled loop writes the points: the row norms come with the draw
    (:func:`~sciml.geometry.gaussian.counter_directions`), so no pass normalises them afterwards. Either way a
    seed fixes the points. Smaller draws, and draws on GPUs, use ``torch.randn`` directly. The threshold is a
    constant, not a measurement, because the route decides the points themselves: the draws cross over near
    7·10⁴ numbers (2 threads: 0.57 against 0.52 ms for 100 points at ``d = 700``, 7.9 against 4.1 ms at
    ``d = 10⁴``; AMD EPYC, AVX2), and from ``2¹⁷`` the counter loop is faster on the processors measured.
    """

    min_count = 1 << 17

    def __init__(self, dim: int, threads: int | None = None, normal: str = "counter") -> None:
        self.dim = positive_int(dim, "dim")
        if normal not in NORMALS:
            raise ConfigError("normal", f"unknown value {normal!r}; options: {', '.join(NORMALS)}")
        self.threads, self.normal = threads, normal
        self._pool: ThreadPoolExecutor | None = None
        self._generators: list[torch.Generator] = []

    def _fused(self, n: int, generator: torch.Generator) -> bool:
        """Whether one compiled loop draws, normalises and scales the rows (:func:`counter_directions`)."""
        large = n * self.dim >= self.min_count and generator.device.type == "cpu"
        return large and self.normal == "counter" and self.dim % 2 == 0

    def _gaussian_rows(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        threads = self.threads or torch.get_num_threads()
        device = generator.device
        if device.type != "cpu" or n * self.dim < self.min_count or (self.normal == "torch" and threads < 2):
            return torch.randn(n, self.dim, generator=generator, dtype=dtype, device=device)
        if self.normal == "counter":
            return counter_normal((n, self.dim), generator, dtype)
        if self._pool is None or len(self._generators) != threads:
            self._pool = ThreadPoolExecutor(threads)
            self._generators = [torch.Generator() for _ in range(threads)]
        seeds = torch.randint(0, 2**62, (threads,), generator=generator).tolist()
        x = torch.empty(n, self.dim, dtype=dtype)
        parts = x.tensor_split(threads)

        def draw(k: int) -> None:
            gen = self._generators[k].manual_seed(seeds[k])
            torch.randn(parts[k].shape, generator=gen, dtype=dtype, out=parts[k])

        list(self._pool.map(draw, range(threads)))
        return x

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
        if self._fused(n, generator):
            radius = torch.rand(n, 1, generator=generator, dtype=dtype)
            return counter_directions(radius, self.dim, generator, dtype)
        x = self._gaussian_rows(n, generator, dtype)
        radius = torch.rand(n, 1, generator=generator, dtype=dtype, device=generator.device)
        return x.mul_(radius / torch.linalg.vector_norm(x, dim=1, keepdim=True))


SOLUTIONS: dict[str, tuple[Callable[[Tensor, Tensor], Sums], int]] = {
    "two_body": (two_body_sums, 1),
    "three_body": (three_body_sums, 2),
}
EQUATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "poisson": torch.zeros_like,
    "allen_cahn": lambda u: u - u**3,
    "sine_gordon": torch.sin,
}


def draw_coefficients(dim: int, count: int, seed: int, law: str) -> Tensor:
    """``count`` standard normals (float64) from ``torch`` or numpy's legacy ``RandomState`` (see BallPDE)."""
    if law == "torch":
        return torch.randn(count, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if law == "numpy":
        import numpy as np

        return torch.from_numpy(np.random.RandomState(seed).standard_normal(dim)[:count].copy())
    raise ConfigError("coefficients", f"unknown law {law!r}; options: torch, numpy")


class BallPDE(Problem):
    """``Δu + N(u) = f`` on the unit ball with ``u = 0`` on the sphere (see the module docstring).

    Args:
        dim: dimension ``d``.
        equation: ``poisson`` | ``allen_cahn`` | ``sine_gordon`` (``N = 0``, ``u − u³``, ``sin u``).
        solution: ``two_body`` | ``three_body``.
        batch_size: residual points per step.
        seed: seed of the coefficients ``c_i``.
        coefficients: how ``c_i ~ N(0, 1)`` are drawn: ``torch`` (a ``torch.Generator`` seeded with ``seed``)
            or ``numpy`` (numpy's legacy ``RandomState(seed)`` stream, the first ``d − overlap`` of ``d``
            normals: the instance the STDE paper's experiments were run on). The instance matters for the
            score: ``‖u*‖`` is dominated by ``(1 − ‖x‖²) sin(1) Σ c_i`` (the sines are ≈ sin 1 near the
            origin, where the coordinates are ``O(d^{-1/2})``), and ``Σ c_i`` is 2.2 for ``torch`` and −44.9
            for ``numpy`` at seed 0 and ``d = 1000``, so one absolute accuracy reads as relative errors ~20×
            apart.
        compile: fuse the exact ``f`` with ``torch.compile`` (worth it from ``d ~ 10⁴``).
        block: columns per block when evaluating ``f`` (bounds the temporaries at very large ``d``).
        normal: how large CPU draws of Gaussian directions are made: ``counter`` (counter-based, compiled) or
            ``torch`` (torch's sampler on threads); see :class:`RadialBallSampler`.
    """

    time_variable = None

    def __init__(self, dim: int = 100, equation: str = "allen_cahn", solution: str = "two_body",
                 batch_size: int = 100, seed: int = 0, coefficients: str = "torch", compile: bool = False,
                 block: int = 1 << 14, normal: str = "counter") -> None:
        self.size = positive_int(dim, "dim")
        if equation not in EQUATIONS:
            raise ConfigError("equation", f"unknown equation {equation!r}; options: {', '.join(EQUATIONS)}")
        if solution not in SOLUTIONS:
            raise ConfigError("solution", f"unknown solution {solution!r}; options: {', '.join(SOLUTIONS)}")
        self.sums, self.overlap = SOLUTIONS[solution]
        if self.size <= self.overlap:
            raise ConfigError("dim", f"the {solution} solution needs dim > {self.overlap}, got {dim}")
        self.name, self.equation, self.solution = f"{equation}_ball", equation, solution
        self.nonlinearity = EQUATIONS[equation]
        self.batch_size = positive_int(batch_size, "batch_size")
        self.block = positive_int(block, "block")
        self.variables = [f"x{i}" for i in range(self.size)]
        self._spatial = list(range(self.size))
        self.coefficients = draw_coefficients(self.size, self.size - self.overlap, seed, coefficients)
        self._c: dict[tuple, Tensor] = {}
        self.sampler = RadialBallSampler(self.size, normal=normal)
        self._kernel = torch.compile(self._block_sums, dynamic=False) if compile else self._block_sums
        # near the origin, where the coordinates are O(d^{-1/2}), u* ≈ sin(1) Σ c_i (two-body) or Σ c_i
        # (three-body), and Σ c_i ~ N(0, d − overlap): the solution's typical magnitude is √d
        self.output_scale = math.sqrt(self.size)

    @property
    def spatial_dims(self) -> list[int]:
        return self._spatial

    def coefficients_like(self, x: Tensor) -> Tensor:
        key = (x.dtype, x.device)
        if key not in self._c:
            self._c[key] = self.coefficients.to(dtype=x.dtype, device=x.device)
        return self._c[key]

    def _block_sums(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One column block: the squared norm over its own ``len(c)`` columns and the solution's sums over
        ``x``, which holds those columns and the ``overlap`` following ones (one pass over the block)."""
        return (x[:, : c.numel()].square().sum(1), *self.sums(x, c))

    def solution_sums(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(‖x‖², s, x·∇s, Δs)`` per row, accumulated over column blocks."""
        c = self.coefficients_like(x)
        terms = c.numel()
        total = None
        for start in range(0, terms, self.block):
            stop = min(start + self.block, terms)
            part = self._kernel(x[:, start:stop + self.overlap], c[start:stop])
            total = part if total is None else tuple(t + p for t, p in zip(total, part))
        assert total is not None
        r2, *sums = total
        return (r2 + x[:, terms:].square().sum(1), *sums)  # the last ``overlap`` columns belong to no block

    def exact(self, x: Tensor) -> Tensor:
        r2, s, _, _ = self.solution_sums(x)
        return ((1 - r2) * s).unsqueeze(1)

    def source(self, x: Tensor) -> Tensor:
        """``f = Δu* + N(u*)``, analytic (never from the estimator under test)."""
        r2, s, radial, lap = self.solution_sums(x)
        u = (1 - r2) * s
        return (1 - r2) * lap - 4 * radial - 2 * self.size * s + self.nonlinearity(u)

    def residual(self, u: Field) -> Tensor:
        with torch.no_grad():
            f = self.source(u.x)
        return u.laplacian + self.nonlinearity(u.value) - f

    def terms(self) -> dict[str, Term]:
        return {"pde": Term(self.sampler, self.residual, self.batch_size)}

    def constrain(self, model: nn.Module) -> nn.Module:
        return HardConstraint(super().constrain(model), BallFactor(1.0))


class AllenCahn(BallPDE):
    def __init__(self, dim: int = 100, solution: str = "two_body", **kwargs) -> None:
        super().__init__(dim, "allen_cahn", solution, **kwargs)


class SineGordon(BallPDE):
    def __init__(self, dim: int = 100, solution: str = "two_body", **kwargs) -> None:
        super().__init__(dim, "sine_gordon", solution, **kwargs)


class BallPoisson(BallPDE):
    def __init__(self, dim: int = 100, solution: str = "two_body", **kwargs) -> None:
        super().__init__(dim, "poisson", solution, **kwargs)


__all__ = ["AllenCahn", "BallPDE", "BallPoisson", "SineGordon", "three_body_sums", "two_body_sums"]
