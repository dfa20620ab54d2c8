#!/usr/bin/env bash
# The nine balancers under the step contract with a first-order plan (Adam), Adam → L-BFGS and
# Levenberg-Marquardt, on Helmholtz (a1 = 1, a2 = 4) with the 3×20 network and 600 + 200 points of
# benchmarks/optimizers, float64, seed 0; then the table. Usage: bash benchmarks/balancing/optimizers.sh
# One thread per run, one run at a time. Runs go to $OUT (default multirun/balancing_optimizers/).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-multirun/balancing_optimizers}
STEPS=${STEPS:-4000}
LM_STEPS=${LM_STEPS:-300}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
BALANCERS=fixed,lra_paper,lra_code,lra_pinnacle,grad_norm,relobralo,pcgrad,cagrad,gcond
common="pde=helmholtz pde.batch_size.pde=600 pde.batch_size.bc=200 model.width=20 model.depth=3 dtype=float64
 trainer.eval_every=500 trainer.progress=false trainer.plot=false seed=0 ~output"
mkdir -p "$OUT"
.venv/bin/sciml-train -m $common balancer=$BALANCERS optimizer=adam trainer.steps=$STEPS \
  hydra.sweep.dir=$OUT/adam > $OUT/adam.log 2>&1
.venv/bin/sciml-train -m $common balancer=$BALANCERS optimizer=adam_lbfgs trainer.steps=$STEPS \
  hydra.sweep.dir=$OUT/adam_lbfgs > $OUT/adam_lbfgs.log 2>&1
.venv/bin/sciml-train -m $common balancer=$BALANCERS optimizer=lm trainer.steps=$LM_STEPS \
  hydra.sweep.dir=$OUT/lm > $OUT/lm.log 2>&1
.venv/bin/python benchmarks/balancing/optimizers_table.py "$OUT" > benchmarks/balancing/tables/optimizers.md
cat benchmarks/balancing/tables/optimizers.md
