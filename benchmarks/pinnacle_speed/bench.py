"""Burgers1d-C under the PINNacle protocol: per-step time of sciml against DeepXDE (pytorch backend), one process.

PINNacle trains its plain PINN through DeepXDE; this script builds Burgers1d-C (PINNACLE.md §2.1) the way that
code path does and times it against sciml on the very same training points:

- u_t + u u_x − (0.01/π) u_xx = 0 on [−1, 1] × [0, 1], u(x, 0) = −sin(πx), u(±1, t) = 0;
- DeepXDE: ``GeometryXTime(Interval, TimeDomain)``, ``TimePDE`` with 8192 domain, 2048 boundary and 2048
  initial points (Hammersley, the protocol's counts, §1.4), 8192 test points, an ``IC`` and a ``DirichletBC``,
  ``FNN([2] + [100] * 5 + [1], "tanh", "Glorot normal")``, Adam lr 1e-3, full batch, float32;
- sciml: :class:`pdes.pinnacle.burgers1d.Burgers1D` whose three terms are replaced by ``FixedPoints`` holding
  the points DeepXDE drew (the PDE residual on all its training points, the IC and the Dirichlet condition on
  the subsets DeepXDE selects), the same 5×100 tanh MLP (Xavier normal, no input scaling), Adam lr 1e-3,
  float32, stepped by ``Trainer.train_step``; once eager and once with ``compile=True``.

The runs are timed in alternating chunks of ``--chunk`` steps whose order rotates, so machine load falls on
all of them alike; the reported figure is the median seconds per step over ``--chunks`` chunks. Both sciml
trainers take two untimed steps first (the first, eager, records the jet plan; the compiled one compiles in
the second: ``warmup_s``), and DeepXDE two as well.

Each ``model.train(iterations=n)`` call of DeepXDE evaluates its losses on the training and test points twice
(before the first step and after the last); the chunk times include that, as a PINNacle run pays it once per
100 steps. ``deepxde_test_eval_ms`` is the measured cost of one such evaluation, so that a step-only figure
can be derived: ``deepxde_step_only_ms_per_step``.

    DDE_BACKEND=pytorch OMP_NUM_THREADS=1 python benchmarks/pinnacle_speed/bench.py --chunk 100 --chunks 6 \
        --threads 1 --out benchmarks/pinnacle_speed/results.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

os.environ.setdefault("DDE_BACKEND", "pytorch")

import deepxde as dde  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pdes.pinnacle._common import crossed, load  # noqa: E402
from pdes.pinnacle.burgers1d import Burgers1D  # noqa: E402
from sciml import optim  # noqa: E402
from sciml.balancing import FixedWeights  # noqa: E402
from sciml.engines import Engine  # noqa: E402
from sciml.geometry import FixedPoints  # noqa: E402
from sciml.models import MLP  # noqa: E402
from sciml.models.wide import cpu_model  # noqa: E402
from sciml.problem import Term  # noqa: E402
from sciml.train import Trainer  # noqa: E402

NU = 0.01 / math.pi
COUNTS = {"domain": 8192, "boundary": 2048, "initial": 2048, "test": 8192}
WIDTH, DEPTH = 100, 5
HERE = Path(__file__).resolve().parent


def deepxde_model(seed: int) -> tuple[dde.Model, dict[str, np.ndarray]]:
    """PINNacle's Burgers1D through DeepXDE, and the points each of its loss terms is evaluated on."""
    dde.config.set_random_seed(seed)
    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))

    def pde(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        u_x = dde.grad.jacobian(u, x, i=0, j=0)
        u_t = dde.grad.jacobian(u, x, i=0, j=1)
        u_xx = dde.grad.hessian(u, x, i=0, j=0)
        return u_t + u * u_x - NU * u_xx

    ic = dde.icbc.IC(geom, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    bc = dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), lambda _, on_boundary: on_boundary)
    data = dde.data.TimePDE(geom, pde, [ic, bc], num_domain=COUNTS["domain"], num_boundary=COUNTS["boundary"],
                            num_initial=COUNTS["initial"], num_test=COUNTS["test"])
    net = dde.nn.FNN([2] + [WIDTH] * DEPTH + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, verbose=0)
    cuts = np.cumsum([0] + list(data.num_bcs))
    points = {"pde": data.train_x_all,
              "ic": data.train_x_bc[cuts[0]:cuts[1]],
              "dirichlet": data.train_x_bc[cuts[1]:cuts[2]]}
    return model, points


def sciml_trainer(points: dict[str, np.ndarray], seed: int, compile: bool) -> Trainer:
    """sciml's Burgers1d-C on DeepXDE's points, the same network shape and optimizer."""
    problem = Burgers1D()
    residuals = {"pde": problem.pde_residual, "ic": problem.ic_residual, "dirichlet": problem.dirichlet_residual}
    terms = {name: Term(FixedPoints(torch.as_tensor(points[name], dtype=torch.float32)), residual,
                        len(points[name]))
             for name, residual in residuals.items()}
    problem.terms = lambda: terms
    torch.manual_seed(seed)
    model = MLP(2, 1, width=WIDTH, depth=DEPTH, activation="tanh", init="xavier_normal", normalize=False)
    return Trainer(problem, model, Engine(), FixedWeights(), partial(optim.adam, lr=1e-3), steps=10**9,
                   resample=False, eval_every=0, log_every=0, metrics=[], progress=False, plot=False, seed=seed,
                   compile=compile)


