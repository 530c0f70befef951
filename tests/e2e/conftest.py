"""Shared pieces for end-to-end tests: the real server over stdio, spoken to with pytest-lsp."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


SERVER_ENV = {
    **os.environ,
    "ELIXIR_CODER_TEST_COMMANDS": "1",
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
}


def server_config(env: dict[str, str] | None = None) -> ClientServerConfig:
    """Start `python -m elixir_coder_lsp` (the same entry point as `elixir-coder-lsp`)."""
    return ClientServerConfig(server_command=[sys.executable, "-m", "elixir_coder_lsp"], server_env={**SERVER_ENV, **(env or {})})


def init_params(
    init_options: dict[str, Any] | None = None, *, progress: bool = True, editor: str = "visual-studio-code", root: Path | None = None
) -> types.InitializeParams:
    """InitializeParams with a real editor's capabilities (pytest-lsp ships recorded ones), rooted at ``root``."""
    caps = client_capabilities(editor)
    if caps.window is None:
        caps.window = types.WindowClientCapabilities()
    caps.window.work_done_progress = progress
    return types.InitializeParams(capabilities=caps, initialization_options=init_options or {}, root_uri=root.as_uri() if root else None)


def record_edits(client: LanguageClient) -> list[types.ApplyWorkspaceEditParams]:
    """Accept every workspace/applyEdit and remember it."""
    edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    return edits


def record_notifications(client: LanguageClient, method: str) -> list[Any]:
    """Remember every notification of one method."""
    seen: list[Any] = []

    @client.feature(method)
    def on_notification(params: Any) -> None:
        seen.append(params)

    return seen


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    """textDocument/didOpen."""
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="elixir", version=version, text=text))
    )


def change_doc(client: LanguageClient, uri: str, version: int, text: str | None = None, *, rng: types.Range | None = None, new_text: str = "") -> None:
    """textDocument/didChange: whole text, or an incremental range edit."""
    change: Any = (
        types.TextDocumentContentChangeWholeDocument(text=text)
        if text is not None
        else types.TextDocumentContentChangePartial(range=rng, text=new_text)
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
        )
    )


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy (for state the client accumulates); fail after timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def diagnostics_for(client: LanguageClient, uri: str, version: int, timeout: float = 30.0) -> list[types.Diagnostic]:
    """Wait for the diagnostics published for one version of a document."""
    published = getattr(client, "_published", None)
    assert published is not None, "use record_diagnostics(client) in the fixture"
    found = await wait_until(lambda: [p for p in published if p.uri == uri and p.version == version], timeout)
    return list(found[-1].diagnostics)


def record_diagnostics(client: LanguageClient) -> list[types.PublishDiagnosticsParams]:
    """Keep every publishDiagnostics in order (pytest-lsp keeps only the latest per uri)."""
    published: list[types.PublishDiagnosticsParams] = []

    client.protocol.fm._features.pop(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, None)  # replace pytest-lsp's default

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        published.append(params)
        client.diagnostics[params.uri] = params.diagnostics

    client._published = published  # type: ignore[attr-defined]
    return published
