#!/usr/bin/env bash
# Longer runs of results.md: Helmholtz 2-D with a 90 s budget for Adam and the methods that led the 20 s
# sweep, and the Poisson 2-D float64 Gauss-Newton runs. Usage: benchmarks/optimizers/run_long.sh OUT_DIR
set -u
out=${1:?output directory}
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-${USER:-bench}}
py=.venv/bin/python
run() {  # dir problem method lr budget eval_every [extra...]
  local dir="$out/$1/$3_lr$4"
  [ -f "$dir/summary.json" ] && return
  $py benchmarks/optimizers/bench.py --problem "$2" --method "$3" --lr "$4" --budget "$5" --eval-every "$6" \
      --out "$dir" "${@:7}" >> "$out/log.txt" 2>&1 || echo "FAILED $1 $3 $4" >> "$out/log.txt"
}
mkdir -p "$out"
run poisson2 poisson2 lm 1.0 300 10 --dtype float64
for lr in 1e-3 1e-2; do run helmholtz_90s helmholtz adam $lr 90 50; done
run helmholtz_90s helmholtz ssbfgs 1.0 90 10
run helmholtz_90s helmholtz lbfgs 1.0 90 10
run helmholtz_90s helmholtz adam_ssbfgs 1e-3 90 25 --switch 1000
run helmholtz_90s helmholtz adam_lbfgs 1e-3 90 25 --switch 1000
run helmholtz_90s helmholtz stack 3e-3 90 50
run helmholtz_90s helmholtz scion 3e-3 90 50
for method in lm gns engd; do run helmholtz_90s helmholtz $method 1.0 90 10; done
run helmholtz_90s helmholtz adam_lm 1e-3 90 25 --switch 1000
run poisson2 poisson2 engd 1.0 300 10 --dtype float64
run poisson2 poisson2 adam 1e-3 300 100 --dtype float64
