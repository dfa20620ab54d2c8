"""sciml-compare on a tiny sweep run through the real command line (sciml-train -m in a subprocess)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sciml.compare.runs import Run, label_runs
from sciml.diagnostics.grad_hist import load

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "DDE_BACKEND": "pytorch", "HYDRA_FULL_ERROR": "1"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    cmd = [str(BIN / "sciml-train"), "-m", "pde=klein_gordon", "optimizer=adam", "balancer=fixed,lra_code",
           "model=mlp,modified_mlp", "model.width=8", "model.depth=2", "trainer.steps=30",
           "trainer.eval_every=10", "trainer.log_every=10", "trainer.progress=false", "trainer.plot=false",
           "trainer.eval_resolution=20", "+callbacks=grad_hist", "callbacks.grad_hist.steps=[0,10]",
           "pde.batch_size={pde: 16, ic: 16, bc: 16}", f"hydra.sweep.dir={out}"]
    subprocess.run(cmd, cwd=ROOT, env=env(), check=True, capture_output=True, timeout=300)
    return out


def test_sweep_writes_histogram_data(sweep):
    steps, terms, layers, arrays = load(sweep / "0" / "grad_hist.npz")
    assert steps == [0, 10, 30] and terms == ["pde", "ic", "bc"] and len(layers) == 3
    assert arrays["s10__pde__layers.1.weight"].shape == (64,)
    assert np.all(np.isfinite(arrays["s30__bc__layers.0.weight"]))


def test_compare_writes_table_and_figures(sweep, tmp_path):
    result = subprocess.run([str(BIN / "sciml-compare"), str(sweep), "--out", str(tmp_path)], cwd=ROOT,
                            env=env(), check=True, capture_output=True, text=True, timeout=300)
    for name in ("table.md", "table.csv", "curves.png", "weights.png", "grad_hist_0.png", "grad_hist_3.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    with (tmp_path / "table.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == ["balancer=fixed model=mlp", "balancer=fixed model=modified_mlp",
                                        "balancer=lra_code model=mlp", "balancer=lra_code model=modified_mlp"]
    for r, n in zip(rows, range(4)):
        summary = json.loads((sweep / str(n) / "summary.json").read_text())
        assert float(r["rel_l2"]) == summary["rel_l2"] and float(r["best_rel_l2"]) <= float(r["rel_l2"])
        assert float(r["steady_steps_per_s"]) == summary["steady_steps_per_s"] > 0 and int(r["steps"]) == 30
    assert "balancer=lra_code model=modified_mlp" in (tmp_path / "table.md").read_text()
    assert "balancer=fixed model=mlp" in result.stdout


def test_compare_rejects_empty_directory(tmp_path):
    result = subprocess.run([str(BIN / "sciml-compare"), str(tmp_path)], env=env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "no run directories" in result.stderr


def test_labels_keep_only_differing_overrides(tmp_path):
    runs = [Run(tmp_path / "a", ["pde=x", "balancer=fixed"], {}, []),
            Run(tmp_path / "b", ["pde=x", "balancer=gcond"], {}, []),
            Run(tmp_path / "c", ["pde=x", "balancer=gcond"], {}, [])]
    label_runs(runs)
    assert runs[0].label == "balancer=fixed"
    assert runs[1].label.startswith("balancer=gcond (") and runs[1].label != runs[2].label
