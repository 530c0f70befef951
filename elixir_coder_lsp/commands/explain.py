"""`elixir-coder explain FILE:LINE[:COL]`: markdown for the findings at a position."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from elixir_coder_lsp.commands.check import Checker, _load_settings, read_source
from elixir_coder_lsp.inference.explanation import prepare

_TARGET = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE:LINE[:COL]."""
    parser.add_argument("target", metavar="FILE:LINE[:COL]", help="1-based line (and column) of the finding")
    parser.add_argument("--no-model", action="store_true", dest="no_model", help="leave out the model-written paragraph")


def run(args: argparse.Namespace) -> int:
    """Print markdown (or JSON with --json); exit 1 when nothing is reported there, 2 on bad input."""
    m = _TARGET.match(args.target)
    if not m:
        print("elixir-coder explain: expected FILE:LINE[:COL], e.g. lib/app.ex:12:5", file=sys.stderr)
        return 2
    path = Path(m["file"])
    line, col = int(m["line"]), int(m["col"]) if m["col"] else None
    code, err = read_source(path)
    if err:
        print(f"elixir-coder explain: {path}: {err}", file=sys.stderr)
        return 2
    settings = _load_settings(getattr(args, "config", None))
    checker = Checker(settings)
    found, err = checker.check_file(path)
    if err:
        print(f"elixir-coder explain: {path}: {err}", file=sys.stderr)
        return 2
    here = [f for f in found if f.contains(line, col)]
    from elixir_coder_lsp.tools.project import find_project_root

    root = find_project_root(path)
    prepared = [prepare(code or "", f, helper=checker.helper, workspace_root=root) for f in here]
    paragraphs = _paragraphs(prepared, settings) if prepared and not getattr(args, "no_model", False) else [None] * len(prepared)
    docs = [{"finding": f.to_json(), "markdown": p.render(par)} for f, p, par in zip(here, prepared, paragraphs)]
    if getattr(args, "json", False):
        print(json.dumps({"explanations": docs}, ensure_ascii=False))
    elif docs:
        print("\n\n---\n\n".join(d["markdown"] for d in docs))
    else:
        print(f"No findings at {args.target}.", file=sys.stderr)
    return 0 if docs else 1


def _paragraphs(prepared: list, settings: object) -> list[str | None]:
    """The model paragraph for each finding when a model is configured and available locally (blocking)."""
    from elixir_coder_lsp.api import ElixirCoder
    from elixir_coder_lsp.inference.explain_model import Paragraphs, model_available

    if settings is None or not model_available(settings):
        return [None] * len(prepared)
    coder = ElixirCoder(settings)
    try:
        writer = Paragraphs(coder)
        if not writer.enabled():
            return [None] * len(prepared)
        out: list[str | None] = []
        for p in prepared:
            try:
                out.append(writer.generate(p.context, p.retrieved))
            except Exception as exc:  # noqa: BLE001 - the structured explanation stands on its own
                print(f"elixir-coder explain: no model paragraph ({exc})", file=sys.stderr)
                out.append(None)
        writer.close()
        return out
    finally:
        coder.close()
