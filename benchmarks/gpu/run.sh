#!/usr/bin/env bash
# Every CUDA path of the platform checked against the CPU, plus the GPU timings, in one report (under 8
# minutes on one GPU). Without CUDA it says so, runs the CPU fallbacks of the same checks at tiny sizes and
# exits 0 when they pass. Rows go to benchmarks/gpu/run.json; see benchmarks/gpu/README.md.
#   bash benchmarks/gpu/run.sh [--smoke] [--step3 /path/to/sdgd_step/step3.py]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export DDE_BACKEND=pytorch
exec timeout 480 "$PY" benchmarks/gpu/checks.py --out benchmarks/gpu/run.json "$@"
