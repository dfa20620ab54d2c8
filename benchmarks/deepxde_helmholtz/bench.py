"""Helmholtz 2-D (a₁ = 1, a₂ = 4, k = 1): sciml against DeepXDE (pytorch backend) in one process.

Same network (4×50 tanh, Glorot-normal, no input scaling), same optimizer (Adam, lr 1e-3, constant), the
same fixed training points (DeepXDE's 1000 domain + 400 boundary points, handed to sciml unchanged), the
same number of steps, float32. The two are trained in alternating chunks so that both see the same
machine load; the speed ratio is the ratio of median seconds per step over the chunks.

    DDE_BACKEND=pytorch python benchmarks/deepxde_helmholtz/bench.py [--steps 5000] [--chunk 1000] [--device cuda]
        [--compile] [--threads 2]

``--compile`` times a third run in the same rotation: sciml with ``trainer.compile=true`` (the loss
evaluation captured by ``torch.compile``, :mod:`sciml.train.compiled`), from the same seed. Both sciml runs
take one untimed step first (the compiled one compiles there: ``compile_s``), so the chunks time steady steps.

``--device`` places both on one device (DeepXDE's pytorch backend moves itself to CUDA whenever CUDA is
present: the torch default device is set to the requested one after it is imported).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("DDE_BACKEND", "pytorch")

import deepxde as dde  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pdes.helmholtz import Helmholtz  # noqa: E402
from sciml import optim  # noqa: E402
from sciml.balancing import FixedWeights  # noqa: E402
from sciml.engines import Engine  # noqa: E402
from sciml.geometry import FixedPoints  # noqa: E402
from sciml.models import MLP  # noqa: E402
from sciml.models.wide import cpu_model  # noqa: E402
from sciml.problem import Term  # noqa: E402
from sciml.train import Trainer  # noqa: E402

A1, A2, K = 1.0, 4.0, 1.0
HERE = Path(__file__).resolve().parent


def deepxde_model(seed: int) -> tuple[dde.Model, np.ndarray, np.ndarray]:
    dde.config.set_random_seed(seed)
    geom = dde.geometry.Rectangle([-1, -1], [1, 1])

    def exact(x):
        return np.sin(A1 * np.pi * x[:, 0:1]) * np.sin(A2 * np.pi * x[:, 1:2])

    def pde(x, u):
        lap = dde.grad.hessian(u, x, i=0, j=0) + dde.grad.hessian(u, x, i=1, j=1)
        q = (K**2 - (A1 * np.pi) ** 2 - (A2 * np.pi) ** 2) * torch.sin(A1 * np.pi * x[:, 0:1]) * \
            torch.sin(A2 * np.pi * x[:, 1:2])
        return lap + K**2 * u - q

    bc = dde.icbc.DirichletBC(geom, exact, lambda _, on_boundary: on_boundary)
    data = dde.data.PDE(geom, pde, bc, num_domain=1000, num_boundary=400, solution=exact, num_test=10_000)
    net = dde.nn.FNN([2] + [50] * 4 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, metrics=["l2 relative error"], verbose=0)
    return model, data.train_x_all, data.train_x_bc


def sciml_trainer(domain: np.ndarray, boundary: np.ndarray, seed: int, device: str = "cpu",
                  compile: bool = False) -> Trainer:
    problem = Helmholtz(a1=A1, a2=A2, k=K, face_sum=False)  # DeepXDE's loss: one mean over the boundary points
    # the same points DeepXDE trains on: its residual set (all points) and its boundary subset
    terms = {"pde": Term(FixedPoints(torch.as_tensor(domain)), problem.pde_residual, len(domain)),
             "bc": Term(FixedPoints(torch.as_tensor(boundary)), problem.bc_residual, len(boundary))}
    problem.terms = lambda: terms
    torch.manual_seed(seed)
    model = MLP(2, 1, width=50, depth=4, activation="tanh", init="xavier_normal", normalize=False)
    return Trainer(problem, model, Engine(), FixedWeights(), partial(optim.adam, lr=1e-3), steps=1,
                   resample=False, eval_every=0, log_every=0, progress=False, eval_resolution=100, device=device,
                   compile=compile)


def deepxde_error(model: dde.Model) -> float:
    x = np.stack(np.meshgrid(np.linspace(-1, 1, 100), np.linspace(-1, 1, 100), indexing="ij"), -1).reshape(-1, 2)
    exact = np.sin(A1 * np.pi * x[:, 0]) * np.sin(A2 * np.pi * x[:, 1])
    pred = model.predict(x)[:, 0]
    return float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--device", default="cpu", help="cpu | cuda (both libraries on it)")
    parser.add_argument("--compile", action="store_true", help="also time sciml with trainer.compile=true")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_device(args.device)

    def synchronize() -> None:
        if args.device != "cpu":
            torch.cuda.synchronize()

    dde_model, domain, boundary = deepxde_model(args.seed)
    trainers = {"sciml": sciml_trainer(domain, boundary, args.seed, args.device)}
    if args.compile:
        trainers["sciml_compiled"] = sciml_trainer(domain, boundary, args.seed, args.device, compile=True)
    warmup = {}
    for name, trainer in trainers.items():  # one untimed step each (the compiled run compiles here)
        t0 = time.perf_counter()
        trainer.fit()
        synchronize()
        warmup[name] = time.perf_counter() - t0

    def sciml_chunk(trainer: Trainer, n: int) -> None:
        trainer.steps += n
        trainer.fit()

    runs = {"deepxde": lambda n: dde_model.train(iterations=n, display_every=10**9, verbose=0)}
    runs.update({name: partial(sciml_chunk, trainer) for name, trainer in trainers.items()})
    times = {name: [] for name in runs}
    order = list(runs)
    done = 0
    while done < args.steps:
        n = min(args.chunk, args.steps - done)
        for name in order:  # the order rotates from chunk to chunk, so no run always follows the same one
            t0 = time.perf_counter()
            runs[name](n)
            synchronize()
            times[name].append((time.perf_counter() - t0) / n)
        order = order[1:] + order[:1]
        done += n
        print(f"{done:6d} steps  ms/step  " + "  ".join(f"{k} {v[-1] * 1e3:.2f}" for k, v in times.items()),
              flush=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "problem": "helmholtz a1=1 a2=4 k=1, 4x50 tanh, Adam 1e-3, 1000 domain + 400 boundary fixed points",
        "steps": args.steps,
        **{f"{k}_ms_per_step": round(v * 1e3, 3) for k, v in median.items()},
        **{f"speedup_{k}_over_deepxde": round(median["deepxde"] / median[k], 2) for k in trainers},
        **{f"{k}_rel_l2": trainer.evaluate()["rel_l2"] for k, trainer in trainers.items()},
        "deepxde_rel_l2": deepxde_error(dde_model),
        "sciml_warmup_s": {k: round(v, 3) for k, v in warmup.items()},
        "compile": {k: trainer.compile_route for k, trainer in trainers.items()},
        "chunks_ms": {k: [round(t * 1e3, 3) for t in v] for k, v in times.items()},
        "torch": torch.__version__, "deepxde": dde.__version__, "threads": torch.get_num_threads(),
        "device": args.device,
        "cpu": cpu_model(), "cores": os.cpu_count(), "load_avg": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d"),
    }
    assert all(math.isfinite(result[f"{k}_rel_l2"]) for k in trainers)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "chunks_ms"}, indent=2))


if __name__ == "__main__":
    main()
