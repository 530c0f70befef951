"""The "Generate code" path through the real server and a real (tiny, random) model in a worker process.

A random model's constrained samples often run out of tokens before the grammar lets them stop; the
server then answers "no code that parses (… ran out of tokens)" and applies nothing. Placement tests
start a fresh job in that case (a few at most), since they are about where the code goes.

Every trigger kind gets an edit at the right place and indentation; every cancellation route, and
superseding, means no edit ever arrives (we wait past the job's natural end); a killed worker gives a
clear error and the next job succeeds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from elixir_coder_lsp.lsp.client_support import fix_code_action_union

from tests.e2e.conftest import (
    diagnostics_for,
    init_params,
    open_doc,
    record_diagnostics,
    record_edits,
    server_config,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

MODULE = """defmodule Demo.Stats do
  @moduledoc "Statistics."

  # TODO: return the mean of a list of numbers
  def total(items) do
    # TODO: sum the prices of the items
    items
  end

  @doc \"\"\"
  Returns the largest item.
  \"\"\"
end
"""


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, tiny_model_dir):
    record_diagnostics(lsp_client)
    fix_code_action_union(lsp_client)
    lsp_client.edits = record_edits(lsp_client)  # type: ignore[attr-defined]
    model = {"checkpoint": str(tiny_model_dir), "maxNewTokens": 32}
    await lsp_client.initialize_session(
        init_params(
            {
                "checks": {"onChangeDebounceMs": 0},
                "models": {"default": model, "slow": {**model, "maxNewTokens": 400}, "victim": {**model, "maxNewTokens": 400}},
                "generation": {"candidates": 6, "temperature": 1.0},
                "clarification": {"enabled": False},  # these tests are about placement and cancellation
            }
        )
    )
    yield
    await lsp_client.shutdown_session()


def edits_for(client: LanguageClient, uri: str) -> list[types.ApplyWorkspaceEditParams]:
    return [e for e in client.edits if e.edit.document_changes and e.edit.document_changes[0].text_document.uri == uri]  # type: ignore[attr-defined]


async def generate(client: LanguageClient, uri: str, rng: types.Range, **extra) -> str:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.generate", arguments=[{"uri": uri, "range": rng, **extra}])
    )
    return result["jobId"] if isinstance(result, dict) else result.jobId


def point(line: int, character: int = 4) -> types.Range:
    return types.Range(start=types.Position(line=line, character=character), end=types.Position(line=line, character=character))


async def open_module(client: LanguageClient, name: str, text: str = MODULE) -> str:
    uri = f"file:///tmp/e2e/gen/{name}.ex"
    open_doc(client, uri, text)
    await diagnostics_for(client, uri, 1)
    return uri


RAN_OUT = "ran out of tokens"


async def the_edit(client: LanguageClient, uri: str, helper, retry=None) -> types.TextEdit:
    """The one edit for a document; `retry` restarts the job when the random model only ran out of tokens."""
    for _attempt in range(4):
        seen = len(client.messages)
        found = await wait_until(
            lambda: edits_for(client, uri) or [m for m in client.messages[seen:] if m.type == types.MessageType.Error], timeout=180
        )
        if edits_for(client, uri):
            break
        assert RAN_OUT in found[0].message and retry is not None, found[0].message
        await retry()
    found = edits_for(client, uri)
    assert len(found) == 1
    (edit,) = found[0].edit.document_changes[0].edits
    assert edit.range.start == edit.range.end  # an insertion
    assert helper.parse(edit.new_text).ok, edit.new_text
    return edit


@pytest.mark.parametrize(
    ("name", "rng", "line", "indent"),
    [
        ("module_comment", point(3), 4, "  "),
        ("body_comment", point(5, 6), 6, "    "),
        ("doc", point(10, 3), 12, "  "),
        ("selection", types.Range(start=types.Position(line=4, character=2), end=types.Position(line=4, character=22)), 5, "  "),
    ],
)
async def test_generated_code_lands_after_its_trigger_with_its_indentation(client: LanguageClient, helper, name, rng, line, indent):
    uri = await open_module(client, name)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=rng, context=types.CodeActionContext(diagnostics=[]))
    )
    gen = [a for a in actions if isinstance(a, types.CodeAction) and a.title == "Generate code"]
    assert gen, [a.title for a in actions]
    command = types.ExecuteCommandParams(command=gen[0].command.command, arguments=gen[0].command.arguments)

    async def start() -> None:
        job = await client.workspace_execute_command_async(command)
        assert (job["jobId"] if isinstance(job, dict) else job.jobId).startswith("job-")

    await start()
    edit = await the_edit(client, uri, helper, retry=start)
    assert edit.range.start.line == line
    body = [ln for ln in edit.new_text.split("\n") if ln.strip()]
    assert body and all(ln.startswith(indent) for ln in body), edit.new_text


async def test_progress_is_reported_with_cancellable_tokens(client: LanguageClient, helper):
    uri = await open_module(client, "progress")
    await generate(client, uri, point(3))
    await the_edit(client, uri, helper, retry=lambda: generate(client, uri, point(3)))
    reports = [p for token, ps in client.progress_reports.items() if str(token).startswith("elixir-coder/") for p in ps]
    begins = [r for r in reports if getattr(r, "kind", "") == "begin"]
    assert begins and all(b.cancellable for b in begins)
    messages = [getattr(r, "message", "") or "" for r in reports]
    assert any("generating" in m for m in messages) or any("loading model" in m for m in messages)


async def no_edit_ever(client: LanguageClient, uri: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    assert edits_for(client, uri) == []


async def test_cancel_command_means_no_edit(client: LanguageClient):
    uri = await open_module(client, "cancel_cmd")
    job = await generate(client, uri, point(3), instance="slow")
    await asyncio.sleep(1.0)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"jobId": job}])
    )
    assert (result["cancelled"] if isinstance(result, dict) else result.cancelled) is True
    await no_edit_ever(client, uri, 20)


async def test_cancel_by_document_means_no_edit(client: LanguageClient):
    # a job started from a code action: the editor's plugin never saw its id, so it cancels the document's job
    uri = await open_module(client, "cancel_doc")
    await generate(client, uri, point(3), instance="slow")
    await asyncio.sleep(1.0)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"uri": uri}])
    )
    assert (result["cancelled"] if isinstance(result, dict) else result.cancelled) is True
    await no_edit_ever(client, uri, 20)
    again = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"uri": uri}])
    )
    assert (again["cancelled"] if isinstance(again, dict) else again.cancelled) is False  # nothing runs there now


async def test_cancel_needs_a_job_or_a_document(client: LanguageClient):
    for argument in ({}, {"jobId": "job-1", "uri": "file:///x.ex"}):
        with pytest.raises(Exception, match="jobId or uri"):
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[argument])
            )


async def test_progress_cancel_means_no_edit(client: LanguageClient):
    uri = await open_module(client, "cancel_progress")
    job = await generate(client, uri, point(3), instance="slow")
    token = f"elixir-coder/{job}"
    await wait_until(lambda: token in client.progress_reports)
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    await no_edit_ever(client, uri, 20)


async def test_a_new_job_on_the_same_document_supersedes_the_first(client: LanguageClient, helper):
    uri = await open_module(client, "supersede")
    await generate(client, uri, point(3), instance="slow")
    await asyncio.sleep(0.5)
    await generate(client, uri, point(5, 6))  # fast instance, function body
    edit = await the_edit(client, uri, helper, retry=lambda: generate(client, uri, point(5, 6)))
    assert edit.range.start.line == 6
    await asyncio.sleep(20)
    assert len(edits_for(client, uri)) == 1  # the superseded job never applied its edit


def worker_pids(server_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True, text=True).stdout.split()
    pids = []
    for pid in map(int, out):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if "spawn_main" in cmd:  # a worker, not the resource tracker
            pids.append(pid)
    return pids


async def test_killed_worker_gives_a_clear_error_and_the_next_job_succeeds(client: LanguageClient, helper):
    uri = await open_module(client, "killed")
    server_pid = client._server.pid
    existing = set(worker_pids(server_pid))
    before = len(client.messages)
    job = await generate(client, uri, point(3), instance="victim")  # its own worker process, started now
    (victim,) = await wait_until(lambda: set(worker_pids(server_pid)) - existing, timeout=60)
    token = f"elixir-coder/{job}"
    await wait_until(lambda: any("generating" in (getattr(r, "message", "") or "") for r in client.progress_reports.get(token, [])))
    await asyncio.sleep(0.5)  # mid-generation
    os.kill(victim, signal.SIGKILL)
    errors = await wait_until(lambda: [m for m in client.messages[before:] if m.type == types.MessageType.Error], timeout=60)
    assert "exited" in errors[0].message or "worker" in errors[0].message
    assert edits_for(client, uri) == []
    await generate(client, uri, point(3))
    await the_edit(client, uri, helper, retry=lambda: generate(client, uri, point(3)))


@pytest_lsp.fixture(config=server_config(), scope="module")
async def bad_model_client(lsp_client: LanguageClient, tmp_path_factory):
    record_diagnostics(lsp_client)
    missing = tmp_path_factory.mktemp("nothing") / "no-such-model"
    await lsp_client.initialize_session(
        init_params(
            {"checks": {"onChangeDebounceMs": 0}, "models": {"default": {"checkpoint": str(missing)}}, "clarification": {"enabled": False}}
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_bad_checkpoint_gives_a_clear_message_and_diagnostics_keep_working(bad_model_client: LanguageClient):
    client = bad_model_client
    uri = "file:///tmp/e2e/gen/bad_model.ex"
    open_doc(client, uri, MODULE)
    await diagnostics_for(client, uri, 1)
    await generate(client, uri, point(3))
    errors = await wait_until(lambda: [m for m in client.messages if m.type == types.MessageType.Error], timeout=120)
    assert "no-such-model" in errors[0].message or "checkpoint" in errors[0].message.lower()
    open_doc(client, uri + "2", "defmodule B do\n  def f(, do: 1\nend\n")
    diags = await diagnostics_for(client, uri + "2", 1)
    assert [d for d in diags if d.source == "elixir"]
