"""Without an `elixir` executable the server says so once and keeps serving."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import init_params, open_doc, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=server_config({"ELIXIR_CODER_ELIXIR": "/nonexistent/elixir"}), scope="module")
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params({"checks": {"onChangeDebounceMs": 0}}))
    yield
    await lsp_client.shutdown_session()


async def test_missing_elixir_is_one_clear_message(client: LanguageClient):
    for i in range(3):
        open_doc(client, f"file:///tmp/e2e/noelixir{i}.ex", "defmodule A do\nend\n")
    errors = await wait_until(lambda: [m for m in client.messages if m.type == types.MessageType.Error])
    assert "Diagnostics are unavailable" in errors[0].message and "install Elixir" in errors[0].message
    # The server still answers requests.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri="file:///tmp/e2e/noelixir0.ex"),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 1
