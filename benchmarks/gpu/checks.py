"""Every CUDA path of the platform, checked against CPU results, and its GPU timings, in one compact report.

Checks (each a row: ok / FAIL / skip, with the numbers behind it):

- ``engine``: value, Laplacian (exact engine) and second derivatives along fixed coordinates (Taylor engine,
  the sparse first-layer route of a d-wide MLP, with its parameter gradients) of a fixed MLP at fixed points,
  on the device in float32 and float64, against the CPU in the same dtype and a float64 nested-autograd
  reference (tolerance by dtype);
- ``lm``: Levenberg-Marquardt steps (Gauss-Newton on the per-point residual Jacobian) on the device from
  the same start and the same fixed points as on the CPU: the same parameters after the steps;
- ``ddp``: ``torchrun`` with one process per GPU over NCCL (one GPU: one process, still through NCCL
  initialisation and an all-reduce); the data-parallel run equals the single-process run;
- ``resume``: ``sciml-train device=cuda`` with a periodic checkpoint, continued from it with
  ``resume=<dir> device=cpu``; what the continuation ran on and whether it equals the uninterrupted run;
  then the same with the run's saved ``config.yaml`` switched to ``device: cpu``;
- ``time``: the DeepXDE Helmholtz pair (``benchmarks/deepxde_helmholtz/bench.py --device``) and the SDGD
  step at d = 10⁵ and 10⁶ (``sciml-train experiment=stde_allen_cahn engine=taylor``) beside the STDE paper's
  A100 rates.

Without CUDA (or with ``--smoke``) the CUDA checks are skipped and the same checks run on the CPU at tiny
sizes (``ddp`` with two processes over gloo), so the script itself is tested anywhere.

    python benchmarks/gpu/checks.py [--smoke] [--out run.json] [--step3 /path/to/sdgd_step/step3.py]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Shi et al., NeurIPS 2024, "Stochastic Taylor Derivative Estimator", Table 3 (two-body Allen-Cahn, STDE with
# |J| = 16, one A100 40 GB; REFERENCES §2): iterations per second at d = 10⁵ and 10⁶
STDE_A100_STEPS_PER_S = {100_000: 283.0, 1_000_000: 21.3}
TOLERANCE = {torch.float32: 2e-4, torch.float64: 1e-9}  # relative to the largest reference magnitude
SUBPROCESS_TIMEOUT = 300


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def row(name: str, ok: bool | None, detail: str, **numbers) -> dict:
    status = "skip" if ok is None else "ok" if ok else "FAIL"
    return {"check": name, "status": status, "detail": detail, **numbers}


# --- engines -------------------------------------------------------------------------------------------------
def engine_rows(device: torch.device, wide_dim: int) -> list[dict]:
    from sciml.engines import Engine, TaylorEngine, autograd_jet
    from sciml.fields import Field
    from sciml.models import MLP

    rows = []
    gen = torch.Generator().manual_seed(0)
    for d, width in ((5, 32), (wide_dim, 64)):
        torch.manual_seed(1)
        base = MLP(d, 1, width=width, depth=3, activation="tanh").double()
        x = torch.randn(24, d, generator=gen, dtype=torch.float64) / d**0.5
        dims = torch.tensor([0, d // 2, d - 1])
        y_ref, _, d2_ref = autograd_jet(base, x, None if d < 100 else dims.tolist())
        lap_ref = d2_ref.sum(1)[:, 0]
        for dtype in (torch.float32, torch.float64):
            results = {}
            for where in (torch.device("cpu"), device):
                net = MLP(d, 1, width=width, depth=3, activation="tanh")
                net.load_state_dict(base.state_dict())
                net = net.to(device=where, dtype=dtype)
                xs = x.to(device=where, dtype=dtype)
                out = {}
                if d < 100:
                    u = Field(net, xs, [f"x{i}" for i in range(d)], Engine())
                    out["laplacian"] = u.laplacian
                y, _, d2 = TaylorEngine().jet(Field(net, xs, [f"x{i}" for i in range(d)], TaylorEngine()),
                                              dims.to(where))
                out["value"], out["d2"] = y, d2
                loss = (y + d2.sum(1)).square().mean()
                out["gradients"] = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))])
                results[where.type] = out
            tol = TOLERANCE[dtype]
            ref = {"value": y_ref, "d2": d2_ref if d >= 100 else d2_ref[:, dims], "laplacian": lap_ref}
            errors = {}
            for key, value in results[device.type].items():
                errors[f"{key} vs cpu"] = relative_error(value, results["cpu"][key])
                if key in ref:
                    errors[f"{key} vs ref"] = relative_error(value, ref[key])
            worst = max(errors.values())
            label = f"engine d={d} {str(dtype).removeprefix('torch.')}"
            detail = f"{device.type} vs cpu and float64 autograd: max rel err {worst:.1e} (tol {tol:.0e})"
            rows.append(row(label, worst <= tol, detail, errors=errors))
    return rows


# --- Levenberg-Marquardt -------------------------------------------------------------------------------------
def lm_parameters(device: torch.device, steps: int) -> list[torch.Tensor]:
    from pdes.poisson import Poisson
    from sciml import optim
    from sciml.balancing import FixedWeights
    from sciml.engines import Engine
    from sciml.geometry import FixedPoints
    from sciml.models import MLP
    from sciml.train import Trainer

    problem = Poisson()
    gen = torch.Generator().manual_seed(0)
    terms = problem.terms()
    for term in terms.values():
        out = term.sampler.sample(min(term.batch_size, 200), gen, torch.float64)
        term.sampler = FixedPoints(out[0] if isinstance(out, tuple) else out)
        term.batch_size = len(term.sampler.x)
    problem.terms = lambda: terms
    torch.manual_seed(0)
    model = MLP(2, 1, width=16, depth=2, activation="tanh")
    trainer = Trainer(problem, model, Engine(), FixedWeights(), optim.lm, steps=steps, resample=False,
                      eval_every=0, log_every=0, metrics=[], progress=False, plot=False, device=device,
                      dtype=torch.float64)
    trainer.fit()
    return [p.detach().cpu() for p in trainer.model.parameters()]


def lm_row(device: torch.device) -> dict:
    steps = 3
    cpu, dev = lm_parameters(torch.device("cpu"), steps), lm_parameters(device, steps)
    err = max(relative_error(a, b) for a, b in zip(dev, cpu))
    tol = 1e-7  # float64; the damped solves round differently on the two devices
    return row("lm step", err <= tol, f"{steps} LM steps float64, {device.type} vs cpu parameters: "
                                      f"max rel err {err:.1e} (tol {tol:.0e})", error=err)


# --- data parallel -------------------------------------------------------------------------------------------
def ddp_worker() -> None:
    """One rank under torchrun: NCCL (gloo on CPU) all-reduce, then a data-parallel run against a
    single-process run of the same seed (on rank 0)."""
    import torch.distributed as dist

    from pdes.poisson import Poisson
    from sciml import optim
    from sciml.balancing import FixedWeights
    from sciml.engines import Engine
    from sciml.models import MLP
    from sciml.train import RunSettings, Trainer
    from sciml.train.distributed import World

    cuda = torch.cuda.is_available() and os.environ.get("SCIML_GPU_CHECK_CPU") != "1"
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    device = torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if cuda else "gloo")
    ones = torch.ones(4, device=device)
    dist.all_reduce(ones)
    reduced = bool((ones == size).all())

    def train(world: World) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = MLP(2, 1, width=16, depth=2, activation="tanh")
        trainer = Trainer(Poisson(batch_size=64), model, Engine(), FixedWeights(), optim.adam, steps=5,
                          eval_every=0, log_every=0, metrics=[], progress=False, plot=False, device=device,
                          dtype=torch.float64, run=RunSettings(world=world))
        trainer.fit()
        return [p.detach() for p in trainer.model.parameters()]

    params = train(World(rank, size))
    spread = 0.0  # ranks must hold the same parameters
    for p in params:
        other = p.clone()
        dist.broadcast(other, 0)
        spread = max(spread, relative_error(p, other))
    backend = dist.get_backend()
    if rank == 0:
        single = train(World())
        err = max(relative_error(a, b) for a, b in zip(params, single))
        print(json.dumps({"backend": backend, "world": size, "all_reduce": reduced, "rank_spread": spread,
                          "vs_single": err, "device": device.type}), flush=True)
    dist.barrier()  # every rank stays in the group until rank 0 is done, then all leave together
    dist.destroy_process_group()


def ddp_row(cuda: bool) -> dict:
    nproc = torch.cuda.device_count() if cuda else 2
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    if not cuda:
        env["SCIML_GPU_CHECK_CPU"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(Path(__file__).resolve()), "--ddp-worker"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return row("ddp", False, f"torchrun exited {done.returncode}: {done.stderr.strip()[-600:]}")
    out = json.loads(lines[-1])
    ok = out["all_reduce"] and out["rank_spread"] == 0 and out["vs_single"] <= 1e-10
    detail = (f"{out['world']} process(es) over {out['backend']} on {out['device']}: all-reduce "
              f"{'ok' if out['all_reduce'] else 'wrong'}, ranks agree ({out['rank_spread']:.0e}), "
              f"vs single process {out['vs_single']:.1e}")
    return row("ddp", ok, detail, **out)


# --- checkpoint on one device, resume on another ---------------------------------------------------------------
def sciml_train(args: list[str], threads: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return subprocess.run([sys.executable, "-m", "sciml.train", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT)


def final_model(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]


def rewind(source: Path, target: Path, step: int) -> None:
    """A copy of ``source`` as if it had stopped right after its checkpoint at ``step``."""
    shutil.copytree(source, target)
    (target / "checkpoint.pt").unlink()
    for path in (target / "checkpoints").glob("step_*.pt"):
        if int(path.stem.split("_")[1]) > step:
            path.unlink()


def continuation(straight: Path, resumed: Path, extra: list[str]) -> tuple[str, str]:
    """Resume ``resumed`` with ``extra`` overrides: (device of the continuation, comparison or error)."""
    done = sciml_train([f"resume={resumed}", *extra], threads=2)  # the threads of the straight run: same sums
    if done.returncode:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return "—", f"failed: {lines[-1][:300] if lines else done.returncode}"
    device = json.loads((resumed / "summary.json").read_text()).get("device", "?")
    a, b = final_model(straight), final_model(resumed)
    if all(torch.equal(a[k], b[k]) for k in a):
        return device, "bit-identical to the uninterrupted run"
    err = max(relative_error(b[k], a[k]) for k in a)
    return device, f"differs from the uninterrupted run (max rel {err:.1e})"


def resume_rows(device: str, steps: int) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="sciml-gpu-resume-"))
    half = steps // 2
    straight = work / "straight"
    done = sciml_train(["pde=poisson", "model.width=16", "model.depth=2", "optimizer=adam", "dtype=float64",
                        f"trainer.steps={steps}", "trainer.eval_every=0", "trainer.progress=false",
                        "trainer.plot=false", "~output", f"checkpoint.every={half}", "checkpoint.keep=5",
                        f"device={device}", f"hydra.run.dir={straight}"], threads=2)
    if done.returncode:
        return [row("resume", False, f"sciml-train device={device} failed: {done.stderr.strip()[-400:]}")]
    rows = []
    rewind(straight, work / "override", half)
    ran_on, outcome = continuation(straight, work / "override", ["device=cpu"])
    ok = ran_on == "cpu" and "identical" in outcome if device == "cpu" else None
    rows.append(row("resume device=cpu", ok,
                    f"checkpoint at step {half} written on {device}; `resume=<dir> device=cpu` ran on "
                    f"{ran_on}: {outcome}", ran_on=ran_on))
    if device != "cpu":
        # the command-line device is not used by a resumed run (it loads the run's config.yaml): switch it there
        rewind(straight, work / "edited", half)
        config = work / "edited" / "config.yaml"
        config.write_text(config.read_text().replace(f"device: {device}", "device: cpu"))
        ran_on, outcome = continuation(straight, work / "edited", [])
        rows.append(row("resume config device: cpu", None,
                        f"saved config switched to cpu: ran on {ran_on}: {outcome}", ran_on=ran_on))
        rewind(straight, work / "same", half)
        ran_on, outcome = continuation(straight, work / "same", [])
        rows.append(row(f"resume on {device}", "identical" in outcome, f"same device: {outcome}"))
    shutil.rmtree(work, ignore_errors=True)
    return rows


# --- timings --------------------------------------------------------------------------------------------------
def helmholtz_row(device: str, steps: int, chunk: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="sciml-gpu-helm-")) / "helmholtz.json"
    cmd = [sys.executable, str(ROOT / "benchmarks/deepxde_helmholtz/bench.py"), "--device", device,
           "--steps", str(steps), "--chunk", str(chunk), "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "DDE_BACKEND": "pytorch"},
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    if done.returncode:
        return row("time helmholtz", False, f"bench.py failed: {done.stderr.strip()[-400:]}")
    res = json.loads(out.read_text())
    detail = (f"{device}, {steps} steps: sciml {res['sciml_ms_per_step']:.2f} ms/step, DeepXDE "
              f"{res['deepxde_ms_per_step']:.2f} ms/step ({res['speedup_sciml_over_deepxde']:.2f}×)")
    return row("time helmholtz", True, detail, **{k: v for k, v in res.items() if k != "chunks_ms"})


def sdgd_row(device: str, dim: int, steps: int, compile_f: bool) -> dict:
    run = Path(tempfile.mkdtemp(prefix="sciml-gpu-sdgd-"))
    args = ["experiment=stde_allen_cahn", "engine=taylor", f"pde.dim={dim}", f"device={device}",
            f"trainer.steps={steps}", "trainer.eval_every=0", "trainer.eval_points=100",
            f"trainer.log_every={max(1, steps // 10)}", "trainer.progress=false",
            f"pde.compile={str(compile_f).lower()}", f"hydra.run.dir={run}"]
    done = sciml_train(args, threads=2 if device == "cpu" else None)
    if done.returncode:
        return row(f"time sdgd d={dim}", False, f"sciml-train failed: {done.stderr.strip()[-400:]}")
    summary = json.loads((run / "summary.json").read_text())
    shutil.rmtree(run, ignore_errors=True)
    rate = summary.get("steady_steps_per_s") or summary["steps_per_s"]
    paper = STDE_A100_STEPS_PER_S.get(dim)
    beside = f"; STDE paper, A100: {paper} steps/s (ratio {rate / paper:.2f})" if paper else ""
    detail = (f"{device}: {rate:.1f} steps/s steady, peak memory {summary.get('peak_memory_mb', 0):.0f} MB"
              f"{beside}")
    return row(f"time sdgd d={dim}", True, detail, steady_steps_per_s=rate, paper_a100=paper,
               peak_memory_mb=summary.get("peak_memory_mb"))


def step3_row(path: Path, dim: int) -> dict:
    done = subprocess.run([sys.executable, str(path), str(dim), "", "15"], cwd=path.parent, capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT, env={**os.environ, "OMP_NUM_THREADS": "2"})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return row(f"time step3 d={dim}", False, f"step3.py failed: {done.stderr.strip()[-300:]}")
    out = json.loads(lines[-1])
    return row(f"time step3 d={dim}", True, f"standalone CPU step: {out['steps_per_s']:.2f} steps/s", **out)


# --- driver ---------------------------------------------------------------------------------------------------
def guarded(name: str, fn: Callable[[], dict | list[dict]]) -> list[dict]:
    t0 = time.perf_counter()
    try:
        out = fn()
    except Exception as error:  # a broken path is a failed check, and the other checks still run
        out = row(name, False, f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}")
    rows = out if isinstance(out, list) else [out]
    for r in rows:
        r["seconds"] = round((time.perf_counter() - t0) / len(rows), 1)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="CPU fallbacks at tiny sizes, even with CUDA")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--step3", type=Path, default=None,
                        help="the standalone SDGD step (step3.py) to time on the CPU beside the GPU rows")
    parser.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ddp_worker:
        ddp_worker()
        return 0
    cuda = torch.cuda.is_available() and not args.smoke
    t0 = time.perf_counter()
    if cuda:
        device = torch.device("cuda")
        print(f"# CUDA: {torch.cuda.get_device_name(0)} × {torch.cuda.device_count()}, torch {torch.__version__}")
    else:
        device = torch.device("cpu")
        why = "--smoke" if args.smoke else "no CUDA device"
        print(f"# {why}: skipped the CUDA checks; running their CPU fallbacks at tiny sizes")
    torch.set_num_threads(2)
    name = device.type
    rows = guarded("engine", lambda: engine_rows(device, 6000 if cuda else 4200))
    rows += guarded("lm step", lambda: lm_row(device))
    rows += guarded("ddp", lambda: ddp_row(cuda))
    rows += guarded("resume", lambda: resume_rows(name, 40 if cuda else 6))
    rows += guarded("time helmholtz", lambda: helmholtz_row(name, 2000 if cuda else 2, 500 if cuda else 2))
    for dim, steps in ({100_000: 400, 1_000_000: 150} if cuda else {1000: 6}).items():
        rows += guarded(f"time sdgd d={dim}", lambda dim=dim, steps=steps: sdgd_row(name, dim, steps, cuda))
    if args.step3 is not None:
        for dim in (100_000, 1_000_000):
            rows += guarded(f"time step3 d={dim}", lambda dim=dim: step3_row(args.step3, dim))
    width = max(len(r["check"]) for r in rows)
    for r in rows:
        print(f"{r['status']:4}  {r['check']:<{width}}  {r['detail']}  [{r['seconds']} s]", flush=True)
    failed = [r["check"] for r in rows if r["status"] == "FAIL"]
    print(f"# {len(rows) - len(failed)}/{len(rows)} not failed in {time.perf_counter() - t0:.0f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if args.out is not None:
        args.out.write_text(json.dumps({"cuda": cuda, "device": name, "torch": torch.__version__,
                                        "rows": rows}, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
