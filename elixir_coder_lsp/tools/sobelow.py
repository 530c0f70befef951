"""Real Sobelow: parse its JSON output and scan a project (or one buffer in a scratch project)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.severity import severity_for_sobelow_confidence
from elixir_coder_lsp.tools import NothingScanned, ToolError, find_json_object, run_tool, tail
from elixir_coder_lsp.tools.project import ToolSpec

CONFIDENCES = ("high", "medium", "low")

# CWE per Sobelow finding type (the text before ":"), most specific entry first, then its group.
# Choices: atom creation from input exhausts the never-collected atom table -> CWE-770 (allocation
# without limits) rather than the broader CWE-400; `binary_to_term` on input is deserialization of
# untrusted data (CWE-502); EEx evaluation of input is template injection (CWE-1336) rather than the
# generic code injection used for `Code.eval_*` (CWE-94); missing security headers / CSP are a
# protection-mechanism failure (CWE-693); HTTPS/HSTS off is cleartext transmission (CWE-319);
# websocket origin not checked is CWE-1385; the Vuln.* checks flag known-vulnerable dependency
# versions (CWE-1395), except header injection (CWE-113), open redirect (CWE-601), null bytes (CWE-158).
SOBELOW_CWE: dict[str, int] = {
    "SQL": 89,
    "SQL.Query": 89,
    "SQL.Stream": 89,
    "XSS": 79,
    "XSS.Raw": 79,
    "XSS.SendResp": 79,
    "XSS.ContentType": 79,
    "XSS.HTML": 79,
    "Traversal": 22,
    "Traversal.FileModule": 22,
    "Traversal.SendFile": 22,
    "Traversal.SendDownload": 22,
    "Misc.FilePath": 22,
    "CI": 78,
    "CI.OS": 78,
    "CI.System": 78,
    "RCE": 94,
    "RCE.CodeModule": 94,
    "RCE.EEx": 1336,
    "DOS": 770,
    "DOS.StringToAtom": 770,
    "DOS.ListToAtom": 770,
    "DOS.BinToAtom": 770,
    "Misc.StringToAtom": 770,
    "Misc.BinToTerm": 502,
    "Config.CSRF": 352,
    "Config.CSRFRoute": 352,
    "Config.Secrets": 798,
    "Config.CSP": 693,
    "Config.Headers": 693,
    "Config.HTTPS": 319,
    "Config.HSTS": 319,
    "Config.CSWH": 1385,
    "Vuln": 1395,
    "Vuln.HeaderInject": 113,
    "Vuln.Redirect": 601,
    "Vuln.PlugNull": 158,
}

# Extra fields Sobelow attaches to a finding, in the order they are worth showing.
_DETAIL_KEYS = ("variable", "key", "pipeline")


def cwe_for_sobelow_type(type_id: str) -> int | None:
    """CWE id for a Sobelow type like "DOS.StringToAtom" (falls back to its group), or None."""
    if type_id in SOBELOW_CWE:
        return SOBELOW_CWE[type_id]
    return SOBELOW_CWE.get(type_id.split(".", 1)[0])


def _repair_unescaped(text: str) -> str:
    # Sobelow writes its JSON by hand without escaping strings, so a value holding a quote or a
    # backslash breaks it. Its layout is one `"key": value` per line; re-encode each string value.
    fixed = []
    for line in text.splitlines():
        m = re.fullmatch(r'(\s*)"([A-Za-z_]+)": "(.*)"(,?)\s*', line)
        if m:
            line = f"{m.group(1)}\"{m.group(2)}\": {json.dumps(m.group(3))}{m.group(4)}"
        fixed.append(line)
    return "\n".join(fixed)


def _load(text: str) -> dict:
    try:
        return find_json_object(text, "findings", "Sobelow")
    except ToolError as first:
        try:
            return find_json_object(_repair_unescaped(text), "findings", "Sobelow")
        except ToolError:
            raise first from None


def _finding(entry: Any, confidence: str, root: Path | None) -> Finding:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise ToolError(f"Sobelow finding without a type: {tail(repr(entry), 160)}")
    type_id, _, text = entry["type"].partition(":")
    type_id, text = type_id.strip(), text.strip()
    details = [f"{k} `{entry[k]}`" for k in _DETAIL_KEYS if entry.get(k) not in (None, "")]
    message = (text or type_id) + (f" ({', '.join(details)})" if details else "")
    line = entry.get("line")
    line = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else 1
    file = entry.get("file")
    if isinstance(file, str) and file:
        file = str(root / file) if root is not None and not Path(file).is_absolute() else file
    else:
        file = None
    extra = {k: v for k, v in entry.items() if k not in ("type", "file", "line")}
    extra["sobelow_type"] = entry["type"]
    return Finding(
        rule=f"Sobelow.{type_id}",
        source="sobelow",
        severity=severity_for_sobelow_confidence(confidence),
        message=message,
        line=line,
        file=file,
        category="security",
        confidence=confidence,
        cwe=cwe_for_sobelow_type(type_id),
        extra=extra,
    )


def parse_sobelow_json(text: str, *, root: str | os.PathLike[str] | None = None) -> list[Finding]:
    """Sobelow's `--format json` output -> Findings; file paths are joined to ``root`` when given."""
    data = _load(text)
    groups = data["findings"]
    if not isinstance(groups, dict):
        raise ToolError(f'Sobelow JSON: "findings" is not an object but {type(groups).__name__}')
    root_path = Path(root) if root is not None else None
    found: list[Finding] = []
    for confidence in CONFIDENCES:
        entries = groups.get(f"{confidence}_confidence", [])
        if not isinstance(entries, list):
            raise ToolError(f"Sobelow JSON: {confidence}_confidence is not a list")
        found.extend(_finding(e, confidence, root_path) for e in entries)
    return sorted(found, key=lambda f: (f.file or "", f.line, f.rule))


