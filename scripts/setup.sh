#!/usr/bin/env bash
# Create .venv with the CPU build of torch and every dependency, and install sciml in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, deepxde, meshio, h5py, pyvista, hydra, matplotlib, sciml" 2>/dev/null \
  || { echo "setup failed: a dependency did not import" >&2; exit 1; }
