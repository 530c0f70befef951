"""Inline completion through the real server and a real (tiny, random) model in a worker process.

Behaviour only, never timings: completions keep the file parsing; nothing is started inside strings or
comments; every keystroke cancels the previous request and no stale completion arrives; the same
completion comes as a completion item when asked; a model that is not loaded is never loaded by inline.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import change_doc, init_params, open_doc, record_notifications, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE = '''defmodule Shop.Cart do
  @moduledoc "A cart."

  # the total of all items
  def total(items) do
    sum = Enum.reduce(items, 0, fn item, acc -> acc + item.price end)
    label = "total: #{sum} euros"
    sum
  end

  def count(items) do
    length(items)
  end
end
'''

CODE_POSITIONS = [(5, 10), (7, 4), (11, 4), (7, 7), (5, 30)]  # (line, character) in code


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient, tiny_model_dir):
    statuses = record_notifications(lsp_client, "elixirCoder/status")
    lsp_client.statuses = statuses  # type: ignore[attr-defined]
    model = {"checkpoint": str(tiny_model_dir), "maxNewTokens": 32, "preload": True}
    lsp_client.settings = {  # type: ignore[attr-defined]
        "checks": {"onChangeDebounceMs": 10_000},
        "models": {"default": model, "lazy": {**model, "preload": False, "maxBatchSize": 2}},
        "inline": {"debounceMs": 0, "maxNewTokens": 16, "asCompletionItem": True},
    }
    await lsp_client.initialize_session(init_params(lsp_client.settings))  # type: ignore[attr-defined]
    await wait_until(lambda: _loaded(statuses), 120)
    yield
    await lsp_client.shutdown_session()


def _state(params: object, instance: str, state: str) -> bool:
    """Whether an `elixirCoder/status` notification says ``instance`` is in ``state``."""
    get = (lambda k: params.get(k)) if isinstance(params, dict) else (lambda k: getattr(params, k, None))
    return get("instance") == instance and get("state") == state


def _loaded(statuses: list) -> bool:
    """Whether the default instance went through loading and is idle since (the first `idle` is the server's start)."""
    loading = [i for i, s in enumerate(statuses) if _state(s, "default", "loading")]
    return bool(loading) and any(_state(s, "default", "idle") for s in statuses[loading[0] :])


async def stats(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="elixirCoder.test.inlineStats", arguments=[{}]))


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
    )


def insert(text: str, line: int, character: int, new: str) -> str:
    lines = text.split("\n")
    lines[line] = lines[line][:character] + new + lines[line][character:]
    return "\n".join(lines)


async def test_completions_in_code_keep_the_file_parsing(client: LanguageClient, helper) -> None:
    uri = "file:///tmp/e2e/inline/code.ex"
    open_doc(client, uri, SOURCE)
    before = (await stats(client))["started"]
    answered = 0
    for line, character in CODE_POSITIONS:
        result = await client.text_document_inline_completion_async(inline_params(uri, line, character))
        items = result.items if hasattr(result, "items") else result
        assert len(items) <= 1
        for item in items:
            answered += 1
            assert helper.parse(insert(SOURCE, line, character, item.insert_text)).ok, item.insert_text
    assert (await stats(client))["started"] > before  # the model was asked


async def test_nothing_is_started_inside_strings_or_comments(client: LanguageClient) -> None:
    uri = "file:///tmp/e2e/inline/strings.ex"
    open_doc(client, uri, SOURCE)
    before = await stats(client)
    for line, character in [(3, 10), (6, 17), (6, 30), (1, 18)]:  # comment, string, string after #{}, @moduledoc string
        result = await client.text_document_inline_completion_async(inline_params(uri, line, character))
        assert not (result.items if hasattr(result, "items") else result)
    after = await stats(client)
    assert after["started"] == before["started"]
    assert after["requests"] == before["requests"] + 4


