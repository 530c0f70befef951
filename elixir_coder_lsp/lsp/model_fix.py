""""Fix with model": repair the function around a finding (or a selected range) and replace just those lines.

The repair runs through the façade's loop (`ElixirCoder.fix` with a region), so the result is kept
only when it removes a finding, adds none anywhere in the file, parses and keeps every function head.
Everything outside the region stays byte-identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from elixir_coder_lsp.cancel import Cancelled
from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.lsp.generate import progress_events, workspace_edit
from elixir_coder_lsp.lsp.jobs import Job, JobFailed
from elixir_coder_lsp.lsp.positions import codepoint_to_units, split_lines

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.diagnostics import Snapshot
    from elixir_coder_lsp.lsp.server import ElixirCoderServer


def enclosing_function(summary: dict[str, Any] | None, line: int) -> tuple[int, int] | None:
    """1-based (first, last) lines of the innermost def/defp/defmacro around ``line``, or None."""
    spans = [
        (int(d["line"]), int(d.get("end_line") or d["line"]))
        for d in (summary or {}).get("defs", [])
        if d.get("line") and int(d["line"]) <= line <= int(d.get("end_line") or d["line"])
    ]
    return min(spans, key=lambda s: s[1] - s[0]) if spans else None


def region_edit(before: str, after: str, start: int, end: int, encoding: str) -> types.TextEdit:
    """One edit replacing lines [start, end] of ``before`` with the matching lines of ``after`` (the rest is identical)."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    tail = len(old) - end
    replacement = "".join(new[start - 1 : len(new) - tail])
    if end < len(old) or before.endswith("\n"):
        end_pos = types.Position(line=end, character=0)
    else:  # the region is the last line of a document without a final newline
        lines = split_lines(before)
        last = len(lines) - 1
        end_pos = types.Position(line=last, character=codepoint_to_units(lines[last], len(lines[last]), encoding))
    return types.TextEdit(range=types.Range(start=types.Position(line=start - 1, character=0), end=end_pos), new_text=replacement)


async def model_fix_edit(
    server: ElixirCoderServer, job: Job, report: Callable[[str], None], snap: Snapshot, finding: Finding, rng: types.Range | None
) -> types.WorkspaceEdit | None:
    """Repair the range (or the enclosing function) with the model; None edits are never produced for a worse file."""
    loop = asyncio.get_running_loop()
    coder = server.coder_for(job.uri)  # the document's workspace folder's settings
    summary = await loop.run_in_executor(server.executor, coder.summary, snap.text)
    entry_rule = "module_body"
    if rng is not None:
        start, end = rng.start.line + 1, rng.end.line + (1 if rng.end.character > 0 or rng.end.line == rng.start.line else 0)
        region: tuple[int, int] | None = (start, max(start, end))
        around = enclosing_function(summary, start)
        if around is not None and around != region and around[0] <= start and region[1] <= around[1]:
            entry_rule = "expr_seq"  # a selection inside a function body is a sequence of expressions
    else:
        region = enclosing_function(summary, finding.line)
    if region is None:
        raise JobFailed(f"{finding.rule} is not inside a function; select the code to repair and run \"Fix with model\" again.")
    if not coder.has_model():
        raise JobFailed(f"{finding.rule} has no deterministic fix and no model is configured for repairs.")
    report("repairing")
    outcome = await loop.run_in_executor(
        server.executor,
        lambda: coder.fix(
            snap.text,
            [finding],
            region=region,
            entry_rule=entry_rule,
            filename=snap.path,
            sticky_key=job.uri,
            on_event=progress_events(loop, report),
            cancel=job.token,
        ),
    )
    if job.token.cancelled:
        raise Cancelled(job.token.reason)
    if outcome.status == "failed":
        raise JobFailed(outcome.message)
    if outcome.code == snap.text:
        notes = "; ".join(p.note for p in outcome.phases if p.phase == "repair" and p.note)
        raise JobFailed(f"no repair was accepted ({notes or 'nothing to change'}); the code is unchanged.")
    current = server.snapshot(job.uri)
    if current is None or current.version != snap.version:
        raise JobFailed("the document changed while the repair ran; run \"Fix with model\" again.")
    edit = region_edit(snap.text, outcome.code, region[0], region[1], server.position_encoding())
    if outcome.status == "not_clean":
        server.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"Fix with model: {outcome.message}"))
    return workspace_edit(job.uri, snap.version, [edit], server.supports_document_changes())
