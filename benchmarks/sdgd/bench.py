"""Speed and memory of SDGD steps on the two-body Allen-Cahn problem (STDE Table 3 setup) at d = 10³ … 10⁶.

Every row runs in a fresh process (peak memory = the process's peak resident set):

- ``platform``: ``sciml-train experiment=stde_allen_cahn pde.dim=D`` (sparse Taylor jets, |J| = 16,
  4×128 tanh, batch 100, fresh points and exact f every step, float32, tuned allocator) — the platform's
  own trainer, nothing special-cased. Steps/s is the steady-state rate from ``metrics.jsonl`` (the first
  ``warmup`` steps, which include the one-off ``torch.compile`` of f, are excluded) and the whole-run rate
  of ``summary.json`` is reported beside it.
- ``baseline``: a straightforward SDGD step written here with ``torch.func`` (forward-over-reverse: ``jvp``
  of ``grad`` along the 16 one-hot directions, ``vmap`` over directions and points; eager exact f; fresh
  points; ``torch.optim.Adam``), run with the default allocator.
- ``peak``: the machine's float32 matmul rate (2048² products, default BLAS and oneDNN, best of both).

The fraction of the matmul peak is (minimal matmul work of the step) / (step time) / peak, with the work
``4 n d w`` for the first layer (forward and weight gradient) plus ``3·2 (n + 2 n |J|) w²`` per hidden layer
(primal and both Taylor coefficients, forward and backward).

    python benchmarks/sdgd/bench.py --dims 1000 10000 100000 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIDTH, DEPTH, BATCH, NUM_DIMS = 128, 4, 100, 16


def matmul_work(dim: int) -> float:
    first = 4 * BATCH * dim * WIDTH
    hidden = (DEPTH - 1) * 3 * 2 * (BATCH + 2 * BATCH * NUM_DIMS) * WIDTH**2
    return float(first + hidden)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- workers (run in their own process) ---------------------------------------------------------------------
def worker_peak(threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(2048, 2048)
    rates = {}
    for name, fn in (("blas", lambda: a @ a),
                     ("onednn", lambda: torch.ops.mkldnn._linear_pointwise(a, a, None, "none", [], ""))):
        fn()
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(5):
                fn()
            best = min(best, (time.perf_counter() - t0) / 5)
        rates[name] = 2 * 2048**3 / best / 1e9
    return {"peak_gflops": max(rates.values()), **{f"{k}_gflops": v for k, v in rates.items()}}


def worker_baseline(dim: int, steps: int, threads: int) -> dict:
    import torch
    from torch.func import functional_call, grad, jvp, vmap

    from pdes.ball import AllenCahn
    from sciml.engines import sample_subset
    from sciml.models import MLP

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    problem = AllenCahn(dim=dim)
    model = MLP(dim, 1, width=WIDTH, depth=DEPTH)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in model.named_parameters()}
    opt = torch.optim.Adam(params.values(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)

    def u(p, x):  # one point: (1 − ‖x‖²)·MLP(x)
        return (1 - x.square().sum()) * functional_call(model, p, (x.unsqueeze(0),))[0, 0]

    def loss(p, x, f, onehot):
        def second(xi, e):  # e_iᵀ ∇²u e_i by forward-over-reverse
            return jvp(lambda y: grad(u, argnums=1)(p, y), (xi,), (e,))[1] @ e

        d2 = vmap(lambda xi: vmap(lambda e: second(xi, e))(onehot))(x)
        lap = d2.sum(1) * (dim / NUM_DIMS)
        value = vmap(lambda xi: u(p, xi))(x)
        return (lap + value - value**3 - f).square().mean()

    sampler = problem.terms()["pde"].sampler
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        x = sampler.sample(BATCH, gen, torch.float32)
        with torch.no_grad():
            f = problem.source(x)
        dims = sample_subset(dim, NUM_DIMS, gen)
        onehot = torch.zeros(NUM_DIMS, dim)
        onehot[torch.arange(NUM_DIMS), dims] = 1
        grads = grad(loss)(params, x, f, onehot)
        for k, p in params.items():
            p.grad = grads[k]
        opt.step()
        times.append(time.perf_counter() - t0)
    steady = times[1:] if len(times) > 1 else times
    return {"steps_per_s": len(steady) / sum(steady), "peak_rss_mb": peak_rss_mb(), "malloc": "default"}


def run_sciml_train(overrides: list[str], threads: int) -> tuple[dict, list[dict]]:
    """One ``sciml-train`` run of ``experiment=stde_allen_cahn`` in a temporary directory on ``threads``
    threads: its ``summary.json`` and its metric rows."""
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [sys.executable, "-m", "sciml.train", "experiment=stde_allen_cahn", *overrides,
               "trainer.eval_every=0", "trainer.eval_points=100", "trainer.progress=false", "device=cpu",
               f"hydra.run.dir={run_dir}"]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-4000:]}")
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
        rows = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return summary, rows


def worker_platform(dim: int, steps: int, threads: int, warmup: int) -> dict:
    summary, rows = run_sciml_train([f"pde.dim={dim}", f"trainer.steps={steps}",
                                     f"trainer.log_every={max(1, warmup // 2)}",
                                     # fusing f pays from d ~ 1e4 (compile: warm-up)
                                     f"pde.compile={str(dim >= 10_000).lower()}"], threads)
    start = next(r for r in rows if r["step"] >= warmup)
    end = rows[-1]
    steady = (end["step"] - start["step"]) / (end["train_s"] - start["train_s"])
    return {"steps_per_s": steady, "steps_per_s_whole_run": summary["steps_per_s"],
            "peak_rss_mb": summary["peak_memory_mb"], "malloc": summary.get("malloc")}


def spawn(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--baseline-max-dim", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None, help="append JSON rows to this file")
    parser.add_argument("--worker", choices=["peak", "baseline", "platform"], default=None)
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    if args.worker == "peak":
        print(json.dumps(worker_peak(args.threads)))
        return
    if args.worker == "baseline":
        print(json.dumps(worker_baseline(args.dim, args.steps, args.threads)))
        return
    if args.worker == "platform":
        print(json.dumps(worker_platform(args.dim, args.steps, args.threads, args.warmup)))
        return
    load = os.getloadavg()[0]
    peak = spawn(["--worker", "peak", "--threads", str(args.threads)])
    print(f"# threads={args.threads} load={load:.1f} matmul peak {peak['peak_gflops']:.0f} GFLOP/s "
          f"(blas {peak['blas_gflops']:.0f}, oneDNN {peak['onednn_gflops']:.0f})", flush=True)
    steps = {1000: (80, 20, 4), 10_000: (40, 10, 3), 100_000: (30, 10, 2), 1_000_000: (14, 4, 1)}
    for dim in args.dims:
        n, warm, nb = steps.get(dim, (50, 10, 3))
        row = {"dim": dim, "threads": args.threads, "load": load, **peak}
        plat = spawn(["--worker", "platform", "--dim", str(dim), "--steps", str(n), "--warmup", str(warm),
                      "--threads", str(args.threads)])
        row.update({f"platform_{k}": v for k, v in plat.items()})
        rate = matmul_work(dim) * plat["steps_per_s"] / 1e9  # GFLOP/s of minimal matmul work
        row["peak_fraction"] = rate / peak["peak_gflops"]
        row["peak_fraction_blas"] = rate / peak["blas_gflops"]
        if dim <= args.baseline_max_dim:
            base = spawn(["--worker", "baseline", "--dim", str(dim), "--steps", str(nb),
                          "--threads", str(args.threads)])
            row.update({f"baseline_{k}": v for k, v in base.items()})
            row["speedup"] = plat["steps_per_s"] / base["steps_per_s"]
        emit(row, args.out)



def emit(row: dict, out: Path | None) -> None:
    """Print a result row as JSON and append it to ``out`` (JSON lines) when given."""
    print(json.dumps(row), flush=True)
    if out:
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")

if __name__ == "__main__":
    main()
