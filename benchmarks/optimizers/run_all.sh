#!/usr/bin/env bash
# The optimizer sweep of results.md: every method with its small lr sweep, same network and fixed points,
# a fixed wall-time budget per run. Usage: benchmarks/optimizers/run_all.sh OUT_DIR [BUDGET_S]
set -u
out=${1:?output directory}
budget=${2:-20}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-${USER:-bench}}
py=.venv/bin/python
run() {  # problem method lr eval_every [extra...]
  local dir="$out/$1/$2_lr$3"
  [ -f "$dir/summary.json" ] && return
  $py benchmarks/optimizers/bench.py --problem "$1" --method "$2" --lr "$3" --budget "$budget" \
      --eval-every "$4" --out "$dir" "${@:5}" >> "$out/log.txt" 2>&1 || echo "FAILED $1 $2 $3" >> "$out/log.txt"
}
for problem in helmholtz poisson5; do
  for lr in 1e-3 3e-3 1e-2; do run $problem adam $lr 25; done
  for lr in 5e-3 2e-2 5e-2; do run $problem muon $lr 25; run $problem auon $lr 25; run $problem hybrid_auon $lr 25; done
  run $problem muon_svd 2e-2 25
  # PolarGrad's step is ν·U with ν the nuclear norm of the momentum: 1e-2 and up diverge (NaN) on Helmholtz
  for lr in 1e-5 1e-4 1e-3 1e-2 5e-2 2e-1; do run $problem polargrad $lr 25; done
  for lr in 1e-3 3e-3 1e-2; do run $problem aro $lr 25; run $problem scion $lr 25; done
  for lr in 3e-4 1e-3 3e-3; do run $problem stack $lr 25; run $problem symmetric $lr 25; done
  for method in lbfgs ssbfgs gns lm engd; do run $problem $method 1.0 2; done
  for method in adam_lbfgs adam_gns adam_lm; do run $problem $method 1e-3 10 --switch 300; done
done
