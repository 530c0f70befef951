""""Fix with model" through the real server and a real (tiny, random) model in a worker process.

A random model's repairs almost never pass the acceptance rule, which is what these tests need:
the job reaches `repairing`, and every way of ending it early (elixirCoder.cancel, the progress
UI's cancel, a newer job on the same document) means its edit never arrives. A repair that runs to
the end without an accepted result applies nothing and says why.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from elixir_coder_lsp.lsp.client_support import fix_code_action_union

from tests.e2e.conftest import diagnostics_for, init_params, open_doc, record_diagnostics, record_edits, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

CODE = '''defmodule Shop.Labels do
  @moduledoc "Labels."

  def total(items), do: Enum.sum(items)

  def label(order) do
    IO.inspect(order)

    if order.paid do
      if order.shipped do
        if order.delivered do
          :done
        end
      end
    end
  end
end
'''


async def start(client: LanguageClient, tiny_model_dir, max_new_tokens: int) -> None:
    record_diagnostics(client)
    fix_code_action_union(client)
    client.edits = record_edits(client)  # type: ignore[attr-defined]
    await client.initialize_session(
        init_params(
            {
                "checks": {"onChangeDebounceMs": 0},
                "models": {"default": {"checkpoint": str(tiny_model_dir), "maxNewTokens": max_new_tokens}},
                "generation": {"candidates": 2, "temperature": 1.0, "maxRepairAttempts": 3},
                "clarification": {"enabled": False},
            }
        )
    )


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, tiny_model_dir):
    await start(lsp_client, tiny_model_dir, 400)  # slow repairs: there is time to cancel them
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=server_config(), scope="module")
async def quick_client(lsp_client: LanguageClient, tiny_model_dir):
    await start(lsp_client, tiny_model_dir, 16)
    yield
    await lsp_client.shutdown_session()


def edits_for(client: LanguageClient, uri: str) -> list[types.ApplyWorkspaceEditParams]:
    return [e for e in client.edits if e.edit.document_changes and e.edit.document_changes[0].text_document.uri == uri]  # type: ignore[attr-defined]


def by_code(diags: list[types.Diagnostic], code: str) -> types.Diagnostic:
    (found,) = [d for d in diags if d.code == code]
    return found


async def open_labels(client: LanguageClient, name: str) -> tuple[str, list[types.Diagnostic]]:
    uri = f"file:///tmp/e2e/repair/{name}.ex"
    open_doc(client, uri, CODE)
    return uri, await diagnostics_for(client, uri, 1)


async def fix(client: LanguageClient, uri: str, diag: types.Diagnostic) -> str:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.fix", arguments=[{"uri": uri, "diagnostic": diag}])
    )
    return result["jobId"] if isinstance(result, dict) else result.jobId


async def until_repairing(client: LanguageClient, job: str) -> None:
    token = f"elixir-coder/{job}"
    await wait_until(
        lambda: any("repairing" in (getattr(r, "message", "") or "") for r in client.progress_reports.get(token, [])), timeout=60
    )
    await asyncio.sleep(0.3)


async def test_fix_with_model_is_offered_only_without_a_deterministic_fix(client: LanguageClient):
    uri, diags = await open_labels(client, "actions")
    for code, offered in (("Credo.Check.Refactor.Nesting", True), ("Credo.Check.Warning.IoInspect", False)):
        diag = by_code(diags, code)
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), range=diag.range, context=types.CodeActionContext(diagnostics=[diag])
            )
        )
        model = [a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Fix with model")]
        assert bool(model) is offered, [a.title for a in actions]
        if offered:
            assert model[0].kind == types.CodeActionKind.QuickFix and model[0].command.command == "elixirCoder.fix"
            assert model[0].command.arguments[0]["uri"] == uri


async def test_fix_with_model_carries_a_multi_line_selection(client: LanguageClient):
    uri, diags = await open_labels(client, "selection")
    diag = by_code(diags, "Credo.Check.Refactor.Nesting")
    selection = types.Range(start=types.Position(line=8, character=0), end=types.Position(line=15, character=0))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=selection, context=types.CodeActionContext(diagnostics=[diag]))
    )
    (model,) = [a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Fix with model")]
    rng = model.command.arguments[0]["range"]
    assert (rng["start"]["line"], rng["end"]["line"]) == (8, 15)


async def test_cancel_during_repairing_applies_no_edit(client: LanguageClient):
    uri, diags = await open_labels(client, "cancel")
    job = await fix(client, uri, by_code(diags, "Credo.Check.Refactor.Nesting"))
    await until_repairing(client, job)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"jobId": job}]))
    assert (result["cancelled"] if isinstance(result, dict) else result.cancelled) is True
    await asyncio.sleep(15)
    assert edits_for(client, uri) == []


async def test_progress_cancel_during_repairing_applies_no_edit(client: LanguageClient):
    uri, diags = await open_labels(client, "progress_cancel")
    job = await fix(client, uri, by_code(diags, "Credo.Check.Refactor.Nesting"))
    await until_repairing(client, job)
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=f"elixir-coder/{job}"))
    await asyncio.sleep(15)
    assert edits_for(client, uri) == []


async def test_a_newer_job_supersedes_a_repair(client: LanguageClient):
    uri, diags = await open_labels(client, "supersede")
    job = await fix(client, uri, by_code(diags, "Credo.Check.Refactor.Nesting"))
    await until_repairing(client, job)
    await fix(client, uri, by_code(diags, "Credo.Check.Warning.IoInspect"))  # deterministic, applies at once
    (only,) = await wait_until(lambda: edits_for(client, uri))
    (edit,) = only.edit.document_changes[0].edits
    assert edit.new_text == "" and edit.range.start.line == 6  # the IO.inspect line, nothing else
    await asyncio.sleep(15)
    assert len(edits_for(client, uri)) == 1  # the superseded repair never applied its edit


async def test_a_repair_that_is_not_accepted_applies_nothing_and_says_why(quick_client: LanguageClient):
    client = quick_client
    uri, diags = await open_labels(client, "rejected")
    seen = len(client.messages)
    await fix(client, uri, by_code(diags, "Credo.Check.Refactor.Nesting"))
    found = await wait_until(lambda: [m for m in client.messages[seen:] if m.type in (types.MessageType.Error, types.MessageType.Warning)], timeout=180)
    if edits_for(client, uri):
        # A random model can, rarely, produce an accepted repair: then it replaced only the function.
        (edit,) = edits_for(client, uri)[0].edit.document_changes[0].edits
        assert edit.range.start.line == 5
        return
    assert "no repair was accepted" in found[0].message and "unchanged" in found[0].message
