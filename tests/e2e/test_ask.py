"""The clarifying-question flow of "Generate code" through the real server (docs/protocol.md, `elixirCoder/ask`).

The model is `tests/e2e/fake_model.py`: an OpenAI-compatible server whose samples split between
raising and returning `{:error, reason}`, so with `entropyThreshold = 0` and `clusterThreshold = 1` the
question always comes. The prompts it received show whether the answer reached the model.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import diagnostics_for, init_params, open_doc, record_diagnostics, record_edits, server_config, wait_until
from tests.e2e.fake_model import FakeModelServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

REQUEST = "# TODO: write Users.fetch/2, which looks a user up by id in a map\n"


def settings(url: str, *, client_ask: bool) -> dict[str, Any]:
    return {
        "checks": {"onChangeDebounceMs": 0},
        "models": {"default": {"backend": "openai", "url": url, "maxNewTokens": 256}},
        "generation": {"candidates": 2, "temperature": 0.2, "maxRepairAttempts": 1},
        "clarification": {"enabled": True, "samples": 4, "temperature": 0.8, "entropyThreshold": 0, "clusterThreshold": 1},
        "clientUi": {"ask": client_ask},
    }


def pick_with(client: LanguageClient, choose) -> list[types.ShowMessageRequestParams]:
    """Answer window/showMessageRequest with choose(params) and remember each prompt."""
    asked: list[types.ShowMessageRequestParams] = []
    client.protocol.fm._features.pop(types.WINDOW_SHOW_MESSAGE_REQUEST, None)

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        asked.append(params)
        return choose(params)

    return asked


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


async def start(client: LanguageClient, url: str, *, client_ask: bool) -> None:
    record_diagnostics(client)
    client.edits = record_edits(client)  # type: ignore[attr-defined]
    await client.initialize_session(init_params(settings(url, client_ask=client_ask)))


async def generate(client: LanguageClient, name: str) -> tuple[str, str]:
    uri = f"file:///tmp/e2e/ask/{name}.ex"
    open_doc(client, uri, REQUEST)
    await diagnostics_for(client, uri, 1)
    pos = types.Position(line=0, character=3)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.generate", arguments=[{"uri": uri, "range": types.Range(start=pos, end=pos)}])
    )
    return uri, _get(result, "jobId")


def edits_for(client: LanguageClient, uri: str) -> list[types.TextEdit]:
    return [
        edit
        for e in client.edits  # type: ignore[attr-defined]
        for change in (e.edit.document_changes or [])
        if change.text_document.uri == uri
        for edit in change.edits
    ]


async def ended(client: LanguageClient, job_id: str) -> str:
    """The message of the job's WorkDoneProgressEnd (done / cancelled / failed); "done" comes just before the edit."""
    token = f"elixir-coder/{job_id}"
    reports = await wait_until(
        lambda: [r for r in client.progress_reports.get(token, []) if isinstance(r, types.WorkDoneProgressEnd)], timeout=120
    )
    return reports[0].message


# -- the custom request ------------------------------------------------------------------------------


@pytest_lsp.fixture(config=server_config(), scope="module")
async def custom_client(lsp_client: LanguageClient, fake_model: FakeModelServer):
    await start(lsp_client, fake_model.url, client_ask=True)
    yield lsp_client
    await lsp_client.shutdown_session()


def answer_with(client: LanguageClient, choose) -> list[Any]:
    """Answer `elixirCoder/ask` with choose(params) (replacing an earlier answerer) and remember each question."""
    asked: list[Any] = []
    client.protocol.fm._features.pop("elixirCoder/ask", None)

    @client.feature("elixirCoder/ask")
    async def ask(params: Any) -> dict[str, Any]:
        asked.append(params)
        reply = choose(params)
        return await reply if asyncio.iscoroutine(reply) else reply

    return asked


def raise_label(options: list[Any]) -> str:
    return next(_get(o, "label") for o in options if "raise" in _get(o, "label").lower())


