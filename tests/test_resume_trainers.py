"""kill -9 and resume equals the uninterrupted run for every trainer and for a stateful sampler, and resuming
a finished run keeps its recorded results."""

import json
import subprocess

import pytest
import torch

from tests.test_resume import ROOT, command, env, kill_and_resume

COMMON = ["trainer.steps=120", "checkpoint.every=20", "dtype=float64", "trainer.eval_every=40",
          "trainer.progress=false", "trainer.plot=false", "~output", "optimizer.switch=[0.5]"]
CASES = {
    # the causal schedule moves within the run (small ε first), so its level must be restored
    "causal": ["pde=convection", "trainer=causal", "trainer.causal.epsilon=[1.0e-4,1.0e-3,1.0e-2,1.0e-1]",
               "pde.batch_size={pde: 128, ic: 32, bc: 32}", "model.width=12", "model.depth=2"],
    "lpinn": ["pde=convection", "trainer=lpinn", "model=lagrangian", "model.x_width=8", "model.u_width=8",
              "model.u_depth=2", "trainer.batch_size={x: 64, u: 64, x0: 16, u0: 16, bc: 16}",
              "trainer.particles=64"],
    "sdgd": ["pde=poisson_ball", "pde.dim=6", "pde.batch_size=32", "trainer=sdgd", "engine=taylor",
             "engine.num_dims=2", "trainer.eval_points=500", "model.width=12", "model.depth=2"],
    # DeepXDE geometry with a quasi-random (Halton) interior sampler, whose draw count is its state
    "deepxde": ["pde=custom", "pde._target_=tests.helpers.disk_poisson.DiskPoisson", "model.width=12",
                "model.depth=2"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kill_and_resume_matches_uninterrupted_run(case, tmp_path):
    # killed inside the L-BFGS phase (from step 60)
    straight, _ = kill_and_resume([*COMMON, *CASES[case]], tmp_path, kill_at=80)
    state = torch.load(straight / "checkpoint.pt", weights_only=True)
    if case == "causal":
        assert state["technique/causal"]["level"] > 0, "the schedule moved (else the test shows nothing)"
    if case == "deepxde":
        assert state["sampler/pde"]["calls"] > 0


def test_resume_of_a_finished_run_keeps_its_results(tmp_path):
    run = tmp_path / "run"
    args = [*COMMON, "trainer.steps=30", "model.width=8", "model.depth=2", f"hydra.run.dir={run}"]
    subprocess.run(command(args), cwd=ROOT, env=env(), check=True, capture_output=True, timeout=600)
    before = json.loads((run / "summary.json").read_text())
    out = subprocess.run(command([f"resume={run}"]), cwd=ROOT, env=env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    after = json.loads((run / "summary.json").read_text())
    for key in ("rel_l2", "max_abs", "best_rel_l2", "steps", "warmup_s", "steady_steps_per_s"):
        assert after[key] == before[key], key
