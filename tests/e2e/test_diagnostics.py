"""Syntax diagnostics through the real server: ranges, clearing, versions, size limit."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import change_doc, diagnostics_for, init_params, open_doc, record_diagnostics, server_config

pytestmark = pytest.mark.asyncio(loop_scope="module")

BROKEN = "defmodule A do\n  def f(x) do\n    g(x\n  end\nend\n"
FIXED = "defmodule A do\n  def f(x) do\n    g(x)\n  end\nend\n"


@pytest_lsp.fixture(config=server_config(), scope="module")
async def client(lsp_client: LanguageClient):
    record_diagnostics(lsp_client)
    await lsp_client.initialize_session(
        init_params({"checks": {"onChangeDebounceMs": 0}, "limits": {"maxDocumentBytes": 20000}})
    )
    yield
    await lsp_client.shutdown_session()


def syntax(diags: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diags if d.source == "elixir"]


async def test_broken_file_gets_a_syntax_diagnostic_at_the_right_range(client: LanguageClient):
    uri = "file:///tmp/e2e/broken.ex"
    open_doc(client, uri, BROKEN)
    diags = syntax(await diagnostics_for(client, uri, 1))
    assert len(diags) == 1
    d = diags[0]
    assert d.severity == types.DiagnosticSeverity.Error
    assert d.code == "Elixir.SyntaxError" or str(d.code).startswith("Elixir.")
    # The parser reports the unclosed "(" problem where it notices it: line 4 (0-based 3) `end`, or line 3.
    assert d.range.start.line in (2, 3)
    assert d.range.end.line >= d.range.start.line


async def test_fixing_the_file_clears_diagnostics(client: LanguageClient):
    uri = "file:///tmp/e2e/fixme.ex"
    open_doc(client, uri, BROKEN)
    assert syntax(await diagnostics_for(client, uri, 1))
    change_doc(client, uri, 2, rng=types.Range(start=types.Position(line=2, character=7), end=types.Position(line=2, character=7)), new_text=")")
    assert syntax(await diagnostics_for(client, uri, 2)) == []


async def test_stale_versions_are_never_published_after_newer_ones(client: LanguageClient):
    uri = "file:///tmp/e2e/racy.ex"
    open_doc(client, uri, BROKEN)
    for version in range(2, 30):
        change_doc(client, uri, version, BROKEN if version % 2 else FIXED)
    final = await diagnostics_for(client, uri, 29)
    assert syntax(final)  # version 29 is the broken text
    versions = [p.version for p in client._published if p.uri == uri]  # type: ignore[attr-defined]
    assert versions == sorted(versions), f"published out of order: {versions}"
    assert versions[-1] == 29


async def test_huge_document_is_skipped_with_an_information_diagnostic(client: LanguageClient):
    uri = "file:///tmp/e2e/huge.ex"
    open_doc(client, uri, "# padding\n" * 5000)
    diags = await diagnostics_for(client, uri, 1)
    assert len(diags) == 1
    assert diags[0].severity == types.DiagnosticSeverity.Information
    assert "maxDocumentBytes" in diags[0].message


async def test_closing_a_document_clears_its_diagnostics(client: LanguageClient):
    uri = "file:///tmp/e2e/closed.ex"
    open_doc(client, uri, BROKEN)
    await diagnostics_for(client, uri, 1)
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    from tests.e2e.conftest import wait_until

    await wait_until(lambda: uri in client.diagnostics and len(client.diagnostics[uri]) == 0)


@pytest.mark.parametrize("text", ["", "\ufeff", "é" * 10, "defmodule Ü do\n  def ü(😀), do: 1\nend\n"])
async def test_odd_documents_do_not_break_the_server(client: LanguageClient, text: str):
    uri = f"file:///tmp/e2e/odd-{abs(hash(text))}.ex"
    open_doc(client, uri, text)
    await diagnostics_for(client, uri, 1)
