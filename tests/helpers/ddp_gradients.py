"""One training step under torchrun (or alone) on fixed points; saves the parameter gradients.

    torchrun --nproc_per_node=2 tests/helpers/ddp_gradients.py OUT.pt BALANCER
"""

import os
import sys
from functools import partial

import torch

from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights, PCGrad
from sciml.engines import Engine
from sciml.geometry import FixedPoints
from sciml.models import MLP
from sciml.problem import Term
from sciml.train import RunSettings, Trainer
from sciml.train.distributed import init_from_env


def main(out: str, balancer: str) -> None:
    torch.set_default_dtype(torch.float64)
    world = init_from_env(torch.device("cpu"))
    problem = Poisson(dim=2)
    g = torch.Generator().manual_seed(0)
    terms = problem.terms()
    fixed = {name: Term(FixedPoints(term.sampler.sample(64, g, torch.float64)), term.residual, 64)
             for name, term in terms.items()}
    problem.terms = lambda: fixed
    torch.manual_seed(0)
    model = MLP(2, 1, width=16, depth=2, input_stats=problem.input_stats())
    chosen = PCGrad() if balancer == "pcgrad" else FixedWeights({"bc": 3.0})
    trainer = Trainer(problem, model, Engine(), chosen, partial(optim.adam, lr=1e-12), steps=1,
                      resample=False, eval_every=0, log_every=0, progress=False, dtype=torch.float64,
                      metrics=[], run=RunSettings(world=world))
    trainer.train_step()
    if world.is_main:
        torch.save([p.grad.clone() for p in model.parameters()], out)
    if world.active:
        # Leave together, then skip interpreter teardown: the gloo group's threads occasionally abort
        # ("terminate called without an active exception") while the interpreter shuts down, after the
        # result above is already written. The gradients are what this script checks.
        torch.distributed.barrier()
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
