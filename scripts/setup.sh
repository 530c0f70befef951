#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: Elixir (Debian package), a virtualenv, CPU torch, the package.
# Usage: scripts/setup.sh            (VENV=path to use another virtualenv; default .venv in the repo)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-$PWD/.venv}"
PYTHON="${PYTHON:-python3}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if ! command -v elixir >/dev/null 2>&1; then
  echo "==> installing Elixir (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq elixir >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.elixir-coder-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing torch 2.13.0 (CPU) and the package with test extras"
  "$VENV/bin/pip" install -q --upgrade pip
  # torch first, pinned, so nothing later resolves a (multi-GB) CUDA build.
  "$VENV/bin/pip" install -q "torch==2.13.0"
  "$VENV/bin/pip" install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
echo "==> ready: $("$VENV/bin/python" -c 'import torch, transformers, llguidance, pygls; print("torch", torch.__version__, "| transformers", transformers.__version__, "| llguidance", llguidance.__version__ if hasattr(llguidance, "__version__") else "?", "| pygls ok")') | $(elixir --version 2>/dev/null | tail -1)"
