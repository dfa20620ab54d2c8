"""Soak check: a run killed (SIGKILL) at random moments and resumed each time ends bit-identical to the
same run left alone.

    python benchmarks/resume_soak/soak.py [--steps 3000] [--kills 5] [--seed 0]

Writes results.json beside this file. The kills follow random checkpoints spread over the whole run (both
optimizer phases), each at a random moment after its checkpoint, so every interruption forces a resume.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def command(steps: int, run: Path) -> list[str]:
    return [sys.executable, "-m", "sciml.train", "pde=helmholtz", "optimizer=adam_lbfgs", "optimizer.switch=[0.8]",
            f"trainer.steps={steps}", "trainer.eval_every=500", "trainer.progress=false", "trainer.plot=false",
            "~output", "checkpoint.every=100", "checkpoint.keep=2", "dtype=float64", f"hydra.run.dir={run}"]


def newest_step(run: Path) -> int:
    steps = [int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("step_*.pt")] \
        if (run / "checkpoints").is_dir() else []
    return max(steps, default=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "DDE_BACKEND": "pytorch", "PYTHONPATH": str(ROOT)}
    work = Path(tempfile.mkdtemp(prefix="sciml-soak-"))
    straight, broken = work / "straight", work / "broken"

    t0 = time.time()
    subprocess.run(command(args.steps, straight), cwd=ROOT, env=env, check=True, capture_output=True)
    straight_s = time.time() - t0

    # kill after random checkpoints spread over the whole run (Adam and L-BFGS phases alike), each at a
    # random moment after that checkpoint was written
    every = 100
    targets = sorted(rng.sample(range(1, args.steps // every), args.kills))
    kills = []
    cmd = command(args.steps, broken)
    for target in targets:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while newest_step(broken) < target * every and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.2))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(newest_step(broken))
        cmd = [sys.executable, "-m", "sciml.train", f"resume={broken}"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)

    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(broken / "checkpoint.pt", weights_only=True)
    identical = all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    same_optimizer = all(
        torch.equal(x, y) for pa, pb in zip(a["optimizer"], b["optimizer"])
        for x, y in zip(_tensors(pa), _tensors(pb)))
    result = {"steps": args.steps, "kills": len(kills), "newest_checkpoint_at_each_kill": kills,
              "parameters_identical": identical, "optimizer_state_identical": same_optimizer,
              "uninterrupted_run_s": round(straight_s, 1), "date": time.strftime("%Y-%m-%d"),
              "problem": "helmholtz 4x50 float64, Adam then L-BFGS from step 0.8*steps, checkpoint.every=100"}
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0 if identical and same_optimizer else 1)


def _tensors(obj) -> list:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=str) for t in _tensors(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


if __name__ == "__main__":
    main()
