#!/usr/bin/env bash
# Runs editors/tests/nvim_test.lua in headless Neovim: run_nvim.sh [NVIM [API]] (default: nvim on PATH;
# API start or start_client forces an older setup path).
set -euo pipefail
source "$(dirname "$0")/common.sh"
NVIM="${1:-nvim}"
case "$NVIM" in */*) NVIM="$(cd "$(dirname "$NVIM")" && pwd)/$(basename "$NVIM")" ;; esac   # we cd below
export EC_NVIM_API="${2:-}"   # optional: start or start_client, to run an older setup path
export EC_FREE_TEXT="${EC_FREE_TEXT:-0}"   # 1: answer the question with "Other" and typed text
EC_WORKDIR="$(ec_workdir)"
export EC_WORKDIR
trap 'rm -rf "$EC_WORKDIR"' EXIT
"$NVIM" --version | head -1
cd "$EC_WORKDIR"
timeout 420 "$NVIM" --headless -u NONE -i NONE -n -c "luafile $EC_REPO/editors/tests/nvim_test.lua"
