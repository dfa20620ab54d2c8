#!/usr/bin/env bash
# Wang et al. 2020 M1–M4 on Helmholtz and Klein-Gordon, with PCGrad, CAGrad, ReLoBRaLo and GCond beside
# them (seed 0 everywhere), then the comparison tables. Usage: STEPS=6000 bash benchmarks/balancing/run.sh
# One thread per run; by default two queues run side by side on the 2 cores (SERIAL=1: one after the
# other, leaving a core free). Sweeps go to $OUT (default multirun/balancing/).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-6000}
OUT=${OUT:-multirun/balancing}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-sciml} OMP_NUM_THREADS=1
common="trainer.steps=$STEPS trainer.eval_every=1000 trainer.progress=false seed=0"

sweep() {  # $1 = pde name, $2 = experiment, $3 = sweep name, then overrides
  local pde=$1 exp=$2 name=$3
  shift 3
  .venv/bin/sciml-train -m experiment=$exp "$@" $common hydra.sweep.dir=$OUT/$pde/$name
}
H="helmholtz wang2020_helmholtz"
K="klein_gordon wang2020_klein_gordon"
GC=(balancer=gcond "optimizer.betas=[0.0,0.999]")

queue1() {
  sweep $H m1_m4 balancer=fixed,lra_code model=mlp,modified_mlp
  sweep $H conflict balancer=pcgrad,cagrad,relobralo
  sweep $H gcond "${GC[@]}"
  sweep $K pcgrad balancer=pcgrad
}
queue2() {
  sweep $K m1_m4 balancer=fixed,lra_code model=mlp,modified_mlp
  sweep $K conflict balancer=cagrad,relobralo
  sweep $K gcond "${GC[@]}"
}
mkdir -p "$(dirname "$OUT")"
if [ "${SERIAL:-0}" = 1 ]; then  # two queues of about equal cost, one after the other
  { queue1; queue2; } > $OUT.queue.log 2>&1
else                              # ... or side by side
  queue1 > $OUT.queue1.log 2>&1 &
  queue2 > $OUT.queue2.log 2>&1 &
  wait
fi
for pde in helmholtz klein_gordon; do
  .venv/bin/sciml-compare $OUT/$pde --out $OUT/$pde/compare
done
