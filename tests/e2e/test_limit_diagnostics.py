"""Documents beyond [limits] through the real server: one diagnostic each saying why, server stays up (issue 14)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import diagnostics_for, init_params, open_doc, record_diagnostics, server_config

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient):
    record_diagnostics(lsp_client)
    await lsp_client.initialize_session(init_params({"checks": {"onChangeDebounceMs": 0}}))  # default limits
    yield
    await lsp_client.shutdown_session()


@pytest.mark.parametrize(
    "name, text, code, setting",
    [
        ("nested-10k", "[" * 10_000, "ElixirCoder.NestingTooDeep", "limits.maxNesting (500)"),
        ("nested-20k", "x = " + "[" * 20_000 + "]" * 20_000 + "\n", "ElixirCoder.NestingTooDeep", "limits.maxNesting (500)"),
        ("nul", "defmodule A do\n\x00\x00\x00\nend\n", "ElixirCoder.NotText", "NUL"),
        ("binary", "\x7fELF\x02\x01\x01\x00" + "\x01\x02\x03\x04\x05\ufffd" * 2000, "ElixirCoder.NotText", "not"),
        ("one-mb-line", "x = " + "1 + " * 250_000 + "1\n", "ElixirCoder.LineTooLong", "limits.maxLineBytes (100,000)"),
        ("ten-mb", "# padding line of a ten megabyte document\n" * 240_000, "ElixirCoder.DocumentTooLarge", "limits.maxDocumentBytes (2,000,000)"),
    ],
)
async def test_skipped_document_gets_one_diagnostic_saying_why(client: LanguageClient, name: str, text: str, code: str, setting: str):
    uri = f"file:///tmp/e2e/limits-{name}.ex"
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri, 1, timeout=60)
    assert [d.code for d in diags] == [code]
    assert diags[0].severity == types.DiagnosticSeverity.Information
    assert diags[0].message.startswith("Analysis skipped:") and setting in diags[0].message
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
    )
    assert hover is None
    # the server still analyses an ordinary document afterwards
    ok = f"file:///tmp/e2e/limits-after-{name}.ex"
    open_doc(client, ok, "defmodule A do\n  def f(x) do\n    g(x\n  end\nend\n")
    assert [d for d in await diagnostics_for(client, ok, 1) if d.source == "elixir"]
