"""Findings → LSP diagnostics, and the debounced per-document analysis that publishes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.lsp import limits as input_limits
from elixir_coder_lsp.rules.rule import doc_url
from elixir_coder_lsp.settings import LimitsSettings
from elixir_coder_lsp.lsp.positions import lsp_range, split_lines

log = logging.getLogger(__name__)

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
TOO_LARGE_CODE = input_limits.TOO_LARGE_CODE
UNAVAILABLE_CODE = "ElixirCoder.AnalysisUnavailable"


def to_diagnostic(finding: Finding, lines: list[str], encoding: str = "utf-16") -> types.Diagnostic:
    """Convert one finding, keeping what code actions need in `data`."""
    url = doc_url(finding.rule, finding.cwe)
    return types.Diagnostic(
        range=lsp_range(lines, finding.line, finding.column, finding.end_line, finding.end_column, encoding),
        message=finding.message,
        severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.rule,
        code_description=types.CodeDescription(href=url) if url else None,
        source=finding.source,
        data=finding.as_dict(),
    )


@dataclass(frozen=True)
class Snapshot:
    """What one analysis sees: a document at one version."""

    uri: str
    version: int | None
    text: str
    path: str | None


class DiagnosticsScheduler:
    """Debounces changes per document, runs analysis off the event loop and drops stale results.

    Results are published only when their version is still the document's current version, so a slow
    analysis of version 3 can never overwrite the diagnostics of version 4.
    """

    def __init__(
        self,
        *,
        snapshot: Callable[[str], Snapshot | None],
        analyze: Callable[[Snapshot], list[Finding]],
        publish: Callable[[str, int | None, list[types.Diagnostic]], None],
        encoding: Callable[[], str],
        executor: Any,
        is_excluded: Callable[[str | None], bool],
        on_error: Callable[[str], None],
        ready: Callable[[], Awaitable[Any]] | None = None,
        limits: Callable[[str], LimitsSettings],
    ) -> None:
        self._snapshot = snapshot
        self._analyze = analyze
        self._publish = publish
        self._encoding = encoding
        self._executor = executor
        self._is_excluded = is_excluded
        self._on_error = on_error
        self._ready = ready
        self._limits = limits  # a document's [limits]: documents skipped with a diagnostic saying why (lsp/limits.py)
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.published_versions: dict[str, int | None] = {}
        self.findings: dict[str, list[Finding]] = {}  # what the last publish showed, for hover

    def schedule(self, uri: str, delay_s: float) -> None:
        """(Re)start the debounce timer for a document."""
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self._pending[uri] = asyncio.ensure_future(self._run(uri, delay_s))

    def forget(self, uri: str) -> None:
        """Stop pending work for a closed document and clear its diagnostics."""
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.published_versions.pop(uri, None)
        self.findings.pop(uri, None)
        self._publish(uri, None, [])

    def cancel_all(self) -> None:
        """Stop every pending analysis (shutdown)."""
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()

    async def _run(self, uri: str, delay_s: float) -> None:
        try:
            if self._ready is not None:
                await self._ready()  # settings from workspace/configuration arrive after the first didOpen
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            snap = self._snapshot(uri)
            if snap is None or self._is_excluded(snap.path):
                if snap is not None:
                    self._publish(uri, snap.version, [])
                return
            loop = asyncio.get_running_loop()
            skipped = await loop.run_in_executor(self._executor, self._skip_diagnostic, snap)
            if skipped is not None:
                self._publish_skipped(snap, skipped)
                return
            try:
                try:
                    findings = await loop.run_in_executor(self._executor, self._analyze, snap)
                except Exception as exc:
                    if getattr(exc, "kind", "") != "crashed":
                        raise
                    # the helper died under this analysis (killed, or another request crashed it) and has been
                    # restarted: one more try, so the document's diagnostics are not lost
                    log.info("analysis of %s hit a helper crash; trying once more", uri)
                    findings = await loop.run_in_executor(self._executor, self._analyze, snap)
            except Exception as exc:  # the helper is missing or crashed: tell the user once, keep serving
                refused = self._refusal(snap, exc)
                if refused is not None:  # input the helper will not take (too deeply nested, ...)
                    self._publish_skipped(snap, refused)
                    return
                log.warning("analysis of %s failed: %s", uri, exc)
                self._on_error(str(exc))
                return
            lines = split_lines(snap.text)
            encoding = self._encoding()
            if self._publish_if_current(snap, [to_diagnostic(f, lines, encoding) for f in findings]):
                self.findings[uri] = findings
        except asyncio.CancelledError:
            pass
        finally:
            if self._pending.get(uri) is asyncio.current_task():
                del self._pending[uri]

    def _skip_diagnostic(self, snap: Snapshot) -> types.Diagnostic | None:
        return input_limits.skip_diagnostic(snap.text, self._limits(snap.uri))

    def _refusal(self, snap: Snapshot, exc: Exception) -> types.Diagnostic | None:
        kind = getattr(exc, "kind", "")
        return input_limits.refusal_diagnostic(kind, getattr(exc, "detail", str(exc)), self._limits(snap.uri)) if kind else None

    def _publish_skipped(self, snap: Snapshot, diagnostic: types.Diagnostic) -> None:
        if self._publish_if_current(snap, [diagnostic]):
            self.findings[snap.uri] = []

    def _publish_if_current(self, snap: Snapshot, diagnostics: list[types.Diagnostic]) -> bool:
        current = self._snapshot(snap.uri)
        if current is None or current.version != snap.version:
            log.debug("dropping diagnostics for %s v%s (now v%s)", snap.uri, snap.version, current and current.version)
            return False
        self.published_versions[snap.uri] = snap.version
        self._publish(snap.uri, snap.version, diagnostics)
        return True

    def findings_at(self, uri: str, line1: int, column1: int) -> list[Finding]:
        """Published findings whose span contains a 1-based (line, code-point column)."""
        return [f for f in self.findings.get(uri, []) if f.contains(line1, column1)]
