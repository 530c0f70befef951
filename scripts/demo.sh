#!/usr/bin/env bash
# Set everything up (idempotent) and run the demo: the server over stdio, as an editor would use it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV="${VENV:-$PWD/.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
exec "$VENV/bin/python" scripts/demo.py "$@"
