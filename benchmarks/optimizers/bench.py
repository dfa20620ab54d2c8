"""Optimizer benchmark: error against wall time on Helmholtz 2-D, Poisson 5-D and Poisson 2-D (float64).

Every run uses the platform's Trainer with the same network, seed and one fixed set of collocation points
(``resample=False``), and stops after a fixed wall-time budget. One run
directory per (problem, method, lr) with the Trainer's ``metrics.jsonl`` and ``summary.json``.

    python benchmarks/optimizers/bench.py --problem helmholtz --method muon --lr 0.02 --budget 30 --out DIR
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import torch

import sciml.optim as optim
from pdes.helmholtz import Helmholtz
from pdes.poisson import Poisson
from sciml.balancing.fixed import FixedWeights
from sciml.engines.base import Engine
from sciml.models import MLP
from sciml.train.trainer import RunSettings, Trainer

ADAM = {"rule": "adam", "lr": 1e-3}
SCHEDULE = {"schedule": "exponential", "decay_rate": 0.9, "decay_steps": 1000}


def hidden(rule: str, lr: float, **options) -> partial:
    """A matrix rule on the hidden matrices, Adam (1e-3) on the first/last layers and biases."""
    return partial(optim.stack, name=rule, input=ADAM, hidden={"rule": rule, "lr": lr, **options}, output=ADAM,
                   vector=ADAM, **SCHEDULE)


def methods(lr: float, switch: int) -> dict[str, partial]:
    second = {"gns": partial(optim.gns), "lm": partial(optim.lm), "engd": partial(optim.engd),
              "ssbfgs": partial(optim.ssbfgs), "lbfgs": partial(optim.lbfgs)}
    table = {
        "adam": partial(optim.adam, lr=lr, **SCHEDULE),
        "muon": hidden("muon", lr),
        "muon_svd": hidden("muon", lr, polar="svd"),
        "polargrad": hidden("polargrad", lr),
        "auon": hidden("auon", lr),
        "hybrid_auon": hidden("hybrid_auon", lr),
        "aro": hidden("aro", lr),
        "scion": partial(optim.stack, name="scion", input={"rule": "scion", "norm": "spectral", "lr": lr},
                         hidden={"rule": "scion", "norm": "spectral", "lr": lr},
                         output={"rule": "scion", "norm": "sign", "lr": lr, "radius": 16.0}, vector=ADAM, **SCHEDULE),
        # the symmetry-compatible stacks: row-norm input, column-norm output, hidden Muon / hybrid / right spectral
        "stack": partial(optim.stack, input={"rule": "row", "lr": lr}, hidden={"rule": "muon", "lr": 20 * lr},
                         output={"rule": "col", "lr": lr}, vector=ADAM, **SCHEDULE),
        "symmetric": partial(optim.stack, name="symmetric", input={"rule": "row", "lr": lr},
                             hidden={"rule": "hybrid", "lr": lr}, output={"rule": "col", "lr": lr}, vector=ADAM,
                             **SCHEDULE),
        **second,
    }
    for name in second:
        table[f"adam_{name}"] = partial(optim.chain, phases=[partial(optim.adam, lr=1e-3, **SCHEDULE), second[name]],
                                        switch=[switch])
    return table


def problem(name: str):
    if name == "helmholtz":
        return Helmholtz(a1=1.0, a2=4.0, batch_size={"pde": 600, "bc": 200}, face_sum=False), 3, 20
    if name == "poisson5":
        return Poisson(dim=5, solution="sin_sum", batch_size={"pde": 600, "bc": 400}), 3, 20
    if name == "poisson2":
        return Poisson(dim=2, solution="sin_prod", batch_size={"pde": 250, "bc": 50}), 2, 10
    raise SystemExit(f"unknown problem {name}")


class Budget:
    """Stops the run once ``seconds`` of wall time have passed (the few evaluations included)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.t0 = seconds, 0.0

    def on_train_start(self, trainer) -> None:
        self.t0 = time.perf_counter()

    def on_step_end(self, trainer, losses) -> None:
        if time.perf_counter() - self.t0 >= self.seconds:
            trainer.steps = trainer.step  # the trainer evaluates, logs and stops after this step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--switch", type=int, default=1000, help="Adam steps before the second phase")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", help="run directory whose checkpoint (model and optimizer) to continue from")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: no OpenMP oversubscription "
                        "on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    prob, depth, width = problem(args.problem)
    model = MLP(prob.dim, 1, width=width, depth=depth, input_stats=prob.input_stats())
    factory = methods(args.lr, args.switch)[args.method]
    budget = Budget(args.budget)
    run_dir = Path(args.out)
    trainer = Trainer(prob, model, Engine(), FixedWeights(), factory, steps=10**7, resample=False,
                      eval_every=args.eval_every, log_every=0, progress=False, seed=args.seed,
                      dtype=getattr(torch, args.dtype), plot=False,
                      run=RunSettings(run_dir=run_dir, callbacks=[budget],
                                      info={"method": args.method, "lr": args.lr, "budget_s": args.budget,
                                            "problem": args.problem}))
    if args.resume:
        trainer.load_training_state(torch.load(Path(args.resume) / "checkpoint.pt", weights_only=False))
    summary = trainer.fit()
    print(json.dumps({k: summary.get(k) for k in ("method", "lr", "steps", "train_s", "rel_l2", "best_rel_l2")}))


if __name__ == "__main__":
    main()