async def test_custom_ask_answer_reaches_the_model_and_the_edit(custom_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = custom_client
    seen = len(fake_model.prompts)
    chosen: list[str] = []

    def choose(params: Any) -> dict[str, Any]:
        chosen.append(raise_label(_get(params, "options")))
        return {"answer": chosen[-1]}

    asked = answer_with(client, choose)
    uri, job_id = await generate(client, "custom")
    assert await ended(client, job_id) == "done"
    phases = [getattr(r, "message", None) for r in client.progress_reports[f"elixir-coder/{job_id}"]]
    assert "sampling" in phases  # the question's samples were drawn under their own phase
    (question,) = asked
    assert _get(question, "jobId") == job_id
    assert _get(question, "allowFreeText") is True
    assert "?" in _get(question, "question")
    labels = [_get(o, "label") for o in _get(question, "options")]
    assert len(labels) >= 2
    # the answer reached the prompt the model was sent, and the inserted code follows it
    later = fake_model.prompts[seen + 1 :]
    assert later and all(f"Answer: {chosen[0]}" in p for p in later)
    assert f"Answer: {chosen[0]}" not in fake_model.prompts[seen]  # the question's own samples came first
    (edit,) = await wait_until(lambda: edits_for(client, uri), timeout=30)
    assert "raise KeyError" in edit.new_text


async def test_custom_ask_cancelled_means_no_edit(custom_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = custom_client
    asked = answer_with(client, lambda params: {"cancelled": True})
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "custom_cancel")
    assert await ended(client, job_id) == "cancelled"
    assert len(asked) == 1
    await asyncio.sleep(0.5)
    assert edits_for(client, uri) == []
    assert len(fake_model.prompts) == seen + 1  # only the question's samples; nothing generated after


async def test_job_cancelled_while_the_question_is_open_never_edits(custom_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = custom_client
    answered = asyncio.Event()

    async def slow(params: Any) -> dict[str, Any]:
        await asyncio.sleep(1.5)  # the user takes a while; the job is cancelled meanwhile
        answered.set()
        return {"answer": raise_label(_get(params, "options"))}

    asked = answer_with(client, slow)
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "cancel_open")
    await wait_until(lambda: asked, timeout=30)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.cancel", arguments=[{"jobId": job_id}])
    )
    assert _get(result, "cancelled") is True
    assert await ended(client, job_id) == "cancelled"
    await asyncio.wait_for(answered.wait(), timeout=10)
    await asyncio.sleep(0.5)
    assert edits_for(client, uri) == []
    assert len(fake_model.prompts) == seen + 1  # the late answer generated nothing


# -- window/showMessageRequest ---------------------------------------------------------------------


@pytest_lsp.fixture(config=server_config(), scope="module")
async def message_client(lsp_client: LanguageClient, fake_model: FakeModelServer):
    await start(lsp_client, fake_model.url, client_ask=False)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_message_request_answer(message_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = message_client

    def choose(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
        return next(a for a in params.actions or [] if "error" in a.title.lower())

    asked = pick_with(client, choose)
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "message")
    assert await ended(client, job_id) == "done"
    (prompt,) = asked
    titles = [a.title for a in prompt.actions or []]
    assert titles[-1] == "Just generate" and len(titles) >= 3
    picked = choose(prompt).title
    assert all(f"Answer: {picked}" in p for p in fake_model.prompts[seen + 1 :])
    (edit,) = await wait_until(lambda: edits_for(client, uri), timeout=30)
    assert "{:error, :not_found}" in edit.new_text and "raise" not in edit.new_text


async def test_message_request_just_generate(message_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = message_client
    pick_with(client, lambda params: types.MessageActionItem(title="Just generate"))
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "just")
    assert await ended(client, job_id) == "done"
    assert fake_model.prompts[seen + 1 :] and not any("Answer:" in p for p in fake_model.prompts[seen + 1 :])
    assert len(await wait_until(lambda: edits_for(client, uri), timeout=30)) == 1


async def test_message_request_dismissed_cancels(message_client: LanguageClient, fake_model: FakeModelServer) -> None:
    client = message_client
    asked = pick_with(client, lambda params: None)
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "dismissed")
    assert await ended(client, job_id) == "cancelled"
    assert len(asked) == 1
    await asyncio.sleep(0.5)
    assert edits_for(client, uri) == []
    assert len(fake_model.prompts) == seen + 1


# -- proceed: the question's samples are the first attempt's candidates --------------------------------


@pytest_lsp.fixture(config=server_config(), scope="module")
async def reuse_client(lsp_client: LanguageClient, fake_model: FakeModelServer):
    record_diagnostics(lsp_client)
    lsp_client.edits = record_edits(lsp_client)  # type: ignore[attr-defined]
    options = settings(fake_model.url, client_ask=False)
    options["clarification"] = {"enabled": True, "samples": 2, "temperature": 0.2}  # the generation settings
    await lsp_client.initialize_session(init_params(options))
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_proceed_samples_once(reuse_client: LanguageClient, fake_model: FakeModelServer, monkeypatch) -> None:
    from tests.e2e.fake_model import FETCH_TUPLE

    client = reuse_client
    asked = pick_with(client, lambda params: None)
    monkeypatch.setattr(fake_model, "programs", lambda prompt, n: [FETCH_TUPLE] * n)  # the samples agree
    seen = len(fake_model.prompts)
    uri, job_id = await generate(client, "reuse")
    assert await ended(client, job_id) == "done"
    (edit,) = await wait_until(lambda: edits_for(client, uri), timeout=30)
    assert "{:error, :not_found}" in edit.new_text
    assert asked == [] and len(fake_model.prompts) == seen + 1  # one sampling request: no question, no second sampling
