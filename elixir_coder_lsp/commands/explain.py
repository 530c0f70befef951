"""`elixir-coder explain FILE:LINE[:COL]`: markdown for the findings at a position."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from elixir_coder_lsp.sources import read_source
from elixir_coder_lsp.commands.common import cli_settings, make_coder

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
    settings, root = cli_settings(args, [path])
    coder = make_coder(settings, root)
    try:
        found, err = coder.check_file(path)
        if err:
            print(f"elixir-coder explain: {path}: {err}", file=sys.stderr)
            return 2
        here = [f for f in found if f.contains(line, col)]
        markdown = coder.explain(code or "", here, filename=str(path), use_model=not getattr(args, "no_model", False))
    finally:
        coder.close()
    docs = [{"finding": f.to_json(), "markdown": text} for f, text in zip(here, markdown)]
    if getattr(args, "json", False):
        print(json.dumps({"explanations": docs}, ensure_ascii=False))
    elif docs:
        print("\n\n---\n\n".join(d["markdown"] for d in docs))
    else:
        print(f"No findings at {args.target}.", file=sys.stderr)
    return 0 if docs else 1
