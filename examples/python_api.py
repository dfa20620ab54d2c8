"""Training from Python instead of the command line: the same objects the configs build.

    python examples/python_api.py
"""

from functools import partial

import torch

from pdes.helmholtz import Helmholtz
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.models import MLP
from sciml.train import RunSettings, Trainer

if __name__ == "__main__":
    torch.manual_seed(0)
    problem = Helmholtz(a1=1, a2=2)
    model = MLP(problem.dim, 1, width=50, depth=3, input_stats=problem.input_stats())
    plan = partial(optim.chain, phases=[partial(optim.adam, lr=1e-3), partial(optim.lbfgs)], switch=[0.6])
    trainer = Trainer(problem, model, Engine(), FixedWeights({"bc": 10.0}), plan, steps=2000,
                      eval_every=250, run=RunSettings(run_dir="outputs/python_api"))
    summary = trainer.fit()
    print(f"relative L2 error {summary['rel_l2']:.2e} at {summary['steps_per_s']:.0f} steps/s")