_STUB_MIX = """defmodule ElixirCoderScratch.MixProject do
  use Mix.Project
  def project, do: [app: :elixir_coder_scratch, version: "0.1.0"]
end
"""


def _has_sources(root: Path) -> bool:
    for sub in ("lib", "web"):
        base = root / sub
        if base.is_dir() and next(base.rglob("*.ex"), None) is not None:
            return True
    return False


class SobelowRunner:
    """Run real Sobelow for the project at ``root``."""

    def __init__(self, root: str | os.PathLike[str], spec: ToolSpec) -> None:
        self.root = Path(root)
        self.spec = spec

    def _command(self, scan_root: Path) -> list[str]:
        flags = ["--format", "json", "--private", "--skip"]
        if self.spec.kind == "mix" and scan_root == self.root:
            return [*self.spec.command, *flags]
        return [*self.spec.command, "--root", str(scan_root), *flags]

    def _scan(self, scan_root: Path, timeout: float) -> list[Finding]:
        if not (scan_root / "mix.exs").is_file():
            raise ToolError("Sobelow needs a mix.exs at the project root; it scans nothing without one")
        if not _has_sources(scan_root):
            raise NothingScanned(f"Sobelow found no .ex files under lib/ in {scan_root}; it scanned nothing")
        out = run_tool(self._command(scan_root), cwd=self.root, timeout=timeout)
        try:
            return parse_sobelow_json(out.stdout, root=scan_root)
        except ToolError as exc:
            detail = tail(out.stderr or out.stdout, 400)
            raise ToolError(f"{exc} (exit status {out.returncode}){': ' + detail if detail else ''}") from None

    def check_project(self, timeout: float = 120.0) -> list[Finding]:
        """Scan the whole project on disk; file paths in the findings are absolute."""
        return self._scan(self.root, timeout)

    def check_code(self, code: str, filename: str, timeout: float = 120.0) -> list[Finding]:
        """Scan one buffer alone, placed as lib/<name> in a scratch project; findings name ``filename``."""
        name = Path(filename).name if filename.endswith(".ex") else Path(filename).stem + ".ex"
        scratch = Path(tempfile.mkdtemp(prefix="elixir-coder-sobelow-"))
        try:
            (scratch / "mix.exs").write_text(_STUB_MIX, encoding="utf-8")
            (scratch / "lib").mkdir()
            (scratch / "lib" / name).write_text(code, encoding="utf-8")
            return [f.with_(file=filename) for f in self._scan(scratch, timeout)]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def close(self) -> None:
        """Nothing persistent to stop; each scan is its own process (killed on timeout)."""

    def __enter__(self) -> SobelowRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
