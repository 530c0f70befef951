#!/usr/bin/env bash
# Runs editors/tests/eglot_test.el in batch Emacs with eglot: run_eglot.sh [EMACS] (default: emacs).
set -euo pipefail
source "$(dirname "$0")/common.sh"
EMACS="${1:-emacs}"
EC_WORKDIR="$(ec_workdir)"
export EC_WORKDIR
trap 'rm -rf "$EC_WORKDIR"' EXIT
"$EMACS" --version | head -1
cd "$EC_WORKDIR"
# -q, not -Q: Debian's site start-up puts elpa-eglot (/usr/share/emacs/site-lisp/elpa) on the load path.
timeout 420 "$EMACS" --batch -q -l "$EC_REPO/editors/tests/eglot_test.el"