async def test_every_keystroke_cancels_the_previous_request_and_nothing_stale_arrives(client: LanguageClient) -> None:
    uri = "file:///tmp/e2e/inline/typing.ex"
    text = SOURCE
    open_doc(client, uri, text)
    line, character, version = 7, 7, 1  # after "    sum"
    futures: list[tuple[int, asyncio.Future]] = []
    for ch in " + length(items)":
        text = insert(text, line, character, ch)
        character += 1
        version += 1
        change_doc(client, uri, version, rng=types.Range(start=types.Position(line=line, character=character - 1), end=types.Position(line=line, character=character - 1)), new_text=ch)
        futures.append((version, asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri, line, character)))))
        await asyncio.sleep(0.01)
    outcomes = []
    for v, fut in futures:
        try:
            outcomes.append((v, "answered", await fut))
        except Exception as exc:  # noqa: BLE001 - the server's RequestCancelled answer
            outcomes.append((v, "cancelled" if "cancel" in str(exc).lower() else f"error: {exc}", None))
    # every request but the last was superseded by the next keystroke: answered as cancelled, or (when it
    # finished before the keystroke arrived) answered for its own version, never with a stale completion
    last_version = futures[-1][0]
    assert outcomes[-1][1] == "answered"
    assert all(kind in ("cancelled", "answered") for _, kind, _ in outcomes), outcomes
    for v, kind, result in outcomes[:-1]:
        if kind == "answered":
            assert not result.items, f"a completion for version {v} arrived after version {last_version} was typed"
    assert sum(1 for _, kind, _ in outcomes if kind == "cancelled") >= len(outcomes) // 2
    s = await stats(client)
    assert s["cancelled"] >= 1


async def test_the_same_completion_comes_as_a_completion_item(client: LanguageClient) -> None:
    uri = "file:///tmp/e2e/inline/item.ex"
    open_doc(client, uri, SOURCE)
    shown = 0
    for line, character in CODE_POSITIONS:
        inline = await client.text_document_inline_completion_async(inline_params(uri, line, character))
        items = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character))
        )
        completion_items = items.items if hasattr(items, "items") else items
        inline_items = inline.items if hasattr(inline, "items") else inline
        assert [i.insert_text for i in completion_items] == [i.insert_text for i in inline_items]
        for item in completion_items:
            assert item.text_edit is not None and item.text_edit.new_text == item.insert_text
            shown += 1
    assert shown >= 1  # the (greedy) tiny model completes at least one of these positions


async def test_inline_never_loads_a_model(client: LanguageClient) -> None:
    uri = "file:///tmp/e2e/inline/lazy.ex"
    open_doc(client, uri, SOURCE)
    settings = {**client.settings, "routing": {"default": "lazy"}}  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
    before = await stats(client)
    result = await client.text_document_inline_completion_async(inline_params(uri, 7, 4))
    assert not (result.items if hasattr(result, "items") else result)
    assert (await stats(client))["started"] == before["started"]
    await asyncio.sleep(0.5)
    assert not any(_state(s, "lazy", "loading") for s in client.statuses)  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=client.settings))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "defmodule Deep do\n  def f do\n    x = " + "[" * 600 + "]" * 600 + "\n    \n  end\nend\n",  # refused by the helper
        "defmodule Bin do\n  def f do\n    \n  end\nend\n" + "\x01\x02\x03" * 400,  # a binary file opened as Elixir
    ],
    ids=["too-nested", "binary"],
)
async def test_a_document_the_limits_refuse_gets_no_completion_and_no_error(client: LanguageClient, text: str) -> None:
    uri = f"file:///tmp/e2e/inline/refused-{len(text)}.ex"
    open_doc(client, uri, text)
    before = await stats(client)
    line = 3 if text.startswith("defmodule Deep") else 2
    result = await client.text_document_inline_completion_async(inline_params(uri, line, 4))
    assert not (result.items if hasattr(result, "items") else result)
    assert (await stats(client))["started"] == before["started"]  # nothing decoded for a refused document
