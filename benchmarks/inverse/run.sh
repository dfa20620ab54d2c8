#!/usr/bin/env bash
# Burgers identification (experiment=burgers_identification): one clean run and 20 runs with 1 % noise that
# differ only in the noise draw (pde.noise_seed=0..19), two at a time (joblib), one thread each; then the
# table of recovered coefficients, errors and the coverage of the 95 % intervals.
# Usage: bash benchmarks/inverse/run.sh [OUT]   (default multirun/inverse)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-multirun/inverse}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
common="experiment=burgers_identification trainer.progress=false seed=0"
.venv/bin/sciml-train -m $common pde.noise=0.0 hydra/launcher=joblib hydra.launcher.n_jobs=2 \
  hydra.sweep.dir=$OUT/clean > "$OUT.clean.log" 2>&1
.venv/bin/sciml-train -m $common pde.noise=0.01 "pde.noise_seed=range(20)" trainer.steps=8000 hydra/launcher=joblib \
  hydra.launcher.n_jobs=2 hydra.sweep.dir=$OUT/noise1 > "$OUT.noise1.log" 2>&1
.venv/bin/python benchmarks/inverse/table.py "$OUT" | tee benchmarks/inverse/burgers_table.md
