#!/usr/bin/env bash
# Set up (idempotent) and run sciml-train on the built-in default config; arguments are hydra overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DDE_BACKEND=pytorch
exec .venv/bin/sciml-train "$@"
