"""`elixir-coder fix PATH`: apply every deterministic autofix (each one re-checked)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from elixir_coder_lsp.commands.check import Checker, _load_settings, read_source
from elixir_coder_lsp.findings import at_or_above
from elixir_coder_lsp.rules.autofix import fix_all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH, --no-model and --write."""
    parser.add_argument("path", metavar="PATH", help="the .ex/.exs file to fix")
    parser.add_argument("--no-model", action="store_true", dest="no_model", help="deterministic fixes only")
    parser.add_argument("--write", action="store_true", help="write the fixed code back to PATH")


def run(args: argparse.Namespace) -> int:
    """Print {"code", "fixed", "remaining", "attempts"}; exit 1 when errors remain, 2 on tool errors."""
    settings = _load_settings(getattr(args, "config", None))
    path = Path(args.path)
    code, err = read_source(path, settings.limits.max_document_bytes) if path.is_file() else (None, "no such file")
    if err or code is None:
        print(f"elixir-coder: {path}: {err}", file=sys.stderr)
        return 2
    if not args.no_model:
        print("elixir-coder: model repair is not available here; applying deterministic fixes only", file=sys.stderr)
    checker = Checker(settings)
    outcome = fix_all(
        code,
        helper=checker._helper(),
        settings=settings,
        filename=str(path),
        credo_config=checker._credo_config(path),
    )
    if args.write and outcome.code != code:
        path.write_text(outcome.code, encoding="utf-8")
    print(json.dumps(outcome.to_json(), ensure_ascii=False))
    return 1 if any(at_or_above(f, "error") for f in outcome.remaining) else 0
