#!/usr/bin/env bash
# The LPINN / convection benchmarks as recorded in results.md (2 shared CPU cores, float32).
# Budget-limited settings (the step counts of the configs are the full-length runs; see results.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DDE_BACKEND=pytorch MPLCONFIGDIR=${MPLCONFIGDIR:-/tmp/mpl-$USER}
# one thread per run: with many processes on 2 cores, OpenMP spin-waiting made steps ~500x slower
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
common=(trainer.progress=false trainer.plot=false "~output")

# c-sweep, ν = 0.01: PINN and LPINN (multirun dirs multirun/convection_sweep/{pinn,lpinn}/c<c>)
.venv/bin/sciml-train -m experiment=lpinn_sweep trainer.steps=600 'optimizer.switch=[580]' trainer.eval_every=300 \
  'trainer.batch_size={x: 500, u: 500, x0: 256, u0: 256}' "${common[@]}"
.venv/bin/sciml-train -m experiment=convection_sweep trainer.steps=600 'optimizer.switch=[580]' trainer.eval_every=300 \
  "${common[@]}"

# convection β = 40: periodic MLP + exact initial condition + causal weights, Adam → L-BFGS
.venv/bin/sciml-train experiment=convection_beta40 trainer.steps=1500 'optimizer.switch=[1300]' \
  'pde.batch_size={pde: 2000}' hydra.run.dir=benchmarks/lpinn/runs/beta40 "${common[@]}"

# NLS (|h| vs NLS.mat) and Burgers (vs burgers_shock.mat), Raissi et al. 2019 setups, shortened
.venv/bin/sciml-train experiment=raissi_nls trainer.steps=600 'optimizer.switch=[400]' 'pde.batch_size={pde: 2000, ic: 50, bc: 100}' trainer.eval_every=200 hydra.run.dir=benchmarks/lpinn/runs/nls "${common[@]}"
.venv/bin/sciml-train experiment=raissi_burgers trainer.steps=600 'optimizer.switch=[200]' 'pde.batch_size={pde: 2000, ic: 100, bc: 100}' trainer.eval_every=200 hydra.run.dir=benchmarks/lpinn/runs/burgers "${common[@]}"

# NLS by Levenberg-Marquardt (exactly periodic net, soft initial condition, 2000 points redrawn every 10 steps)
.venv/bin/sciml-train experiment=nls_lm trainer.progress=false hydra.run.dir=benchmarks/lpinn/runs/nls_lm

# the longer LPINN sweep of results.md
.venv/bin/sciml-train -m experiment=lpinn_sweep trainer.steps=3000 'optimizer.switch=[2900]' trainer.eval_every=1000 \
  'trainer.batch_size={x: 500, u: 500, x0: 256, u0: 256}' hydra.sweep.dir=multirun/convection_sweep_long/lpinn "${common[@]}"

# the PINN sweep at the LPINN's budget
.venv/bin/sciml-train -m experiment=convection_sweep trainer.steps=3000 'optimizer.switch=[2900]' trainer.eval_every=500 \
  hydra.sweep.dir=multirun/convection_sweep_long_v2/pinn "${common[@]}"

.venv/bin/python benchmarks/lpinn/table.py multirun/convection_sweep benchmarks/lpinn/runs/*
.venv/bin/python benchmarks/lpinn/table.py multirun/convection_sweep_long
.venv/bin/python benchmarks/lpinn/table.py multirun/convection_sweep_long_v2
