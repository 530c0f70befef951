"""Code actions from a fake server: quick fixes, "Disable", "Explain", "Generate code", and command arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types, converters

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.lsp.actions import (
    CMD_EXPLAIN,
    CMD_GENERATE,
    CancelArgs,
    DiagnosticArgs,
    GenerateArgs,
    code_actions,
    disable_line_edit,
    finding_of,
    fix_edits,
)
from elixir_coder_lsp.lsp.diagnostics import Snapshot, to_diagnostic
from elixir_coder_lsp.lsp.positions import split_lines

URI = "file:///app/lib/a.ex"
CODE = "defmodule A do\n  # TODO: greet someone\n  def f(x), do: IO.inspect(x)\nend\n"


@dataclass
class FakeCoder:
    model: bool = False

    def has_model(self) -> bool:
        return self.model


@dataclass
class FakeServer:
    text: str = CODE
    document_changes: bool = True
    coder: FakeCoder = field(default_factory=FakeCoder)

    def snapshot(self, uri: str) -> Snapshot | None:
        return Snapshot(uri, 3, self.text, "/app/lib/a.ex") if uri == URI else None

    def position_encoding(self) -> str:
        return "utf-16"

    def coder_for(self, uri: str) -> FakeCoder:
        return self.coder

    def supports_document_changes(self) -> bool:
        return self.document_changes


def inspect_finding(fix: dict[str, Any] | None = None) -> Finding:
    extra = {"fix": fix} if fix else {}
    return Finding("Credo.Check.Warning.IoInspect", "elixir-coder", "warning", "IO.inspect", 3, 17, 3, 30, extra=extra)


def params(diagnostics: list[types.Diagnostic], line: int = 2, only: list[str] | None = None) -> types.CodeActionParams:
    pos = types.Position(line=line, character=0)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=diagnostics, only=only),
    )


def test_a_diagnostic_carries_its_finding() -> None:
    finding = inspect_finding()
    diagnostic = to_diagnostic(finding, split_lines(CODE))
    assert finding_of(diagnostic) == finding
    foreign = types.Diagnostic(range=diagnostic.range, message="x", data={"other": 1})
    assert finding_of(foreign) is None


def test_fix_edits_convert_the_rules_edits() -> None:
    fix = {"title": "Remove IO.inspect", "edits": [{"line": 3, "column": 17, "end_column": 30, "text": "x"}]}
    (edit,) = fix_edits(inspect_finding(fix), split_lines(CODE), "utf-16")
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character, edit.new_text) == (2, 16, 29, "x")
    assert fix_edits(inspect_finding(), split_lines(CODE), "utf-16") == []


def test_disable_goes_above_the_line() -> None:
    edit = disable_line_edit(CODE, inspect_finding(), split_lines(CODE), "utf-16")
    assert edit is not None
    assert edit.range.start.line == 2
    assert edit.new_text == "  # credo:disable-for-next-line Credo.Check.Warning.IoInspect\n"


def test_quick_fixes_for_a_finding() -> None:
    fix = {"title": "Remove IO.inspect", "edits": [{"line": 3, "column": 17, "end_column": 30, "text": "x"}]}
    diagnostic = to_diagnostic(inspect_finding(fix), split_lines(CODE))
    actions = code_actions(FakeServer(), params([diagnostic], only=["quickfix"]))
    titles = [a.title for a in actions]
    assert titles == ["Remove IO.inspect", "Disable Credo.Check.Warning.IoInspect for this line", "Explain Credo.Check.Warning.IoInspect"]
    fix_action, disable, explain = actions
    assert fix_action.is_preferred and fix_action.edit is not None and fix_action.edit.document_changes
    assert disable.edit is not None
    assert explain.command is not None and explain.command.command == CMD_EXPLAIN


def test_fix_with_model_only_without_a_deterministic_fix_and_with_a_model() -> None:
    plain = to_diagnostic(inspect_finding(), split_lines(CODE))
    fixable = to_diagnostic(inspect_finding({"title": "Remove IO.inspect", "edits": [{"line": 3, "column": 17, "end_column": 30, "text": "x"}]}), split_lines(CODE))
    with_model = FakeServer(coder=FakeCoder(model=True))
    titles = [a.title for a in code_actions(with_model, params([plain], only=["quickfix"]))]
    assert "Fix with model: Credo.Check.Warning.IoInspect" in titles
    assert not any(t.startswith("Fix with model") for t in (a.title for a in code_actions(with_model, params([fixable], only=["quickfix"]))))
    assert not any(t.startswith("Fix with model") for t in (a.title for a in code_actions(FakeServer(), params([plain], only=["quickfix"]))))


def test_generate_is_offered_on_a_request_comment_only() -> None:
    server = FakeServer(document_changes=False)
    (action,) = code_actions(server, params([], line=1))
    assert action.title == "Generate code" and action.command is not None and action.command.command == CMD_GENERATE
    assert code_actions(server, params([], line=0)) == []
    assert code_actions(server, params([], line=1, only=["quickfix"])) == []


def test_no_actions_for_a_document_that_is_not_open() -> None:
    p = params([])
    p.text_document.uri = "file:///elsewhere.ex"
    assert code_actions(FakeServer(), p) == []


def test_command_arguments_structure_from_json() -> None:
    c = converters.get_converter()
    rng = {"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 2}}
    gen = c.structure({"uri": URI, "range": rng, "prompt": "p"}, GenerateArgs)
    assert (gen.uri, gen.range.start.character, gen.prompt, gen.instance) == (URI, 2, "p", None)
    diag = to_diagnostic(inspect_finding(), split_lines(CODE))
    args = c.structure({"uri": URI, "diagnostic": c.unstructure(diag)}, DiagnosticArgs)
    assert finding_of(args.diagnostic) == inspect_finding()
    assert c.structure({"jobId": "job-3"}, CancelArgs).job_id == "job-3"
