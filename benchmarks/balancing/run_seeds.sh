#!/usr/bin/env bash
# M4 (lra_code + modified MLP) over seeds, 40,001 steps, one run after another (one thread each).
# Usage: bash benchmarks/balancing/run_seeds.sh klein_gordon [extra overrides, e.g. model.gate_first=false]
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-40001}
SEEDS=${SEEDS:-0,1,2,3,4}
OUT=${OUT:-multirun/balancing_seeds}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
pde=$1
shift
.venv/bin/sciml-train -m experiment=wang2020_$pde balancer=lra_code model=modified_mlp seed=$SEEDS "$@" \
  trainer.steps=$STEPS trainer.eval_every=1000 trainer.progress=false hydra.sweep.dir=$OUT/$pde
.venv/bin/sciml-compare $OUT/$pde --out $OUT/$pde/compare
