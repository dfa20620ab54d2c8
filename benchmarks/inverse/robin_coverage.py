"""Calibration of the Laplace intervals on the Robin-coefficient problem (pde=robin_identification): the
same training on ``--draws`` noise draws; how often the 95 % interval of ``h`` covers the truth.

    python benchmarks/inverse/robin_coverage.py [--draws 20] [--noise 0.01]
"""

from __future__ import annotations

import argparse

import torch
from hydra import compose, initialize_config_dir

from sciml.cli.train import CONFIG_DIR, prepare

SETUP = ["pde=robin_identification", "model.width=16", "model.depth=2", "dtype=float64", "trainer.resample=false",
         "optimizer=lm", "trainer.steps=60", "trainer.eval_every=0", "trainer.log_every=0", "trainer.progress=false",
         "trainer.plot=false", "~output"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--noise", type=float, default=0.01)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| noise draw | h | error | sd | 95 % interval | covers |\n|---|---|---|---|---|---|")
    covered = 0
    for draw in range(args.draws):
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose("config", overrides=[*SETUP, f"pde.noise={args.noise}", f"pde.noise_seed={draw}"])
        trainer = prepare(cfg, None, {})
        h = trainer.fit()["unknowns"]["h"]
        truth = trainer.problem.h_true
        hit = h["ci95"][0] <= truth <= h["ci95"][1]
        covered += hit
        print(f"| {draw} | {h['value']:.5f} | {100 * abs(h['value'] - truth) / truth:.3f} % | {h['std']:.2g} | "
              f"[{h['ci95'][0]:.5f}, {h['ci95'][1]:.5f}] | {'yes' if hit else 'no'} |", flush=True)
    print(f"\nThe 95 % interval covers h = {truth} in **{covered} of {args.draws}** noise draws "
          f"(noise {args.noise} · std(u)).")


if __name__ == "__main__":
    main()
