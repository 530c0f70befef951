"""`elixir-coder explain FILE:LINE[:COL]`: markdown for the findings at a position."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from elixir_coder_lsp.commands.check import Checker, _load_settings, read_source
from elixir_coder_lsp.inference.explanation import explain

_TARGET = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE:LINE[:COL]."""
    parser.add_argument("target", metavar="FILE:LINE[:COL]", help="1-based line (and column) of the finding")


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
    found, err = Checker(_load_settings(getattr(args, "config", None))).check_file(path)
    if err:
        print(f"elixir-coder explain: {path}: {err}", file=sys.stderr)
        return 2
    here = [f for f in found if f.contains(line, col)]
    docs = [{"finding": f.to_json(), "markdown": explain(code or "", f)} for f in here]
    if getattr(args, "json", False):
        print(json.dumps({"explanations": docs}, ensure_ascii=False))
    elif docs:
        print("\n\n---\n\n".join(d["markdown"] for d in docs))
    else:
        print(f"No findings at {args.target}.", file=sys.stderr)
    return 0 if docs else 1
