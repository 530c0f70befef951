"""Settings through the server: sources, precedence, one message for bad values; status notifications."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import diagnostics_for, init_params, open_doc, record_diagnostics, record_notifications, server_config, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="function")

BIG = "defmodule A do\n" + "  # filler line for size\n" * 200 + "end\n"  # ~5 kB


@pytest_lsp.fixture(config=server_config())
async def client(lsp_client: LanguageClient, tmp_path):
    record_diagnostics(lsp_client)
    lsp_client.statuses = record_notifications(lsp_client, "elixirCoder/status")  # type: ignore[attr-defined]
    # Workspace file says 3000 bytes; initializationOptions says 4000 (and has a bad value);
    # workspace/configuration says 8000 and wins.
    (tmp_path / ".elixir-coder.toml").write_text("[limits]\nmaxDocumentBytes = 3000\n[checks]\nonChangeDebounceMs = 0\n")
    lsp_client.set_configuration({"limits": {"maxDocumentBytes": 8000}}, section="elixirCoder")
    params = init_params({"limits": {"maxDocumentBytes": 4000}, "generation": {"temperature": "hot"}}, root=tmp_path)
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def test_bad_value_gives_one_message_and_the_default_is_used(client: LanguageClient):
    messages = await wait_until(lambda: [m for m in client.messages if "settings" in m.message])
    assert len(messages) == 1
    assert "generation.temperature" in messages[0].message and "0.2" in messages[0].message
    assert messages[0].type == types.MessageType.Warning


async def test_workspace_configuration_wins_over_init_options_and_the_workspace_file(client: LanguageClient):
    uri = "file:///tmp/e2e/big.ex"
    open_doc(client, uri, BIG)
    diags = await diagnostics_for(client, uri, 1)
    # 5 kB is above 3000 and 4000 but below 8000: analysed, not skipped.
    assert not [d for d in diags if d.code == "ElixirCoder.DocumentTooLarge"]


async def test_did_change_configuration_applies_new_settings(client: LanguageClient):
    client.set_configuration({"limits": {"maxDocumentBytes": 1000}}, section="elixirCoder")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    uri = "file:///tmp/e2e/big2.ex"
    open_doc(client, uri, BIG)
    diags = await diagnostics_for(client, uri, 1)
    assert [d for d in diags if d.code == "ElixirCoder.DocumentTooLarge"]


async def test_changed_settings_re_diagnose_open_documents(client: LanguageClient):
    uri = "file:///tmp/e2e/big3.ex"
    open_doc(client, uri, BIG)
    diags = await diagnostics_for(client, uri, 1)
    assert not [d for d in diags if d.code == "ElixirCoder.DocumentTooLarge"]
    # no edit: the new limit alone brings the document's diagnostics up to date
    client.set_configuration({"limits": {"maxDocumentBytes": 1000}}, section="elixirCoder")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    published = client._published  # type: ignore[attr-defined]
    assert await wait_until(lambda: [p for p in published if p.uri == uri and p.version == 1
                                     and any(d.code == "ElixirCoder.DocumentTooLarge" for d in p.diagnostics)])


async def test_status_notification_for_each_instance(client: LanguageClient):
    statuses = await wait_until(lambda: client.statuses)  # type: ignore[attr-defined]
    assert statuses[0]["instance"] == "default" if isinstance(statuses[0], dict) else statuses[0].instance == "default"
    assert any("model 'default'" in m.message for m in client.log_messages)
