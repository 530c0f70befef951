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
from elixir_coder_lsp.config import load_settings
from elixir_coder_lsp.excludes import is_excluded
from elixir_coder_lsp.findings import SEVERITY_RANK, Finding, at_or_above
from elixir_coder_lsp.rules import catalogue
from elixir_coder_lsp.rules import credo_config as credo_cfg
from elixir_coder_lsp.settings import Settings

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


def read_source(path: Path, max_bytes: int | None = None) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason) for unreadable, too large, binary or non-UTF-8 files."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if max_bytes is not None and len(data) > max_bytes:
        return None, f"too large ({len(data)} bytes, limit {max_bytes})"
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes)"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start})"


def _load_settings(config: str | None) -> Settings:
    settings, errors = load_settings(config_file=config)
    for msg in errors:
        print(f"elixir-coder: {msg}", file=sys.stderr)
    return settings


class Checker:
    """Checks files with the real Credo/Sobelow where they run (checks.credo/sobelow), else the built-in rules."""

    def __init__(self, settings: Settings | None = None, helper: Any = None) -> None:
        from elixir_coder_lsp.tools.project_tools import ProjectTools

        self.settings = settings
        self.helper = helper
        self._configs: dict[Path | None, Any] = {}
        self.tools = ProjectTools(None, settings or Settings())
        self._reported: set[str] = set()

    def _credo_config(self, path: Path) -> Any:
        root = credo_cfg.find_project_root(path)
        if root not in self._configs:
            cfg = None
            if root is not None:
                cfg, err = credo_cfg.load(root, self._helper())
                if err:
                    print(f"elixir-coder: {err}", file=sys.stderr)
            self._configs[root] = cfg
        return self._configs[root]

    def _helper(self) -> Any:
        if self.helper is None:
            from elixir_coder_lsp.elixir.client import default_helper

            self.helper = default_helper()
        return self.helper

    def check_file(self, path: Path) -> tuple[list[Finding], str | None]:
        """Findings of one file, or an error message."""
        from elixir_coder_lsp.inference.check import analyze

        code, err = read_source(path, self.settings.limits.max_document_bytes if self.settings is not None else None)
        if err:
            return [], err
        replaced = self.tools.replaced_sets(str(path))
        result = analyze(
            code,
            filename=str(path),
            settings=self.settings,
            credo_config=self._credo_config(path),
            helper=self._helper(),
            sets=[s for s in ("credo", "sobelow") if s not in replaced],
        )
        if result.error:
            return [], result.error
        findings = list(result.findings)
        if replaced:
            real = self.tools.check(code, str(path.resolve()))
            findings += real.findings
            for problem in real.errors:
                if problem not in self._reported:
                    self._reported.add(problem)
                    print(f"elixir-coder: {problem}", file=sys.stderr)
        return findings, None


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
    settings = _load_settings(getattr(args, "config", None))
    exclude = list(settings.checks.exclude)
    checker = Checker(settings)
    findings: list[Finding] = []
    errors: list[FileError] = []
    checked = 0
    for path, err in collect_files(args.paths, exclude):
        if err is None:
            found, err = checker.check_file(path)
            findings.extend(found)
        if err:
            errors.append(FileError(str(path), err))
            print(f"elixir-coder: {path}: {err}", file=sys.stderr)
        else:
            checked += 1

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
