"""Hover explanations through the real server, with a real tiny model in a worker process.

The model's sampling is forced by a test-only logits processor (tests/e2e/forced_paragraph.py) to spell
out a fixed paragraph, so the `explain` role runs the whole serving path and its output is known.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    diagnostics_for,
    init_params,
    open_doc,
    record_diagnostics,
    record_notifications,
    server_config,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PARAGRAPH = (
    "Here String.to_atom turns the sort parameter of the request into a new atom on every call, "
    "so a client can fill the atom table and stop the whole node."
)
FORCED = {
    "ELIXIR_CODER_TEST_LOGITS_PROCESSOR": f"{Path(__file__).resolve().parent / 'forced_paragraph.py'}:factory",
    "ELIXIR_CODER_TEST_FORCED_TEXT": PARAGRAPH,
}

CODE = '''defmodule ShopWeb.OrderController do
  @moduledoc "Orders."
  use ShopWeb, :controller

  def index(conn, %{"sort" => sort}) do
    orders = Orders.list(order_by: String.to_atom(sort))
    render(conn, :index, orders: orders)
  end
end
'''


@pytest_lsp.fixture(config=server_config(FORCED), scope="module")
async def client(lsp_client: LanguageClient, tiny_model_dir):
    record_diagnostics(lsp_client)
    lsp_client.statuses = record_notifications(lsp_client, "elixirCoder/status")  # type: ignore[attr-defined]
    model = {"checkpoint": str(tiny_model_dir), "maxNewTokens": 256, "preload": True}
    await lsp_client.initialize_session(init_params({"checks": {"onChangeDebounceMs": 0}, "models": {"default": model}, "clarification": {"enabled": False}}))
    yield
    await lsp_client.shutdown_session()


async def hover(client: LanguageClient, uri: str, position: types.Position) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert result is not None
    return result.contents.value


def state_of(status: object) -> str:
    return status["state"] if isinstance(status, dict) else getattr(status, "state", "")


async def test_paragraph_arrives_on_a_later_hover(client: LanguageClient):
    uri = "file:///tmp/e2e-hover/order_controller.ex"
    # the preloaded model is loaded and idle before the first hover
    await wait_until(lambda: any(state_of(s) == "loading" for s in client.statuses), timeout=60)  # type: ignore[attr-defined]
    await wait_until(lambda: state_of(client.statuses[-1]) == "idle", timeout=120)  # type: ignore[attr-defined]
    open_doc(client, uri, CODE)
    diag = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "Sobelow.DOS.StringToAtom")
    first = await hover(client, uri, diag.range.start)
    # the structured part comes at once, without the paragraph
    assert "**Why.**" in first and "String.to_existing_atom(sort)" in first
    assert PARAGRAPH not in first and "**In `index/2`.**" not in first

    async def paragraph_shown() -> str | None:
        text = await hover(client, uri, diag.range.start)
        return text if PARAGRAPH in text else None

    later = None
    for _ in range(600):
        later = await paragraph_shown()
        if later:
            break
        await asyncio.sleep(0.1)
    assert later, "the model paragraph never appeared"
    assert f"**In `index/2`.** {PARAGRAPH}" in later
    assert later.index("**Why.**") < later.index(PARAGRAPH) < later.index("**How to fix.**")
    # the "Explain" command returns the same markdown as hover
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="elixirCoder.explain", arguments=[{"uri": uri, "diagnostic": diag}])
    )
    markdown = result["markdown"] if isinstance(result, dict) else result.markdown
    assert markdown == later


async def test_hover_on_nothing_and_on_an_edited_document(client: LanguageClient):
    uri = "file:///tmp/e2e-hover/other.ex"
    open_doc(client, uri, CODE.replace("String.to_atom(sort)", "String.to_atom(sort || \"id\")"))
    diag = next(d for d in await diagnostics_for(client, uri, 1) if d.code == "Sobelow.DOS.StringToAtom")
    text = await hover(client, uri, diag.range.start)
    assert "### Unsafe `String.to_atom`" in text
    none = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=0))
    )
    assert none is None


@pytest_lsp.fixture(config=server_config(FORCED), scope="module")
async def cold_client(lsp_client: LanguageClient, tiny_model_dir):
    record_diagnostics(lsp_client)
    lsp_client.statuses = record_notifications(lsp_client, "elixirCoder/status")  # type: ignore[attr-defined]
    model = {"checkpoint": str(tiny_model_dir), "maxNewTokens": 256}  # configured, not preloaded
    await lsp_client.initialize_session(init_params({"checks": {"onChangeDebounceMs": 0}, "models": {"default": model}, "clarification": {"enabled": False}}))
    yield
    await lsp_client.shutdown_session()


async def test_hover_never_loads_a_model(cold_client: LanguageClient):
    uri = "file:///tmp/e2e-hover/cold.ex"
    open_doc(cold_client, uri, CODE)
    diag = next(d for d in await diagnostics_for(cold_client, uri, 1) if d.code == "Sobelow.DOS.StringToAtom")
    for _ in range(3):
        text = await hover(cold_client, uri, diag.range.start)
        assert PARAGRAPH not in text
        await asyncio.sleep(0.3)
    assert not [s for s in cold_client.statuses if state_of(s) in ("loading", "busy")]  # type: ignore[attr-defined]
