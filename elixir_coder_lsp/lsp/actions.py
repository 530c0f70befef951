"""Code actions and the commands behind them: deterministic quick fixes, "Disable for this line",
"Explain" and "Generate code".

Actions that need work carry a command and return at once; deterministic fixes carry their edit. Each
command takes one argument object; its class here is what pygls structures the JSON into.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.lsp.generate import range_to_codepoints, selected_text, workspace_edit
from elixir_coder_lsp.lsp.insertion import find_site
from elixir_coder_lsp.lsp.positions import lsp_position, split_lines
from elixir_coder_lsp.rules.suppress import disable_edit

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

log = logging.getLogger(__name__)

CMD_GENERATE = "elixirCoder.generate"
CMD_FIX = "elixirCoder.fix"
CMD_EXPLAIN = "elixirCoder.explain"
CMD_CANCEL = "elixirCoder.cancel"


@attrs.define
class GenerateArgs:
    """`elixirCoder.generate` {uri, range, prompt?, instance?}."""

    uri: str
    range: types.Range
    prompt: str | None = None  # the request text; by default it is found at the range
    instance: str | None = None  # a named model instance; by default routing decides


@attrs.define
class DiagnosticArgs:
    """`elixirCoder.explain` {uri, diagnostic} and `elixirCoder.fix` {uri, diagnostic, range?}."""

    uri: str
    diagnostic: types.Diagnostic
    range: types.Range | None = None  # "Fix with model": repair these lines instead of the enclosing function


@attrs.define
class CancelArgs:
    """`elixirCoder.cancel` {jobId} or {uri}: one job, or the job running on a document whoever started it (a
    code action's job included, whose id only the editor's code-action machinery saw)."""

    job_id: str | None = None
    uri: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.job_id is None) == (self.uri is None):
            raise ValueError("elixirCoder.cancel takes either jobId or uri")


def finding_of(diagnostic: types.Diagnostic) -> Finding | None:
    """The Finding a diagnostic of ours carries in `data` (None for other servers' diagnostics)."""
    data = diagnostic.data
    if not isinstance(data, dict) or "rule" not in data:
        return None
    try:
        return Finding.from_dict(data)
    except TypeError:
        return None


def fix_edits(finding: Finding, lines: list[str], encoding: str) -> list[types.TextEdit]:
    """The rule's deterministic autofix as LSP edits (edits use 1-based code-point columns, end exclusive)."""
    fix = finding.extra.get("fix") if finding.extra else None
    if not isinstance(fix, dict):
        return []
    edits = []
    for e in fix.get("edits", []):
        start = lsp_position(lines, e["line"], e["column"], encoding)
        end = lsp_position(lines, e.get("end_line", e["line"]), e.get("end_column", e["column"]), encoding)
        edits.append(types.TextEdit(range=types.Range(start=start, end=end), new_text=e.get("text", "")))
    return edits


def disable_line_edit(code: str, finding: Finding, lines: list[str], encoding: str) -> types.TextEdit | None:
    """Insert `# credo:disable-for-next-line Check` / `# sobelow_skip [...]` above the finding's line."""
    result = disable_edit(code, finding)
    if result is None:
        return None
    insert_line, text = result
    pos = types.Position(line=max(0, insert_line - 1), character=0) if insert_line >= 1 else types.Position(line=0, character=0)
    if not text.endswith("\n"):
        text += "\n"
    return types.TextEdit(range=types.Range(start=pos, end=pos), new_text=text)


def code_actions(server: ElixirCoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """All actions for a range; cheap enough for the event loop (text scans only, no helper calls)."""
    uri = params.text_document.uri
    snap = server.snapshot(uri)
    if snap is None:
        return []
    encoding = server.position_encoding()
    lines = split_lines(snap.text)
    only = params.context.only
    wants_quickfix = not only or any(str(k).startswith("quickfix") for k in only)
    wants_refactor = not only or any(str(k).startswith("refactor") for k in only)
    doc_changes = server.supports_document_changes()
    actions: list[types.CodeAction] = []
    has_model = wants_quickfix and bool(params.context.diagnostics) and server.coder_for(uri).has_model()
    if wants_quickfix:
        for diagnostic in params.context.diagnostics:
            finding = finding_of(diagnostic)
            if finding is None or finding.rule.startswith("ElixirCoder."):
                continue
            edits = fix_edits(finding, lines, encoding)
            if edits:
                title = (finding.extra.get("fix") or {}).get("title") or f"Fix {finding.rule}"
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=True,
                        edit=workspace_edit(uri, snap.version, edits, doc_changes),
                    )
                )
            if finding.source != "elixir":
                disable = disable_line_edit(snap.text, finding, lines, encoding)
                if disable is not None:
                    actions.append(
                        types.CodeAction(
                            title=f"Disable {finding.rule} for this line",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diagnostic],
                            edit=workspace_edit(uri, snap.version, [disable], doc_changes),
                        )
                    )
                actions.append(
                    types.CodeAction(
                        title=f"Explain {finding.rule}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        command=types.Command(title="Explain", command=CMD_EXPLAIN, arguments=[{"uri": uri, "diagnostic": diagnostic}]),
                    )
                )
            if not edits and finding.source != "elixir" and has_model:
                # No deterministic fix: the model repairs the enclosing function (or a multi-line
                # selection) as a job (lsp/model_fix.py).
                fix_args: dict[str, Any] = {"uri": uri, "diagnostic": diagnostic}
                if params.range.start.line < params.range.end.line and params.range != diagnostic.range:
                    fix_args["range"] = params.range
                actions.append(
                    types.CodeAction(
                        title=f"Fix with model: {finding.rule}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        command=types.Command(title="Fix with model", command=CMD_FIX, arguments=[fix_args]),
                    )
                )
    if wants_refactor:
        start, end = range_to_codepoints(lines, params.range, encoding)
        site = find_site(lines, start, end, selected_text=selected_text(lines, start, end))
        if site is not None:
            args = {"uri": uri, "range": params.range}
            actions.append(
                types.CodeAction(
                    title="Generate code",
                    kind=types.CodeActionKind.RefactorRewrite,
                    command=types.Command(title="Generate code", command=CMD_GENERATE, arguments=[args]),
                )
            )
    return actions
