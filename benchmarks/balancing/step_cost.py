"""Cost of one training step under each balancer, timed interleaved in one process (same load for all).

Helmholtz (Wang et al. 2020 batches), 4×50 tanh MLP, float32, exact Taylor engine, Adam. Each round runs
``--steps`` steps per balancer; rounds alternate the balancers so that a change in machine load hits
them all alike; the table gives the median over rounds and the ratio to fixed weights.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/balancing/step_cost.py [--rounds 5 --steps 100]
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch

from pdes.helmholtz import Helmholtz
from sciml.balancing import (
    CAGrad,
    FixedWeights,
    GCond,
    GradNorm,
    LRACode,
    LRAPaper,
    LRAPinnacle,
    PCGrad,
    ReLoBRaLo,
)
from sciml.engines import Engine
from sciml.models import MLP
from sciml.optim import adam
from sciml.train import Trainer

BALANCERS = {"fixed": FixedWeights, "lra_paper": LRAPaper, "lra_code": LRACode, "lra_pinnacle": LRAPinnacle,
             "grad_norm": GradNorm, "pcgrad": PCGrad, "cagrad": CAGrad, "gcond": GCond, "relobralo": ReLoBRaLo}


def trainer(name: str, steps: int) -> Trainer:
    torch.manual_seed(0)
    problem = Helmholtz()
    model = MLP(2, 1, width=50, depth=4, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), BALANCERS[name](), partial(adam, lr=1e-3), steps=10**9,
                   eval_every=0, log_every=0, metrics=[], progress=False, plot=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    trainers = {name: trainer(name, args.steps) for name in BALANCERS}
    for t in trainers.values():  # warm-up
        for _ in range(10):
            t.train_step()
    times: dict[str, list[float]] = {name: [] for name in BALANCERS}
    for _ in range(args.rounds):
        for name, t in trainers.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                t.train_step()
            times[name].append((time.perf_counter() - start) / args.steps)
    base = statistics.median(times["fixed"])
    print(f"torch threads: {torch.get_num_threads()}, rounds: {args.rounds} × {args.steps} steps\n")
    print("| balancer | ms / step (median) | steps/s | cost vs fixed |\n|---|---|---|---|")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {1e3 * m:.2f} | {1 / m:.1f} | {m / base:.2f}× |")


if __name__ == "__main__":
    main()
