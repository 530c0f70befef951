"""Quality/security diagnostics and their code actions through the real server."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from elixir_coder_lsp.lsp.client_support import fix_code_action_union

from tests.e2e.conftest import change_doc, diagnostics_for, init_params, open_doc, record_diagnostics, server_config

pytestmark = pytest.mark.asyncio(loop_scope="module")

CODE = '''defmodule Shop.Checkout do
  @moduledoc false

  def pay(params) do
    method = String.to_atom(params["method"])
    IO.inspect(method)
    {:ok, method}
  end
end
'''


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient):
    record_diagnostics(lsp_client)
    fix_code_action_union(lsp_client)
    await lsp_client.initialize_session(init_params({"checks": {"onChangeDebounceMs": 0}}))
    yield
    await lsp_client.shutdown_session()


def by_code(diags: list[types.Diagnostic], code: str) -> types.Diagnostic:
    matches = [d for d in diags if d.code == code]
    assert matches, f"no {code} in {[d.code for d in diags]}"
    return matches[0]


async def test_diagnostics_carry_codes_sources_and_links(client: LanguageClient):
    uri = "file:///tmp/e2e/checkout.ex"
    open_doc(client, uri, CODE)
    diags = await diagnostics_for(client, uri, 1)
    inspect = by_code(diags, "Credo.Check.Warning.IoInspect")
    assert inspect.source == "elixir-coder"
    assert inspect.code_description.href == "https://hexdocs.pm/credo/Credo.Check.Warning.IoInspect.html"
    assert inspect.range.start == types.Position(line=5, character=4)
    atom = by_code(diags, "Sobelow.DOS.StringToAtom")
    assert atom.code_description.href.startswith("https://cwe.mitre.org/data/definitions/")
    assert atom.range.start.line == 4


async def actions_for(client: LanguageClient, uri: str, diag: types.Diagnostic) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    return list(result or [])


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII test text, so UTF-16 units are characters)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    out = text
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        a = offsets[e.range.start.line] + e.range.start.character
        b = offsets[e.range.end.line] + e.range.end.character
        out = out[:a] + e.new_text + out[b:]
    return out


@pytest.mark.parametrize(
    ("code", "removed"),
    [("Credo.Check.Warning.IoInspect", "IO.inspect"), ("Sobelow.DOS.StringToAtom", "String.to_atom(")],
)
async def test_quick_fix_through_the_lsp_removes_the_finding(client: LanguageClient, code: str, removed: str):
    uri = f"file:///tmp/e2e/fix-{code}.ex"
    open_doc(client, uri, CODE)
    diag = by_code(await diagnostics_for(client, uri, 1), code)
    actions = await actions_for(client, uri, diag)
    fixes = [a for a in actions if isinstance(a, types.CodeAction) and a.edit is not None and a.is_preferred]
    assert fixes, [a.title for a in actions]
    change = fixes[0].edit.document_changes[0]
    fixed = apply(CODE, list(change.edits))
    assert removed not in fixed
    change_doc(client, uri, 2, fixed)
    after = await diagnostics_for(client, uri, 2)
    assert not [d for d in after if d.code == code]
    assert len(after) < len(await diagnostics_for(client, uri, 1))


async def test_disable_for_this_line_and_explain_actions(client: LanguageClient):
    uri = "file:///tmp/e2e/disable.ex"
    open_doc(client, uri, CODE)
    diag = by_code(await diagnostics_for(client, uri, 1), "Credo.Check.Warning.IoInspect")
    actions = await actions_for(client, uri, diag)
    titles = [a.title for a in actions]
    disable = next(a for a in actions if a.title.startswith("Disable"))
    fixed = apply(CODE, list(disable.edit.document_changes[0].edits))
    assert "# credo:disable-for-next-line Credo.Check.Warning.IoInspect" in fixed
    change_doc(client, uri, 2, fixed)
    assert not [d for d in await diagnostics_for(client, uri, 2) if d.code == "Credo.Check.Warning.IoInspect"]
    assert any(t.startswith("Explain") for t in titles), titles
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.title == actions[0].title


async def test_generate_code_action_is_offered_on_a_todo_comment(client: LanguageClient):
    uri = "file:///tmp/e2e/todo.ex"
    text = "defmodule A do\n  # TODO: add two numbers\nend\n"
    open_doc(client, uri, text)
    await diagnostics_for(client, uri, 1)
    pos = types.Position(line=1, character=5)
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=pos, end=pos),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.RefactorRewrite]),
        )
    )
    gen = [a for a in result if a.title == "Generate code"]
    assert gen
    assert isinstance(gen[0], types.CodeAction)
    assert gen[0].command.command == "elixirCoder.generate"
    assert gen[0].kind == types.CodeActionKind.RefactorRewrite


async def test_hover_explains_the_finding_under_the_cursor(client: LanguageClient):
    uri = "file:///tmp/e2e/hover.ex"
    open_doc(client, uri, CODE)
    diag = by_code(await diagnostics_for(client, uri, 1), "Sobelow.DOS.StringToAtom")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diag.range.start)
    )
    text = hover.contents.value
    for section in ("**What.**", "**Why.**", "**How to fix.**", "**Example.**", "**References.**"):
        assert section in text
    assert "CWE-" in text
    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
    )
    assert nothing is None


async def test_explain_and_fix_commands(client: LanguageClient):
    from tests.e2e.conftest import record_edits, wait_until

    edits = getattr(client, "_edits", None) or record_edits(client)
    client._edits = edits  # type: ignore[attr-defined]
    uri = "file:///tmp/e2e/commands.ex"
    open_doc(client, uri, CODE)
    diag = by_code(await diagnostics_for(client, uri, 1), "Credo.Check.Warning.IoInspect")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.explain", arguments=[{"uri": uri, "diagnostic": diag}])
    )
    assert "IO.inspect" in result.markdown if hasattr(result, "markdown") else "IO.inspect" in result["markdown"]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.fix", arguments=[{"uri": uri, "diagnostic": diag}])
    )
    job_id = result.jobId if hasattr(result, "jobId") else result["jobId"]
    assert job_id
    applied = await wait_until(lambda: [e for e in edits if e.edit.document_changes and e.edit.document_changes[0].text_document.uri == uri])
    fixed = apply(CODE, list(applied[0].edit.document_changes[0].edits))
    assert "IO.inspect" not in fixed
