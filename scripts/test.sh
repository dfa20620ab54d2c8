#!/usr/bin/env bash
# Set up (idempotent) and run the default test suite. Extra arguments go to pytest (e.g. -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DDE_BACKEND=pytorch
CACHE=$(mktemp -d)
export MPLCONFIGDIR="$CACHE/mpl" TORCHINDUCTOR_CACHE_DIR="$CACHE/inductor" MESA_SHADER_CACHE_DIR="$CACHE/mesa"
export VTK_DEFAULT_OPENGL_WINDOW=${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
rm -rf "$CACHE"
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
