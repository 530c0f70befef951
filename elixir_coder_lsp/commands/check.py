"""`elixir-coder check PATH...`: built-in Credo/Sobelow-style findings as text, JSON or SARIF 2.1.0."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elixir_coder_lsp import __version__
from elixir_coder_lsp.commands.common import Progress, cli_settings, make_coder
from elixir_coder_lsp.excludes import is_excluded
from elixir_coder_lsp.findings import SEVERITY_RANK, Finding, at_or_above
from elixir_coder_lsp.rules import catalogue

log = logging.getLogger(__name__)

EXTENSIONS = (".ex", ".exs")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH... plus --format and --fail-on."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (walked for .ex/.exs)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--fail-on", choices=tuple(SEVERITY_RANK), default="error", dest="fail_on")


@dataclass
class FileError:
    """A file that could not be checked."""

    file: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "message": self.message}


def collect_files(paths: Iterable[str], exclude: Iterable[str]) -> Iterator[tuple[Path, str | None]]:
    """(path, error) for every file to check; directories are walked for .ex/.exs files."""
    exclude = list(exclude)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                rel_dir = os.path.relpath(dirpath, p)
                dirnames[:] = sorted(
                    d for d in dirnames if not is_excluded(os.path.normpath(os.path.join(rel_dir, d)) + "/", exclude)
                    and not is_excluded(os.path.normpath(os.path.join(rel_dir, d)), exclude)
                )
                for name in sorted(filenames):
                    rel = os.path.normpath(os.path.join(rel_dir, name))
                    if name.endswith(EXTENSIONS) and not is_excluded(rel, exclude):
                        yield Path(dirpath) / name, None
        elif p.is_file():
            if not is_excluded(os.path.normpath(raw), exclude):
                yield p, None
        else:
            yield p, "no such file or directory"


def sarif(findings: list[Finding], errors: list[FileError], base: Path) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; rules come from the catalogue."""
    rules = [
        {
            "id": r.id,
            "name": r.id.split(".")[-1],
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.what or r.title},
            "helpUri": r.doc_url,
            "help": {
                "text": f"{r.why}\n\nHow to fix: {r.how_to_fix}",
                "markdown": f"{r.why}\n\n**How to fix:** {r.how_to_fix}\n\n```elixir\n{r.good_example}\n```",
            },
            "properties": {"tags": [r.tool, r.category] + ([f"external/cwe/cwe-{r.cwe}"] if r.cwe else [])},
        }
        for r in catalogue.all_rules()
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    for f in findings:
        if f.rule not in index:
            index[f.rule] = len(rules)
            rules.append({"id": f.rule, "name": f.rule.split(".")[-1], "shortDescription": {"text": f.rule}})

    def uri(path: str | None) -> str:
        if not path:
            return ""
        p = Path(path)
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return p.resolve().as_uri()

    results = []
    for f in findings:
        region = {"startLine": f.line, "startColumn": f.column}
        if f.end_line is not None:
            region["endLine"] = f.end_line
        if f.end_column is not None:
            region["endColumn"] = f.end_column
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _SARIF_LEVEL.get(f.severity, "warning"),
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(f.file)}, "region": region}}],
                "properties": {"source": f.source, "fixable": f.fixable},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "elixir-coder",
                        "version": __version__,
                        "informationUri": "https://github.com/elixir-coder/elixir-coder-lsp",
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not errors,
                        "toolExecutionNotifications": [
                            {
                                "level": "error",
                                "message": {"text": e.message},
                                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(e.file)}}}],
                            }
                            for e in errors
                        ],
                    }
                ],
            }
        ],
    }


def run(args: argparse.Namespace) -> int:
    """Check the paths; exit 0 clean, 1 findings at/above --fail-on, 2 nothing could be checked."""
    fmt = "json" if getattr(args, "json", False) else args.format
    settings, root = cli_settings(args, args.paths)
    exclude = list(settings.checks.exclude)
    findings: list[Finding] = []
    errors: list[FileError] = []
    checked = 0
    files = list(collect_files(args.paths, exclude))
    progress = Progress(len(files), "checking", enabled=None if len(files) > 20 else False)
    from elixir_coder_lsp.elixir.client import default_helper

    coder = make_coder(settings, root, helper=default_helper())
    try:
        for path, err in files:
            if err is None:
                found, err = coder.check_file(path)  # the editor's checking path (docs/architecture.md)
                findings.extend(found)
            progress.advance()
            if err:
                errors.append(FileError(str(path), err))
                print(f"elixir-coder: {path}: {err}", file=sys.stderr)
            else:
                checked += 1
    finally:
        progress.close()
        coder.close()

    if fmt == "json":
        doc = {
            "findings": [f.to_json() for f in findings],
            "errors": [e.to_json() for e in errors],
            "files_checked": checked,
        }
        print(json.dumps(doc, ensure_ascii=False))
    elif fmt == "sarif":
        print(json.dumps(sarif(findings, errors, Path.cwd()), ensure_ascii=False))
    else:
        for f in findings:
            print(f"{f.file}:{f.line}:{f.column}: {f.severity}: {f.message} [{f.rule}]")
        print(f"{checked} file(s) checked, {len(findings)} finding(s), {len(errors)} error(s)", file=sys.stderr)

    if checked == 0 and errors:
        return 2
    if any(at_or_above(f, args.fail_on) for f in findings):
        return 1
    return 0
