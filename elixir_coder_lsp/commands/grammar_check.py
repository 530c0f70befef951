"""`elixir-coder grammar-check PATH... [--rule NAME]`: which files the constrained-decoding grammar accepts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the grammar-check arguments."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".ex/.exs files or directories")
    parser.add_argument("--rule", default="start", help="grammar entry rule: start | module_body | expr_seq")


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".ex", ".exs") and q.is_file()))
        else:
            out.append(p)
    return out


def run(args: argparse.Namespace) -> int:
    """Check each file; exit 0 when all are accepted, 1 otherwise, 2 on usage or read errors."""
    from elixir_coder_lsp.api import ElixirCoder

    if args.rule not in ElixirCoder.grammar_rules():
        print(f"grammar-check: unknown rule {args.rule!r}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    failed_io = False
    for path in _files(args.paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"grammar-check: cannot read {path}: {exc}", file=sys.stderr)
            failed_io = True
            continue
        res = ElixirCoder.grammar_check(text, args.rule)
        row: dict[str, Any] = {"path": str(path), "accepted": res.accepted}
        if not res.accepted:
            row.update(line=res.line, column=res.column, offset=res.offset)
        rows.append(row)
    accepted = sum(1 for r in rows if r["accepted"])
    if args.json:
        print(json.dumps({"files": rows, "accepted": accepted, "total": len(rows)}))
    else:
        for r in rows:
            if r["accepted"]:
                print(f"{r['path']}: accepted")
            else:
                print(f"{r['path']}:{r['line']}:{r['column']}: rejected (byte offset {r['offset']})")
        print(f"{accepted}/{len(rows)} accepted")
    if failed_io:
        return 2
    return 0 if accepted == len(rows) else 1
