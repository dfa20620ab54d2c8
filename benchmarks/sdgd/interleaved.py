"""The SDGD step of the platform beside the standalone step and the torch.func step, interleaved in rounds so
that machine load hits every candidate alike; every candidate runs in its own process.

Candidates (each a JSON row per round, steps/s steady):

- ``sciml``: ``sciml-train experiment=stde_allen_cahn engine=taylor pde.dim=D`` (steady rate of its summary),
  with the Gaussian draw of the ball sampler ``counter`` (default) or ``torch`` (``pde.normal``);
- ``step3``: the standalone step, ``python <step3.py> D "" N`` (its last JSON line), when ``--step3`` is given;
- ``funcstep``: the torch.func forward-over-reverse step of ``benchmarks/sdgd/bench.py`` (d <= 10⁴ only);
- ``draw``: the ball sampler's draw of 100 points alone (``counter`` and ``torch``), best of 5.

    python benchmarks/sdgd/interleaved.py --dims 100000 1000000 --rounds 2 --step3 /path/to/step3.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import emit, run_sciml_train  # noqa: E402 (this folder is on sys.path when run as a script)

from pdes.ball import RadialBallSampler

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def run_json(cmd: list[str], threads: int, cwd: Path = ROOT) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def sciml(dim: int, steps: int, normal: str, threads: int, overrides: tuple[str, ...] = ()) -> dict:
    summary, rows = run_sciml_train(["engine=taylor", f"pde.dim={dim}", f"pde.normal={normal}",
                                     f"trainer.steps={steps}", "trainer.log_every=10", *overrides], threads)
    # rates of the logged 10-step windows after the warm-up: their median is robust to load spikes, as
    # the standalone step's median step time is
    windows = [(b["step"] - a["step"]) / (b["train_s"] - a["train_s"]) for a, b in zip(rows, rows[1:])
               if a["step"] >= summary.get("warmup_steps", 5)]
    return {"steps_per_s": summary["steady_steps_per_s"],
            "window_median_steps_per_s": round(statistics.median(windows), 3) if windows else None,
            "peak_memory_mb": summary.get("peak_memory_mb")}


def draw_worker(dim: int, threads: int) -> dict:
    import torch

    from sciml.train.sdgd import tune_allocator

    tune_allocator()
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    samplers = {name: RadialBallSampler(dim, normal=name) for name in ("counter", "torch")}
    best = dict.fromkeys(samplers, float("inf"))
    for sampler in samplers.values():
        sampler.sample(100, gen, torch.float32)  # compiles the counter draw
    for _ in range(5):
        for name, sampler in samplers.items():
            t0 = time.perf_counter()
            sampler.sample(100, gen, torch.float32)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {f"draw_ms_{k}": round(v * 1e3, 2) for k, v in best.items()}


def candidates(dim: int, args: argparse.Namespace) -> dict[str, Callable[[], dict]]:
    """The runs of one round at ``dim``, by name."""
    out: dict[str, Callable[[], dict]] = {
        f"sciml_{n}": partial(sciml, dim, args.steps, n, args.threads, tuple(args.override))
        for n in (args.normals if 100 * dim >= RadialBallSampler.min_count else args.normals[:1])}
    if args.step3 is not None:
        out["step3"] = partial(run_json, [sys.executable, str(args.step3), str(dim), "", str(args.step3_steps)],
                               args.threads, args.step3.parent)
    if dim <= 10_000:
        out["funcstep"] = partial(run_json, [sys.executable, str(HERE / "bench.py"), "--worker", "baseline",
                                             "--dim", str(dim), "--steps", "4", "--threads", str(args.threads)],
                                  args.threads)
    if args.draw:
        out["draw"] = partial(run_json, [sys.executable, __file__, "--worker", "draw", "--dim", str(dim),
                                         "--threads", str(args.threads)], args.threads)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--step3", type=Path, default=None, help="the standalone step3.py")
    parser.add_argument("--step3-steps", type=int, default=15)
    parser.add_argument("--normals", nargs="+", default=["counter", "torch"])
    parser.add_argument("--draw", action="store_true", help="also time the draw alone")
    parser.add_argument("--override", nargs="*", default=[],
                        help="more sciml-train overrides, e.g. trainer.compile=true (a short run's auto stays eager)")
    parser.add_argument("--out", type=Path, default=None, help="append JSON rows here")
    parser.add_argument("--worker", choices=["draw"], default=None)
    parser.add_argument("--dim", type=int, default=100_000)
    args = parser.parse_args()
    if args.worker == "draw":
        print(json.dumps(draw_worker(args.dim, args.threads)))
        return
    for rnd in range(args.rounds):
        for dim in args.dims:
            for name, fn in candidates(dim, args).items():
                row = {"round": rnd, "dim": dim, "candidate": name, "load": round(os.getloadavg()[0], 2),
                       "time": time.strftime("%H:%M:%S"), **fn()}
                emit(row, args.out)

if __name__ == "__main__":
    main()
