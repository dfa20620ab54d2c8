"""The d-wide first layer of the SDGD step (forward ``x W₁ᵀ`` and weight gradient ``g_zᵀ x``) in four memory
layouts, timed interleaved in one process on the CPU at hand (float32, glibc allocator tuned as the SDGD
trainer tunes it):

- ``current``: ``x`` (n, d) and ``W₁`` (H, d) contiguous, both products through oneDNN (the platform's layer
  on its oneDNN route);
- ``weight_transposed``: ``W₁`` stored as a contiguous (d, H) buffer (oneDNN's forward is faster on it), the
  gradient written into that layout by BLAS;
- ``blocks``: ``x`` and ``W₁`` stored as contiguous column blocks of at most 2¹⁹ columns (the standalone
  step's layout), one oneDNN product per block;
- ``blocks_after_copy``: the same after copying an (n, d) ``x`` into blocks (what a layer that keeps the
  sampler's layout would pay).

    python benchmarks/sdgd/first_layer_layouts.py --dim 1000000 --rounds 6
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch

from sciml.models.wide import onednn_linear as onednn
from sciml.train.sdgd import tune_allocator

BLOCK = 1 << 19


def candidates(dim: int, batch: int, width: int) -> dict[str, Callable[[], object]]:
    x = torch.randn(batch, dim)
    weight = torch.randn(width, dim) / dim**0.5
    weight_t = weight.T.contiguous()
    grad_z = torch.randn(batch, width)
    grad_zt = grad_z.T.contiguous()
    blocks = -(-dim // BLOCK)
    cols = dim // blocks

    def to_blocks(points: torch.Tensor) -> torch.Tensor:
        return points.view(batch, blocks, cols).permute(1, 0, 2).contiguous()

    x_blocks = to_blocks(x)
    w_blocks = [weight[:, k * cols:(k + 1) * cols].contiguous() for k in range(blocks)]
    grad_t = torch.empty(dim, width)

    def current() -> None:
        onednn(x, weight)
        onednn(grad_zt, x.T)

    def weight_transposed() -> None:
        onednn(x, weight_t.T)
        torch.mm(x.T, grad_z, out=grad_t)

    def blocked(xb: torch.Tensor) -> None:
        sum(onednn(xb[k], w_blocks[k]) for k in range(blocks))
        for k in range(blocks):
            onednn(grad_zt, xb[k].T)

    def blocks_after_copy() -> None:
        blocked(to_blocks(x))

    return {"current": current, "weight_transposed": weight_transposed,
            "blocks": lambda: blocked(x_blocks), "blocks_after_copy": blocks_after_copy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tune_allocator()
    torch.set_num_threads(args.threads)
    runs = candidates(args.dim, args.batch, args.width)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up: oneDNN primitives, allocator
        run()
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        values.sort()
        print(json.dumps({"layout": name, "dim": args.dim, "threads": args.threads,
                          "min_ms": round(values[0] * 1e3, 1), "median_ms": round(values[len(values) // 2] * 1e3, 1)}))


if __name__ == "__main__":
    main()
