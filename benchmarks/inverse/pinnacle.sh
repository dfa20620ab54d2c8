#!/usr/bin/env bash
# PINNacle's inverse problems PInv and HInv (pdes/pinnacle/inverse.py): joint L2RE over (u, a) and the error
# of a alone, float64, Adam (10 %) then L-BFGS on one fixed point set, stopping when the noisy data reach their
# known noise level (trainer.stop_at_noise, the discrepancy principle). PInv both as PINNacle codes its source
# (variant=coded, inconsistent with the reference pair) and as (u*, a*) solve it (variant=corrected); seeds 0-2.
# Usage: bash benchmarks/inverse/pinnacle.sh [OUT]   (default multirun/inverse_pinnacle)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-multirun/inverse_pinnacle}
export MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
common="dtype=float64 optimizer=adam_lbfgs optimizer.switch=[0.1] trainer.resample=false trainer.stop_at_noise=true
  trainer.eval_every=250 trainer.log_every=250 trainer.progress=false model.width=20 model.depth=3 trainer.steps=4000"
.venv/bin/sciml-train -m pde=pinnacle_poisson_inv pde.variant=corrected,coded seed=0,1,2 $common \
  "pde.batch_size={pde:2048,data_loss:2500,bc_a:512}" hydra.sweep.dir=$OUT/pinv > "$OUT.pinv.log" 2>&1
.venv/bin/sciml-train -m pde=pinnacle_heat_inv pde.coefficient=network seed=0,1,2 $common \
  "pde.batch_size={pde:2048,data_loss:2500,bc_a:512}" hydra.sweep.dir=$OUT/hinv > "$OUT.hinv.log" 2>&1
.venv/bin/python benchmarks/inverse/pinnacle_table.py "$OUT" | tee benchmarks/inverse/pinnacle_table.md
