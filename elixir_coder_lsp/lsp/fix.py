"""The `elixirCoder.fix` job: a rule's deterministic fix, or "Fix with model" on the enclosing function or range."""

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


async def fix_job(
    server: ElixirCoderServer,
    job: Job,
    report: Callable[[str], None],
    diagnostic: types.Diagnostic,
    rng: types.Range | None = None,
) -> types.WorkspaceEdit | None:
    """Job work for `elixirCoder.fix` {uri, diagnostic, range?}: the deterministic fix, else a model repair."""
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
    if edits:
        return workspace_edit(job.uri, snap.version, edits, server.supports_document_changes())
    from elixir_coder_lsp.lsp.model_fix import model_fix_edit

    return await model_fix_edit(server, job, report, snap, finding, rng)
