"""`elixir-coder fix PATH`: deterministic autofixes first, then model repair when a model is configured."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from elixir_coder_lsp.sources import read_source
from elixir_coder_lsp.commands.common import cli_settings, make_coder
from elixir_coder_lsp.findings import at_or_above

NO_MODEL = "elixir-coder: no model is configured; applying deterministic fixes only (see --no-model)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH, --no-model and --write."""
    parser.add_argument("path", metavar="PATH", help="the .ex/.exs file to fix")
    parser.add_argument("--no-model", action="store_true", dest="no_model", help="deterministic fixes only")
    parser.add_argument("--write", action="store_true", help="write the fixed code back to PATH")


def run(args: argparse.Namespace) -> int:
    """Print {"code", "fixed", "remaining", "attempts", "phases"}; exit 1 when errors remain, 2 on tool errors."""
    from elixir_coder_lsp.elixir.client import default_helper

    path = Path(args.path)
    settings, root = cli_settings(args, [path])
    code, err = read_source(path, settings.limits.max_document_bytes) if path.is_file() else (None, "no such file")
    if err or code is None:
        print(f"elixir-coder: {path}: {err}", file=sys.stderr)
        return 2
    coder = make_coder(settings, root, helper=default_helper())
    try:
        use_model = not args.no_model and coder.has_model()
        if not args.no_model and not use_model:
            print(NO_MODEL, file=sys.stderr)
        outcome = coder.fix(code, use_model=use_model, filename=str(path))
    finally:
        coder.close()
    if outcome.error_kind == "error" or (outcome.status == "failed" and outcome.error_kind != "unparseable"):
        print(f"elixir-coder: {path}: {outcome.message}", file=sys.stderr)
        print(json.dumps(outcome.fix_json(), ensure_ascii=False))
        return 2
    if outcome.extra.get("model_error"):
        print(f"elixir-coder: model repair stopped: {outcome.extra['model_error']}", file=sys.stderr)
    if args.write and outcome.code != code:
        path.write_text(outcome.code, encoding="utf-8")
    print(json.dumps(outcome.fix_json(), ensure_ascii=False))
    return 1 if any(at_or_above(f, "error") for f in outcome.findings) else 0
