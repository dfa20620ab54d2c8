#!/usr/bin/env bash
# Create .venv with the CPU build of torch and every dependency, and install sciml in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
export DDE_BACKEND=pytorch   # deepxde would otherwise write ~/.deepxde/config.json
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
log=$(mktemp)
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >>"$log" 2>&1; }
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
if ! pip_install torch==2.13.0 || ! pip_install -e ".[test]"; then
  cat "$log" >&2
  echo "setup failed: pip could not install the dependencies (log above)" >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -c "import torch, deepxde, meshio, h5py, pyvista, hydra, matplotlib, sciml" 2>/dev/null \
  || { echo "setup failed: a dependency did not import" >&2; exit 1; }
