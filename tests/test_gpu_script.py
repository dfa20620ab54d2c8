"""benchmarks/gpu: the shell entry point parses, and the driver's CPU fallbacks (``--smoke``) pass."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "benchmarks" / "gpu"


def test_run_sh_parses():
    subprocess.run(["bash", "-n", str(GPU / "run.sh")], check=True)


def test_driver_smoke_runs_every_check_on_the_cpu(tmp_path):
    out = tmp_path / "run.json"
    done = subprocess.run([sys.executable, str(GPU / "checks.py"), "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped the CUDA checks" in done.stdout
    report = json.loads(out.read_text())
    checks = {r["check"]: r["status"] for r in report["rows"]}
    assert report["cuda"] is False and report["device"] == "cpu"
    assert all(status == "ok" for status in checks.values()), checks
    for name in ("engine d=5 float32", "engine d=4200 float64", "lm step", "ddp", "resume device=cpu",
                 "time helmholtz", "time sdgd d=1000"):
        assert name in checks
