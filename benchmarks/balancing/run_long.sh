#!/usr/bin/env bash
# M1 (plain) and M4 (lra_code + modified MLP) with a longer step budget on one problem, recording the
# per-layer gradient histograms (Wang et al. Fig. 3) at steps 0 and 1000 and at the end.
# Usage: STEPS=20000 bash benchmarks/balancing/run_long.sh helmholtz|klein_gordon
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-20000}
OUT=${OUT:-multirun/balancing_long}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
pde=$1
common="experiment=wang2020_$pde trainer.steps=$STEPS trainer.eval_every=1000 trainer.progress=false seed=0"
hist="+callbacks=grad_hist callbacks.grad_hist.steps=[0,1000]"
.venv/bin/sciml-train $common $hist balancer=fixed model=mlp hydra.run.dir=$OUT/$pde/m1
.venv/bin/sciml-train $common $hist balancer=lra_code model=modified_mlp hydra.run.dir=$OUT/$pde/m4
.venv/bin/sciml-compare $OUT/$pde --out $OUT/$pde/compare
