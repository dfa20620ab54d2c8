"""Long runs survive faults: kill -9 and resume, torn and tampered checkpoints, NaN guard, DDP."""

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import torch

from pdes.poisson import Poisson
from sciml import optim
from sciml.balancing import FixedWeights
from sciml.engines import Engine
from sciml.errors import ConfigError
from sciml.io.history import read_metrics
from sciml.models import MLP
from sciml.train import RunSettings, Trainer
from sciml.train.checkpointing import latest_checkpoint, load_checkpoint
from sciml.train.guard import DivergenceError, DivergenceGuard
from tests.helpers.callbacks import InjectNaN

ROOT = Path(__file__).resolve().parents[1]
RUN = ["trainer.steps=300", "checkpoint.every=25", "dtype=float64", "model.width=12", "model.depth=2",
       "trainer.eval_every=100", "trainer.progress=false", "trainer.plot=false", "~output",
       "optimizer.switch=[0.6]"]


def command(args):
    return [sys.executable, "-m", "sciml.train", *args]


def env():
    return {**os.environ, "DDE_BACKEND": "pytorch", "PYTHONPATH": str(ROOT)}


def final_parameters(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def kill_and_resume(args: list[str], tmp_path: Path, kill_at: int) -> tuple[Path, Path]:
    """Run ``args`` straight through, and again killed with SIGKILL once checkpoint ``kill_at`` exists, then
    resumed; the two final parameter sets must be equal. Returns both run directories."""
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    subprocess.run(command([*args, f"hydra.run.dir={straight}"]), cwd=ROOT, env=env(), check=True,
                   capture_output=True, timeout=600)
    slow = "+callbacks.slow._target_=tests.helpers.callbacks.Sleep"
    proc = subprocess.Popen(command([*args, slow, f"hydra.run.dir={broken}"]), cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    target = broken / "checkpoints" / f"step_{kill_at:08d}.pt"
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (broken / "checkpoint.pt").exists()
    out = subprocess.run(command([f"resume={broken}"]), cwd=ROOT, env=env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert "resuming" in out.stdout
    a, b = final_parameters(straight), final_parameters(broken)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    return straight, broken


def test_kill_and_resume_matches_uninterrupted_run(tmp_path):
    _, broken = kill_and_resume(RUN, tmp_path, kill_at=200)  # inside the L-BFGS phase (from step 180)
    steps = [row["step"] for row in read_metrics(broken)]
    assert steps == sorted(set(steps)) and steps[-1] == 300


def small_trainer(tmp_path, steps=60, guard=None, callbacks=(), every=10):
    torch.manual_seed(0)
    problem = Poisson(dim=2, batch_size={"pde": 64, "bc": 32})
    model = MLP(2, 1, width=8, depth=2, input_stats=problem.input_stats())
    return Trainer(problem, model, Engine(), FixedWeights(), partial(optim.adam, lr=1e-2), steps=steps,
                   eval_every=0, log_every=10, progress=False, plot=False,
                   run=RunSettings(run_dir=tmp_path, checkpoint_every=every, checkpoint_keep=3, guard=guard,
                                   callbacks=list(callbacks)))


def test_keeps_last_k_and_skips_torn_or_tampered_files(tmp_path):
    small_trainer(tmp_path, steps=60).fit()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step_00000030.pt", "step_00000040.pt", "step_00000050.pt"]
    path, state = latest_checkpoint(tmp_path)
    assert path.name == "checkpoint.pt" and state["step"] == 60
    # a torn final file (as a non-atomic writer would leave it) is skipped in favour of the newest good one
    data = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "checkpoints" / "step_00000060.pt.tmp").write_bytes(b"partial")
    with pytest.warns(UserWarning, match="truncated or corrupt"):
        path, state = latest_checkpoint(tmp_path)
    assert path.name == "step_00000050.pt" and state["step"] == 50

    # a checkpoint that would run code when unpickled is refused, and the code never runs
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "checkpoints" / "step_00000099.pt"
    with evil.open("wb") as f:
        pickle.dump({"step": 99, "model": Evil()}, f)
    with pytest.raises(ConfigError, match="refused"):
        load_checkpoint(evil)
    with pytest.warns(UserWarning):
        path, _ = latest_checkpoint(tmp_path)
    assert path.name == "step_00000050.pt" and not marker.exists()


def test_nan_rolls_back_with_smaller_learning_rate(tmp_path):
    guard = DivergenceGuard("rollback", max_retries=2, lr_factor=0.5, snapshot_every=10)
    trainer = small_trainer(tmp_path, steps=60, guard=guard, callbacks=[InjectNaN(at=35)])
    summary = trainer.fit()
    assert guard.retries == 1 and summary["steps"] == 60
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.plan.at(0).optimizer.param_groups[0]["lr"] == pytest.approx(5e-3)


def test_nan_stop_policy_keeps_good_checkpoints(tmp_path):
    guard = DivergenceGuard("stop")
    trainer = small_trainer(tmp_path, steps=60, guard=guard, callbacks=[InjectNaN(at=35)])
    with pytest.raises(DivergenceError, match="step 36"):
        trainer.fit()
    assert not (tmp_path / "checkpoint.pt").exists()
    path, state = latest_checkpoint(tmp_path)
    assert state["step"] == 30
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_retries_are_bounded(tmp_path):
    class AlwaysNaN:
        def on_step_end(self, trainer, losses):
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))

    guard = DivergenceGuard("rollback", max_retries=2)
    with pytest.raises(DivergenceError, match="after 2 rollbacks"):
        small_trainer(tmp_path, guard=guard, callbacks=[AlwaysNaN()]).fit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("balancer", ["fixed", "pcgrad"])
def test_ddp_gradients_equal_single_process_on_union(tmp_path, balancer):
    script = ROOT / "tests" / "helpers" / "ddp_gradients.py"
    single, double = tmp_path / "one.pt", tmp_path / "two.pt"
    subprocess.run([sys.executable, str(script), str(single), balancer], cwd=ROOT, env=env(), check=True,
                   timeout=300)
    torchrun = Path(sys.executable).parent / "torchrun"
    out = subprocess.run([str(torchrun), "--nproc_per_node=2", f"--master_port={free_port()}", str(script),
                          str(double), balancer], cwd=ROOT, env={**env(), "OMP_NUM_THREADS": "1"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for a, b in zip(torch.load(single), torch.load(double)):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-13)
