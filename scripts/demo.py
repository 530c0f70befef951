"""A tour of elixir-coder-lsp, driven the way an editor drives it: the server over stdio.

1. Open a file with a syntax error and print the diagnostic; fix it and show the diagnostics clear.
2. Open a file with quality and security problems and print the findings; apply a quick fix.
3. "Generate code" on a `# TODO:` comment with a model: the configured one (ELIXIR_CODER_MODEL or the
   settings files), else a small trained model from `bench/train_model.py` when it exists, else a tiny
   random model built on the spot. Prints which one it used and the edit the server sent.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from elixir_coder_lsp.lsp.client_support import fix_code_action_union

ROOT = Path(__file__).resolve().parents[1]

BROKEN = """defmodule Demo.Cart do
  @moduledoc "Shopping cart totals."

  def total(items) do
    Enum.reduce(items, 0, fn item, acc -> acc + item.price end
  end
end
"""
FIXED = BROKEN.replace("item.price end\n", "item.price end)\n")

FINDINGS = """defmodule Demo.Checkout do
  @moduledoc "Payments."

  def pay(params) do
    method = String.to_atom(params["method"])
    IO.inspect(method)
    {:ok, method}
  end
end
"""

TODO = """defmodule Demo.Stats do
  @moduledoc "Small statistics helpers."

  # TODO: return the mean of a list of numbers, or nil for an empty list
end
"""


def pick_model() -> tuple[str | None, str]:
    """The checkpoint the demo will use and how it was chosen."""
    if os.environ.get("ELIXIR_CODER_MODEL"):
        return None, f"configured model {os.environ['ELIXIR_CODER_MODEL']} (ELIXIR_CODER_MODEL)"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "elixir-coder"
    trained = cache / "models" / "elixir-small"
    if (trained / "config.json").exists():
        return str(trained), f"the small trained Elixir model in {trained} (bench/train_model.py)"
    from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint

    tiny = build_tiny_checkpoint(cache / "tiny-demo-model")
    return str(tiny), f"a tiny random model built on the spot in {tiny} (no model configured; its code is valid but meaningless)"


class Editor:
    """Just enough of an editor: a stdio client that records diagnostics and applies edits."""

    def __init__(self) -> None:
        self.client = LanguageClient("demo-editor", "1.0")
        self.diagnostics: dict[str, asyncio.Queue[types.PublishDiagnosticsParams]] = {}
        self.edits: asyncio.Queue[types.WorkspaceEdit] = asyncio.Queue()
        self.messages: list[str] = []
        self.failures: asyncio.Queue[str] = asyncio.Queue()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.setdefault(params.uri, asyncio.Queue()).put_nowait(params)

        @self.client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.put_nowait(params.edit)
            return types.ApplyWorkspaceEditResult(applied=True)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
            print(f"   [server says] {params.message}")
            if params.type == types.MessageType.Error:
                self.failures.put_nowait(params.message)

        @self.client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def on_question(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            # A clarifying question (docs/protocol.md, "Jobs"): show it, then take "Just generate".
            print(f"   [server asks] {params.message} {[a.title for a in params.actions or []]}")
            return next((a for a in params.actions or [] if a.title == "Just generate"), None)

        @self.client.feature("elixirCoder/status")
        def on_status(params: object) -> None:
            pass

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            pass

        fix_code_action_union(self.client)

    async def start(self, init_options: dict) -> None:
        # Launched exactly as an editor launches it: the `elixir-coder-lsp` executable, stdio.
        await self.client.start_io(str(Path(sys.executable).with_name("elixir-coder-lsp")))
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                apply_edit=True, workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
            ),
            window=types.WindowClientCapabilities(work_done_progress=False),
        )
        await self.client.initialize_async(
            types.InitializeParams(capabilities=caps, root_uri=ROOT.as_uri(), initialization_options=init_options)
        )
        self.client.initialized(types.InitializedParams())

    async def next_diagnostics(self, uri: str, version: int) -> list[types.Diagnostic]:
        queue = self.diagnostics.setdefault(uri, asyncio.Queue())
        while True:
            params = await asyncio.wait_for(queue.get(), timeout=60)
            if params.version == version:
                return list(params.diagnostics)

    def open(self, uri: str, text: str) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="elixir", version=1, text=text))
        )

    def replace_all(self, uri: str, version: int, text: str) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await asyncio.sleep(0.2)
        await self.client.stop()


def show(diagnostics: list[types.Diagnostic]) -> None:
    for d in diagnostics:
        r = d.range
        print(f"   {r.start.line + 1}:{r.start.character + 1}  {d.source}  {d.code}  {d.message}")


async def main() -> int:
    checkpoint, how = pick_model()
    init: dict = {"checks": {"onChangeDebounceMs": 50}}
    if checkpoint:
        init["models"] = {"default": {"checkpoint": checkpoint, "maxNewTokens": 160}}
        init["generation"] = {"candidates": 8, "temperature": 0.8}
    editor = Editor()
    await editor.start(init)
    try:
        print("1. Syntax diagnostics (Elixir's own parser)")
        uri = "file:///demo/cart.ex"
        editor.open(uri, BROKEN)
        diags = await editor.next_diagnostics(uri, 1)
        print("   opened cart.ex with a missing `)`:")
        show(diags)
        editor.replace_all(uri, 2, FIXED)
        diags = await editor.next_diagnostics(uri, 2)
        print(f"   after the fix: {len(diags)} diagnostics" + (" — cleared" if not diags else ""))
        show(diags)

        print("\n2. Quality and security findings")
        uri2 = "file:///demo/checkout.ex"
        editor.open(uri2, FINDINGS)
        diags = await editor.next_diagnostics(uri2, 1)
        show(diags)

        print(f"\n3. Generate code from a comment, with {how}")
        uri3 = "file:///demo/stats.ex"
        editor.open(uri3, TODO)
        await editor.next_diagnostics(uri3, 1)
        line = TODO.splitlines().index("  # TODO: return the mean of a list of numbers, or nil for an empty list")
        pos = types.Position(line=line, character=4)
        actions = await editor.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri3),
                range=types.Range(start=pos, end=pos),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        action = next(a for a in actions or [] if isinstance(a, types.CodeAction) and a.title == "Generate code")
        edit = None
        for _attempt in range(3):  # small models often run out of tokens before their code is complete
            started = time.monotonic()
            result = await editor.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
            )
            print(f"   command returned at once: {result}")
            edit_task = asyncio.ensure_future(editor.edits.get())
            fail_task = asyncio.ensure_future(editor.failures.get())
            done, pending = await asyncio.wait({edit_task, fail_task}, timeout=600, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if edit_task in done:
                edit = edit_task.result()
                break
            if fail_task not in done or "ran out of tokens" not in fail_task.result():
                break
        if edit is None:
            print("   no edit arrived (see the server's message above)")
            return 1
        for change in edit.document_changes or []:
            for e in change.edits:
                print(f"   workspace/applyEdit after {time.monotonic() - started:.1f}s: insert at line {e.range.start.line + 1}:")
                for code_line in e.new_text.rstrip("\n").split("\n"):
                    print(f"   | {code_line}")
    finally:
        await editor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
