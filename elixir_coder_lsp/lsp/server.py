"""The language server: pygls wiring. Handlers are thin; work runs on the server's own executor."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from elixir_coder_lsp import __version__, logs
from elixir_coder_lsp.api import NO_MODEL_HELP, ElixirCoder
from elixir_coder_lsp.inference.types import InstanceStatus
from elixir_coder_lsp.lsp import actions as lsp_actions
from elixir_coder_lsp.lsp.actions import CancelArgs, DiagnosticArgs, GenerateArgs
from elixir_coder_lsp.lsp.configuration import SettingsState
from elixir_coder_lsp.lsp.folder_coders import FolderCoders
from elixir_coder_lsp.config import WORKSPACE_FILE
from elixir_coder_lsp.excludes import is_excluded_path
from elixir_coder_lsp.folders import holding_folder
from elixir_coder_lsp.lsp.diagnostics import DiagnosticsScheduler, Snapshot
from elixir_coder_lsp.lsp.fix import fix_job
from elixir_coder_lsp.lsp.generate import generate_job
from elixir_coder_lsp.lsp.hover import Explanations
from elixir_coder_lsp.lsp.inline import InlineCompletions, completion_items, inline_items
from elixir_coder_lsp.lsp.positions import split_lines, units_to_codepoint
from elixir_coder_lsp.lsp.jobs import JobManager
from elixir_coder_lsp.lsp.protocol import ElixirCoderProtocol
from elixir_coder_lsp.lsp.status import StatusReporter
from elixir_coder_lsp.settings import Settings

log = logging.getLogger(__name__)

ELIXIR_LANGUAGES = {"elixir", "eex", "heex"}
TEST_COMMANDS = os.environ.get("ELIXIR_CODER_TEST_COMMANDS") == "1"


class ElixirCoderServer(LanguageServer):
    """Server state: settings, the pipeline façade, diagnostics scheduling and jobs."""

    def __init__(self) -> None:
        super().__init__("elixir-coder-lsp", __version__, protocol_cls=ElixirCoderProtocol, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        # Our own pool: pygls reads stdin on its thread pool, so long work there would block cancellation.
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="elixir-coder")
        self.config = SettingsState()
        self.coder = ElixirCoder(self.config.settings, on_status=self._status_from_thread)  # the root's; owns helper and pool
        self.folder_coders = FolderCoders(self.coder, self.config)  # one façade per other workspace folder
        self.jobs = JobManager(self)
        self.explanations = Explanations(self.coder, settings_for=self.config.settings_for)
        self.status = StatusReporter(self)
        self.inline = InlineCompletions(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.settings_ready = asyncio.Event()
        self.real_findings: dict[str, list[Any]] = {}  # last real Credo/Sobelow findings per document (on save)
        self._reported_errors: set[str] = set()
        self._shown_setting_errors: tuple[str, ...] = ()
        # (--log-level, --log-file) of run_stdio, each None when `[log]` decides; None: logging is not ours
        self.log_flags: tuple[str | None, str | None] | None = None
        self.diagnostics = DiagnosticsScheduler(
            snapshot=self.snapshot,
            analyze=lambda snap: self.coder_for(snap.uri).analyze(snap.text, filename=snap.path) + self.real_findings.get(snap.uri, []),
            publish=self._publish,
            encoding=self.position_encoding,
            executor=self.executor,
            is_excluded=lambda path: is_excluded_path(path, self.config.root_for(path), self.config.settings_for(path).checks.exclude),
            on_error=self.show_error_once,
            ready=lambda: self.settings_ready.wait(),
            limits=lambda uri: self.settings_for(uri).limits,
        )

    # -- small services the handlers share ------------------------------------------------------------

    def coder_for(self, uri: str) -> ElixirCoder:
        """The pipeline façade for a document: its workspace folder's (multi-root), else the root's."""
        return self.folder_coders.for_path(_fs_path(uri))

    def settings_for(self, uri: str) -> Settings:
        """A document's settings: its workspace folder's (multi-root), else the root's."""
        return self.config.settings_for(_fs_path(uri))

    def snapshot(self, uri: str) -> Snapshot | None:
        """The open document's text and version, or None when it is not open."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        return Snapshot(uri=uri, version=doc.version, text=doc.source, path=to_fs_path(uri))

    def position_encoding(self) -> str:
        """The negotiated position encoding (utf-16 unless the client offered another)."""
        enc = self.workspace.position_encoding if self.protocol._workspace else None
        return str(enc.value if hasattr(enc, "value") else enc or "utf-16")

    def supports_work_done_progress(self) -> bool:
        """Whether the client advertised window.workDoneProgress."""
        window = self.client_capabilities.window if self.client_capabilities else None
        return bool(window and window.work_done_progress)

    def supports_document_changes(self) -> bool:
        """Whether the client accepts versioned `documentChanges` edits."""
        ws = self.client_capabilities.workspace if self.client_capabilities else None
        return bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)

    def show_error(self, message: str) -> None:
        """window/showMessage (error)."""
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    def show_error_once(self, message: str) -> None:
        """Show an error only the first time it happens (a missing `elixir` must not nag on every keystroke)."""
        if message not in self._reported_errors:
            self._reported_errors.add(message)
            self.show_error(message)

    def _publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics))

    def _status_from_thread(self, status: InstanceStatus) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._on_status, status)

    def _on_status(self, status: InstanceStatus) -> None:
        self.status.report(status)
        if status.state == "failed":
            self.show_error_once(f"Model '{status.name}' is unavailable: {status.message}. {NO_MODEL_HELP}")

    def apply_settings(self, errors: list[str]) -> list[Path]:
        """Push recomputed settings into the pipeline (every folder's façade); show setting errors in one message,
        once per change. Returns the workspace folders whose façade was added or removed."""
        changed = self.folder_coders.sync()
        if self.log_flags is not None:
            level, file = self.log_flags
            log_error = logs.configure(level or self.config.settings.log.level, self.config.settings.log.file if file is None else file)
            errors = errors + ([log_error] if log_error else [])
        if errors and tuple(errors) != self._shown_setting_errors:
            self._shown_setting_errors = tuple(errors)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message="elixir-coder settings: " + "; ".join(errors))
            )
        return changed

    async def ask_client_settings(self, pushed: dict[str, Any] | None = None) -> None:
        """`workspace/configuration`, when the client has it: the section without a scope and for each workspace folder
        (one request); ``pushed`` (didChangeConfiguration's settings) stands for the unscoped one. Without it, the
        pushed settings apply to every folder."""
        ws = self.client_capabilities.workspace
        if not (ws and ws.configuration):
            if pushed is not None:
                self.config.push(pushed)
            return
        try:
            result = await self.workspace_configuration_async(types.ConfigurationParams(items=self.config.configuration_items()))
        except Exception as exc:
            log.debug("workspace/configuration failed: %s", exc)
            result = None
        self.config.take_configuration(result, pushed)

    def reanalyze(self, folders: list[Path] | None = None) -> None:
        """Diagnose the open documents again: all of them, or those in ``folders`` (added or removed folders)."""
        for uri in list(self.workspace.text_documents):
            if folders is None or holding_folder(_fs_path(uri), folders) is not None:
                self.diagnostics.schedule(uri, 0.0)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls' error hook. From the read loop (a frame that is not JSON, a notification with bad params):
        answer what can be answered (lsp/protocol.py) and log, without a message box per bad frame."""
        if source is JsonRpcException:
            log.warning("unreadable message: %s", error)
            self.protocol.report_unreadable_frame(error)
            return
        super().report_server_error(error, source)

    async def run_real_tools(self, uri: str) -> None:
        """On save: real Credo/Sobelow where the workspace has them; their findings replace the built-in ones."""
        snap = self.snapshot(uri)
        if snap is None or not snap.path:
            return
        loop = asyncio.get_running_loop()
        # Tool detection reads mix.lock and PATH: off the loop, like the tools themselves.
        result = await loop.run_in_executor(self.executor, self.coder_for(uri).check_real_tools, snap.text, snap.path)
        if not result.tools and not result.errors:
            return
        self.real_findings[uri] = result.findings
        for error in result.errors:
            self.show_error_once(error)

    def debounce_s(self, uri: str) -> float:
        """The document's checks.onChangeDebounceMs in seconds."""
        return self.settings_for(uri).checks.on_change_debounce_ms / 1000.0

    async def shutdown_work(self) -> None:
        """Cancel jobs and pending analyses, stop child processes."""
        self.jobs.cancel_all()
        self.diagnostics.cancel_all()
        await self.jobs.wait_all(timeout=3.0)
        self.explanations.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.folder_coders.close)
        await loop.run_in_executor(self.executor, self.coder.close)


def make_server() -> ElixirCoderServer:
    """Build the server and register every feature."""
    ls = ElixirCoderServer()

    @ls.feature(types.INITIALIZE)
    def initialize(ls: ElixirCoderServer, params: types.InitializeParams) -> None:
        ls.loop = asyncio.get_running_loop()
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        folders = {Path(to_fs_path(f.uri)): f.uri for f in params.workspace_folders or []}
        ls.config.set_folders(Path(to_fs_path(root)) if root else None, folders)
        opts = params.initialization_options if isinstance(params.initialization_options, dict) else None
        ls.config.init_options = opts
        ls.config.recompute()  # errors are shown after `initialized`, once workspace/configuration is in
        ls.folder_coders.sync()

    @ls.feature(types.INITIALIZED)
    async def initialized(ls: ElixirCoderServer, params: types.InitializedParams) -> None:
        try:
            await ls.ask_client_settings()
            ls.apply_settings(ls.config.recompute())
        finally:
            ls.settings_ready.set()
        for name, model in ls.config.settings.models.items():
            ls.status.report(InstanceStatus(name=name, checkpoint=model.checkpoint, backend=model.backend, state="idle"))
        loop = asyncio.get_running_loop()
        loop.run_in_executor(ls.executor, ls.explanations.warm)
        if any(m.preload for m in ls.config.settings.models.values()):
            loop.run_in_executor(ls.executor, lambda: ls.coder.pool.preload())

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: ElixirCoderServer, params: types.DidChangeConfigurationParams) -> None:
        pushed = params.settings if isinstance(params.settings, dict) and params.settings else None
        before = (ls.config.settings, dict(ls.config.by_folder))
        await ls.ask_client_settings(pushed)
        ls.apply_settings(ls.config.recompute())
        # clients send this for any settings change (VS Code: every extension's); re-diagnose the open
        # documents only when ours changed: rules, severities and limits apply without waiting for an edit
        if (ls.config.settings, ls.config.by_folder) != before:
            ls.reanalyze()

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(ls: ElixirCoderServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        # pygls has updated ls.workspace.folders already; each added folder brings its settings and its façade
        removed = {Path(to_fs_path(f.uri)) for f in params.event.removed}
        folders = {path: uri for path, uri in ls.config.folders.items() if path not in removed}
        folders.update({Path(to_fs_path(f.uri)): f.uri for f in params.event.added})
        ls.config.set_folders(ls.config.workspace_root, folders)
        await ls.ask_client_settings()
        changed = ls.apply_settings(ls.config.recompute())
        ls.reanalyze(changed)

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ElixirCoderServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.diagnostics.schedule(params.text_document.uri, 0.0)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ElixirCoderServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.diagnostics.schedule(params.text_document.uri, ls.debounce_s(params.text_document.uri))

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: ElixirCoderServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri.endswith(".credo.exs") or uri.endswith("/.formatter.exs"):
            for coder in ls.folder_coders.all():
                coder.forget_credo_config()
            ls.reanalyze()
            return
        if uri.endswith("/" + WORKSPACE_FILE):  # a folder's own settings file: its documents take the new settings
            ls.apply_settings(ls.config.recompute())
            ls.reanalyze()
            return
        await ls.run_real_tools(uri)
        ls.diagnostics.schedule(uri, 0.0)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ElixirCoderServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.real_findings.pop(params.text_document.uri, None)
        ls.inline.forget(params.text_document.uri)
        ls.diagnostics.forget(params.text_document.uri)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite],
            resolve_provider=True,
        ),
    )
    def code_action(ls: ElixirCoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return lsp_actions.code_actions(ls, params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: ElixirCoderServer, action: types.CodeAction) -> types.CodeAction:
        # Everything is computed up front; Neovim 0.7 resolves every action, so answer unchanged.
        return action

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: ElixirCoderServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        # async, so pygls can cancel it ($/cancelRequest) and a newer request can cancel it (lsp/inline.py)
        completion = await ls.inline.complete(params.text_document.uri, params.position)
        return inline_items(completion, params.position)

    @ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: ElixirCoderServer, params: types.CompletionParams) -> types.CompletionList:
        # inline.asCompletionItem: the inline completion as one item, for clients without inline completion
        if not ls.settings_for(params.text_document.uri).inline.as_completion_item:
            return types.CompletionList(is_incomplete=False, items=[])
        completion = await ls.inline.complete(params.text_document.uri, params.position, "completion")
        return completion_items(completion, params.position)

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: ElixirCoderServer, params: types.HoverParams) -> types.Hover | None:
        snap = ls.snapshot(params.text_document.uri)
        if snap is None:
            return None
        lines = split_lines(snap.text)
        line0 = min(params.position.line, len(lines) - 1)
        column0 = units_to_codepoint(lines[line0], params.position.character, ls.position_encoding())
        found = ls.diagnostics.findings_at(snap.uri, line0 + 1, column0 + 1)
        if not found:
            return None
        # parsing, the index lookup and the helper's checks run off the event loop (docs/architecture.md)
        text = await asyncio.get_running_loop().run_in_executor(ls.executor, ls.explanations.markdown, snap.text, found)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @ls.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ElixirCoderServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.jobs.cancel_progress(params.token)

    @ls.feature(types.SHUTDOWN)
    async def shutdown(ls: ElixirCoderServer, *args: Any) -> None:
        await ls.shutdown_work()

    @ls.command(lsp_actions.CMD_GENERATE)
    def cmd_generate(ls: ElixirCoderServer, args: GenerateArgs) -> dict[str, Any]:
        ls.explanations.paragraphs.yield_to()  # a hover paragraph never holds up generation
        job = ls.jobs.start(args.uri, "Generate code", lambda job, report: generate_job(ls, job, report, args))
        return {"jobId": job.id}

    @ls.command(lsp_actions.CMD_EXPLAIN)
    async def cmd_explain(ls: ElixirCoderServer, args: DiagnosticArgs) -> dict[str, Any]:
        snap = ls.snapshot(args.uri)
        finding = lsp_actions.finding_of(args.diagnostic)
        if finding is None:
            raise _invalid("the diagnostic was not published by elixir-coder-lsp")
        # the same markdown as hover (the same cache, the same paragraph)
        text = await asyncio.get_running_loop().run_in_executor(ls.executor, ls.explanations.markdown, snap.text if snap else "", [finding])
        return {"markdown": text}

    @ls.command(lsp_actions.CMD_FIX)
    def cmd_fix(ls: ElixirCoderServer, args: DiagnosticArgs) -> dict[str, Any]:
        ls.explanations.paragraphs.yield_to()
        job = ls.jobs.start(args.uri, "Fix", lambda job, report: fix_job(ls, job, report, args.diagnostic, args.range))
        return {"jobId": job.id}

    @ls.command(lsp_actions.CMD_CANCEL)
    def cmd_cancel(ls: ElixirCoderServer, args: CancelArgs) -> dict[str, Any]:
        if args.job_id is not None:
            return {"cancelled": ls.jobs.cancel(args.job_id)}
        return {"cancelled": ls.jobs.cancel_document(args.uri or "")}

    if TEST_COMMANDS:

        @ls.command("elixirCoder.test.sleep")
        async def cmd_sleep(ls: ElixirCoderServer, args: SleepArgs) -> dict[str, Any]:
            """Test-only: a command that runs for a while (shutdown and $/cancelRequest tests)."""
            await asyncio.sleep(args.seconds)
            ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message="elixirCoder.test.sleep finished"))
            return {"slept": True}

        @ls.command("elixirCoder.test.inlineStats")
        def cmd_inline_stats(ls: ElixirCoderServer, args: NoArgs) -> dict[str, Any]:
            """Test-only: the inline completion counters (tests/e2e/test_inline.py, bench/inline.py)."""
            return ls.inline.stats.to_json()

    return ls


def _fs_path(uri: str) -> str | None:
    """A document URI's file system path (None for `untitled:` and other schemes without one)."""
    try:
        return to_fs_path(uri)
    except Exception:  # noqa: BLE001 - an odd URI is a document outside every folder
        return None


def _invalid(message: str) -> Exception:
    return JsonRpcInvalidParams.of(ValueError(message))


@attrs.define
class NoArgs:
    """A command that takes an empty object."""


@attrs.define
class SleepArgs:
    """`elixirCoder.test.sleep` {seconds?}."""

    seconds: float = 5.0


def run_stdio(*, log_file: str | None = None, log_level: str | None = None) -> int:
    """Serve on stdin/stdout until the client exits; flags given here win over the `[log]` settings."""
    logs.configure(log_level or "info", log_file or "")
    ls = make_server()
    ls.log_flags = (log_level, log_file)
    try:
        ls.start_io()
    finally:
        ls.executor.shutdown(wait=False, cancel_futures=True)
        ls.folder_coders.close()
        ls.coder.close()
    return 0
