"""The SDGD trainer: the PINN loop of :class:`~sciml.train.Trainer` with a stochastic engine, plus the
memory tricks that make ``d = 10⁵ … 10⁶`` fit and run (Hu et al. 2023, arXiv 2307.12306; Shi et al. 2024).

What it adds to the shared loop (nothing else is copied):

- the unbiased-gradient loss of the SDGD paper (Sec. 3.3) when the engine is ``unbiased``: every term's
  residual is evaluated twice with independent dimension subsets ``r₁, r₂`` (one Taylor pass for both)
  and the loss is ``mean(2 sg(r₁) r₂ − sg(r₁ r₂))`` (value ``mean(r₁ r₂)``, gradient ``2 mean(r₁ ∇r₂)``);
- streamed evaluation: the test points (20,000 at ``d = 10⁶`` would be 80 GB) are regenerated from a fixed
  seed in chunks of at most ``eval_chunk_mb`` on the device, and the relative L2 / max errors accumulated;
- glibc allocator settings (``malloc=tuned``): large temporaries are otherwise mapped and unmapped every
  step (``mmap``/``munmap`` and their page faults dominated the step at ``d >= 10⁴``). Equivalent to
  ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<large>`` in the environment; applied with ``mallopt`` at
  construction, before the step's buffers are first allocated.

The gradient accumulation over dimension chunks of the paper lives in the engine
(``engine.chunk_dims``, see ``sciml/engines/sdgd.py``), so it also works under the plain trainer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import resource

import torch
from torch import Tensor

from sciml.errors import ConfigError
from sciml.train.trainer import Trainer, relative_l2

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
MALLOC = ("tuned", "default")


def tune_allocator(trim_threshold: int = 1 << 30) -> bool:
    """Keep freed memory in the process (no per-step ``mmap``/``munmap`` of large tensors); glibc only.

    Returns whether the settings were applied.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError):
        return False


class SDGDTrainer(Trainer):
    """:class:`~sciml.train.Trainer` for high-dimensional problems (see the module docstring).

    Extra args: ``malloc`` (``tuned`` | ``default``), ``eval_chunk_mb`` (memory of one chunk of test
    points). Every other argument is the base trainer's.
    """

    def __init__(self, *args, metrics: str | list[str] = "auto", eval_points: int = 20_000,
                 eval_chunk_mb: int = 64, malloc: str = "tuned", **kwargs) -> None:
        if malloc not in MALLOC:
            raise ConfigError("trainer.malloc", f"unknown value {malloc!r}; options: {', '.join(MALLOC)}")
        self.malloc_tuned = tune_allocator() if malloc == "tuned" else False
        problem = kwargs.get("problem", args[0] if args else None)
        streamed = problem is not None and problem.has_exact
        # the base trainer builds (and stores) a reference set only for problems without a closed form
        super().__init__(*args, metrics=[] if streamed else metrics, eval_points=eval_points, **kwargs)
        self.eval_points, self.eval_chunk_bytes = eval_points, int(eval_chunk_mb) << 20
        self.metric_names = self._resolve_metrics(metrics)
        self.test_seed = kwargs.get("seed", 0) + 1_000_003
        self.streamed = streamed and bool(self.metric_names)

    # --- the unbiased-gradient loss -----------------------------------------------------------------------
    def losses(self, points) -> dict[str, Tensor]:
        if not getattr(self.engine, "unbiased", False):
            return super().losses(points)
        out = {}
        for name, term in self.terms.items():
            x, data = points[name]
            u = self.field(x, data)
            r1 = term.residual(u)
            other = self.engine.independent(u)
            if other is None:
                out[name] = r1.square().mean()
                continue
            r2 = term.residual(other)
            out[name] = (2 * r1.detach() * r2 - (r1 * r2).detach()).mean()
        return out

    # --- evaluation ---------------------------------------------------------------------------------------
    def test_chunks(self):
        """The fixed test set, regenerated in chunks: yields ``(x, exact)``."""
        generator = torch.Generator(self.device).manual_seed(self.test_seed)
        width = self.problem.dim * torch.finfo(self.dtype).bits // 8
        rows = max(1, min(self.eval_points, self.eval_chunk_bytes // width))
        for start in range(0, self.eval_points, rows):
            n = min(rows, self.eval_points - start)
            x = self.problem.test_points(n, generator, self.dtype, self.device)
            with torch.no_grad():
                yield x, self.problem.exact(x)

    def reference_metrics(self) -> dict[str, float]:
        if not self.streamed:
            return super().reference_metrics()
        out = {}
        sq_err = sq_ref = 0.0
        max_abs = 0.0
        for x, exact in self.test_chunks():
            err = self.predict(x) - exact
            sq_err += float(err.double().square().sum())
            sq_ref += float(exact.double().square().sum())
            max_abs = max(max_abs, float(err.abs().max()))
        if "rel_l2" in self.metric_names:
            out["rel_l2"] = math.sqrt(sq_err / max(sq_ref, 1e-300))
        if "max_abs" in self.metric_names:
            out["max_abs"] = max_abs
        return out

    def finish(self, train_time: float, wall: float) -> dict:
        self.info.setdefault("malloc", "tuned" if self.malloc_tuned else "default")
        if self.device.type == "cuda":
            self.info["peak_memory_mb"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        else:  # peak resident set of the process (Linux reports KiB)
            self.info["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return super().finish(train_time, wall)


__all__ = ["SDGDTrainer", "relative_l2", "tune_allocator"]
