"""The `elixirCoder.fix` job: a rule's deterministic fix, checked against the current text."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lsprotocol import types

from elixir_coder_lsp.lsp.actions import finding_of, fix_edits
from elixir_coder_lsp.lsp.generate import workspace_edit
from elixir_coder_lsp.lsp.jobs import Job, JobFailed
from elixir_coder_lsp.lsp.positions import split_lines

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer


async def fix_job(server: ElixirCoderServer, job: Job, report: Callable[[str], None], diagnostic: types.Diagnostic) -> types.WorkspaceEdit | None:
    """Job work for `elixirCoder.fix` {uri, diagnostic}: the rule's deterministic fix, checked against the current text."""
    snap = server.snapshot(job.uri)
    if snap is None:
        raise JobFailed(f"{job.uri} is not open in the editor.")
    finding = finding_of(diagnostic)
    if finding is None:
        raise JobFailed("the diagnostic was not published by elixir-coder-lsp.")
    current = server.diagnostics.findings.get(job.uri, [])
    if finding not in current:
        raise JobFailed("the finding is no longer reported for the current text; nothing to fix.")
    edits = fix_edits(finding, split_lines(snap.text), server.position_encoding())
    if not edits:
        raise JobFailed(
            f"{finding.rule} has no deterministic fix; model repair is not available yet. "
            "Use \"Disable for this line\" or fix it by hand."
        )
    return workspace_edit(job.uri, snap.version, edits, server.supports_document_changes())
