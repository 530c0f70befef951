"""A stdio session with the real server for benchmarks: start, initialize, record, stop."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from elixir_coder_lsp.lsp.client_support import fix_code_action_union


class Session:
    """The server as an editor runs it, with futures for diagnostics by (uri, version) and for edits."""

    def __init__(self) -> None:
        self.client = LanguageClient("bench", "1")
        self.diagnostics: dict[tuple[str, int], asyncio.Future] = {}
        self.edits: asyncio.Queue[types.ApplyWorkspaceEditParams] = asyncio.Queue()
        self.errors: asyncio.Queue[str] = asyncio.Queue()
        # work-done progress as it arrives: token -> [(monotonic time, message or title)]
        self.progress: dict[str, list[tuple[float, str]]] = {}
        self.progress_enabled = False
        c = self.client
        fix_code_action_union(c)

        @c.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams) -> None:
            fut = self.diagnostics.pop((params.uri, params.version), None)
            if fut is not None and not fut.done():
                fut.set_result(len(params.diagnostics))

        @c.feature(types.WORKSPACE_APPLY_EDIT)
        def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.put_nowait(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            if params.type == types.MessageType.Error:
                self.errors.put_nowait(params.message)

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_create(params: types.WorkDoneProgressCreateParams) -> None:
            self.progress.setdefault(str(params.token), [])

        @c.feature(types.PROGRESS)
        def on_progress(params: types.ProgressParams) -> None:
            value = params.value
            get = (lambda k: value.get(k)) if isinstance(value, dict) else (lambda k: getattr(value, k, None))
            text = get("message") or get("title") or get("kind") or ""
            self.progress.setdefault(str(params.token), []).append((time.monotonic(), str(text)))

        @c.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            pass

        @c.feature("elixirCoder/status")
        def on_status(params: object) -> None:
            pass

    async def start(self, init_options: dict[str, Any]) -> None:
        """Start `python -m elixir_coder_lsp` and initialize it."""
        await self.client.start_io(sys.executable, "-m", "elixir_coder_lsp", env={**os.environ, "OMP_NUM_THREADS": "1"})
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(apply_edit=True, workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)),
            window=types.WindowClientCapabilities(work_done_progress=self.progress_enabled),
        )
        await self.client.initialize_async(types.InitializeParams(capabilities=caps, initialization_options=init_options))
        self.client.initialized(types.InitializedParams())

    def expect_diagnostics(self, uri: str, version: int) -> asyncio.Future:
        """A future for the diagnostics of one document version (register before sending the change)."""
        fut = asyncio.get_running_loop().create_future()
        self.diagnostics[(uri, version)] = fut
        return fut

    def open(self, uri: str, text: str) -> None:
        """textDocument/didOpen at version 1."""
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="elixir", version=1, text=text))
        )

    async def stop(self) -> None:
        """shutdown + exit."""
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await asyncio.sleep(0.2)
        await self.client.stop()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