def reference_l2re(predict: Callable[[np.ndarray], np.ndarray]) -> float:
    """PINNacle's L2RE on the COMSOL nodes of ``burgers1d.npz`` (§1.5)."""
    x, u = crossed(load("burgers1d.npz"))
    pred = predict(x.astype(np.float32)).reshape(u.shape)
    return float(np.linalg.norm(pred - u) / np.linalg.norm(u))


def sciml_predict(trainer: Trainer, x: np.ndarray) -> np.ndarray:
    """The trained sciml network at ``x``."""
    with torch.no_grad():
        return trainer.net(torch.as_tensor(x)).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=100, help="steps per timed chunk")
    parser.add_argument("--chunks", type=int, default=6, help="timed chunks per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dde_model, points = deepxde_model(args.seed)
    trainers = {"sciml_eager": sciml_trainer(points, args.seed, compile=False),
                "sciml_compiled": sciml_trainer(points, args.seed, compile=True)}
    warmup = {}
    for name, trainer in trainers.items():  # two untimed steps each: the first (eager) records the jet plan,
        t0 = time.perf_counter()            # the compiled run compiles in the second
        trainer.train_step()
        trainer.train_step()
        warmup[name] = time.perf_counter() - t0
    dde_model.train(iterations=2, display_every=10**9, verbose=0)  # two untimed DeepXDE steps as well

    def sciml_chunk(trainer: Trainer, n: int) -> None:
        for _ in range(n):
            trainer.train_step()

    runs: dict[str, Callable[[int], object]] = {
        "deepxde": lambda n: dde_model.train(iterations=n, display_every=10**9, verbose=0)}
    runs.update({name: partial(sciml_chunk, trainer) for name, trainer in trainers.items()})
    times: dict[str, list[float]] = {name: [] for name in runs}
    loads = [os.getloadavg()[0]]
    order = list(runs)
    for chunk in range(args.chunks):
        for name in order:  # the order rotates from chunk to chunk, so no run always follows the same one
            t0 = time.perf_counter()
            runs[name](args.chunk)
            times[name].append((time.perf_counter() - t0) / args.chunk)
        order = order[1:] + order[:1]
        loads.append(os.getloadavg()[0])
        print(f"chunk {chunk + 1}/{args.chunks}  ms/step  "
              + "  ".join(f"{k} {v[-1] * 1e3:.1f}" for k, v in times.items()) + f"  load {loads[-1]:.2f}", flush=True)

    test_eval = []
    for _ in range(3):  # one of DeepXDE's per-call loss evaluations on the training and test points
        t0 = time.perf_counter()
        dde_model._test(verbose=0)
        test_eval.append(time.perf_counter() - t0)
    test_s = statistics.median(test_eval)

    median = {k: statistics.median(v) for k, v in times.items()}
    dde_step_only = median["deepxde"] - 2 * test_s / args.chunk
    steps = 2 + args.chunk * args.chunks
    final_loss = {k: float(sum(t.losses(t.points_for(t.plan.at(t.step))).values()).detach())
                  for k, t in trainers.items()}
    result = {
        "problem": "PINNacle Burgers1d-C, 5x100 tanh, Adam 1e-3, full batch, float32, DeepXDE's points: "
                   f"{len(points['pde'])} pde / {len(points['ic'])} ic / {len(points['dirichlet'])} dirichlet",
        "chunk": args.chunk, "chunks": args.chunks, "steps_each": steps,
        **{f"{k}_ms_per_step": round(v * 1e3, 2) for k, v in median.items()},
        "deepxde_test_eval_ms": round(test_s * 1e3, 2),
        "deepxde_step_only_ms_per_step": round(dde_step_only * 1e3, 2),
        **{f"deepxde_over_{k}": round(median["deepxde"] / median[k], 2) for k in trainers},
        **{f"deepxde_step_only_over_{k}": round(dde_step_only / median[k], 2) for k in trainers},
        "l2re_after_steps": {"deepxde": reference_l2re(dde_model.predict),
                             **{k: reference_l2re(partial(sciml_predict, t)) for k, t in trainers.items()}},
        "final_train_loss": {"deepxde": float(np.sum(dde_model.train_state.loss_train)), **final_loss},
        "sciml_warmup_s": {k: round(v, 2) for k, v in warmup.items()},
        "compile": {k: t.compile_route for k, t in trainers.items()},
        "chunks_ms": {k: [round(t * 1e3, 2) for t in v] for k, v in times.items()},
        "load_avg_1min_during": [round(v, 2) for v in loads],
        "torch": torch.__version__, "deepxde": dde.__version__, "threads": torch.get_num_threads(),
        "cpu": cpu_model(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "chunks_ms"}, indent=2))


if __name__ == "__main__":
    main()
