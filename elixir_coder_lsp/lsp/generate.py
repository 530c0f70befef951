"""The "Generate code" job: find the request in the document, generate off the loop, insert the code."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from elixir_coder_lsp.cancel import Cancelled
from elixir_coder_lsp.inference.types import GenerationError, StreamEvent
from elixir_coder_lsp.lsp.insertion import GenerationSite, find_site, reindent, relocate
from elixir_coder_lsp.lsp.jobs import Job, JobFailed
from elixir_coder_lsp.lsp.positions import codepoint_to_units, split_lines, units_to_codepoint
from elixir_coder_lsp.lsp.preview import choose_candidate
from elixir_coder_lsp.lsp.ask import ask_user

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.actions import GenerateArgs
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

log = logging.getLogger(__name__)

NOTHING_HERE = (
    "Nothing to generate from here: put the cursor on a comment (e.g. `# TODO: …`) or a `@doc`, "
    "or select the text that describes the code."
)


def range_to_codepoints(lines: list[str], rng: types.Range, encoding: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An LSP range -> 0-based (line, code-point column) pairs clamped into the document."""

    def conv(pos: types.Position) -> tuple[int, int]:
        line = max(0, min(pos.line, len(lines) - 1))
        return line, units_to_codepoint(lines[line], pos.character, encoding)

    return conv(rng.start), conv(rng.end)


def selected_text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The text between two 0-based (line, code-point column) positions."""
    if start == end:
        return ""
    if start[0] == end[0]:
        return lines[start[0]][start[1] : end[1]]
    parts = [lines[start[0]][start[1] :], *lines[start[0] + 1 : end[0]], lines[end[0]][: end[1]]]
    return "\n".join(parts)


def insertion_edit(lines: list[str], insert_line: int, code: str, encoding: str) -> types.TextEdit:
    """A TextEdit that inserts `code` (already indented, newline-terminated) before line `insert_line`."""
    if insert_line < len(lines):
        pos = types.Position(line=insert_line, character=0)
        return types.TextEdit(range=types.Range(start=pos, end=pos), new_text=code)
    last = len(lines) - 1
    end = types.Position(line=last, character=codepoint_to_units(lines[last], len(lines[last]), encoding))
    return types.TextEdit(range=types.Range(start=end, end=end), new_text="\n" + code.rstrip("\n"))


def workspace_edit(uri: str, version: int | None, edits: list[types.TextEdit], document_changes: bool) -> types.WorkspaceEdit:
    """One edit for one document, versioned when the client supports documentChanges."""
    if document_changes:
        ident = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=ident, edits=edits)])
    return types.WorkspaceEdit(changes={uri: edits})


def progress_events(loop: asyncio.AbstractEventLoop, report: Callable[[str], None]) -> Callable[[StreamEvent], None]:
    """Turn pool events (from worker threads) into progress messages on the loop."""
    counts: dict[int, int] = {}

    def on_event(event: StreamEvent) -> None:
        if event.kind == "phase" and event.phase:
            message = event.phase
        elif event.kind == "token":
            counts[event.index] = event.tokens_so_far or counts.get(event.index, 0) + 1
            message = f"generating {max(counts.values())} tokens"
        else:
            return
        loop.call_soon_threadsafe(report, message)

    return on_event


def ask_from_thread(server: ElixirCoderServer, job: Job, loop: asyncio.AbstractEventLoop) -> Callable[[dict[str, Any]], str | None]:
    """An answer_fn for the façade, called on a worker thread: asks on the loop and waits, watching the job's token.

    A dismissed question cancels the job (docs/protocol.md): the token is set and Cancelled raised.
    """

    def answer(question: dict[str, Any]) -> str | None:
        job.token.raise_if_cancelled()
        future = asyncio.run_coroutine_threadsafe(ask_user(server, job.id, question), loop)
        while True:
            try:
                reply = future.result(timeout=0.1)
                break
            except concurrent.futures.TimeoutError:
                if job.token.cancelled:
                    future.cancel()
                    raise Cancelled(job.token.reason) from None
            except Exception as exc:  # noqa: BLE001 - a client that fails the request dismissed it
                log.info("job %s: the question was not answered: %s", job.id, exc)
                reply = None
                break
        if reply is None:
            job.token.cancel("the clarifying question was dismissed")
            raise Cancelled(job.token.reason)
        log.info("job %s: clarifying answer %r", job.id, reply)
        return reply

    return answer


async def generate_job(server: ElixirCoderServer, job: Job, report: Callable[[str], None], args: GenerateArgs) -> types.WorkspaceEdit | None:
    """Job work for `elixirCoder.generate` {uri, range, prompt?, instance?}."""
    uri = job.uri
    snap = server.snapshot(uri)
    if snap is None:
        raise JobFailed(f"{uri} is not open in the editor.")
    encoding = server.position_encoding()
    lines = split_lines(snap.text)
    start, end = range_to_codepoints(lines, args.range, encoding)
    loop = asyncio.get_running_loop()
    coder = server.coder_for(uri)  # the document's workspace folder's settings

    def locate() -> GenerationSite | None:
        summary = coder.summary(snap.text)
        return find_site(lines, start, end, selected_text=selected_text(lines, start, end), prompt=args.prompt, summary=summary)

    site = await loop.run_in_executor(server.executor, locate)
    if site is None:
        raise JobFailed(NOTHING_HERE)
    anchor = lines[site.anchor[0] : site.anchor[1] + 1]
    on_event = progress_events(loop, report)
    answer_fn = ask_from_thread(server, job, loop)
    try:
        # Sample and decide first (when clarification is on); an asked question goes to the user.
        outcome = await loop.run_in_executor(
            server.executor,
            lambda: coder.generate_with_clarification(
                site.request,
                answer_fn,
                document=snap.text,
                filename=snap.path,
                entry_rule=site.entry_rule,
                module=site.module,
                line=site.insert_line,
                instance=args.instance,
                sticky_key=uri,
                on_event=on_event,
                cancel=job.token,
            ),
        )
    except GenerationError as exc:
        raise JobFailed(str(exc)) from exc
    job.token.raise_if_cancelled()
    if outcome.status not in ("generated", "not_clean"):
        raise JobFailed(outcome.message or f"generation ended with status {outcome.status}")
    code = await choose_candidate(server, job.id, outcome, server.settings_for(uri))  # generation.preview: the user picks among checked candidates
    job.token.raise_if_cancelled()
    report("inserting")
    current = server.snapshot(uri)
    if current is None:
        raise JobFailed("the document was closed before the code was ready.")
    current_lines = split_lines(current.text)
    insert_line = site.insert_line if current.version == snap.version else relocate(current_lines, site, anchor)
    if insert_line is None:
        raise JobFailed("the document changed and the request it was generating for is gone.")
    edit = insertion_edit(current_lines, insert_line, reindent(code, site.indent), encoding)
    if outcome.status == "not_clean":
        # Still inserted (one edit); its findings show up as diagnostics once the edit is analysed.
        server.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"Generated code inserted: {outcome.message}"))
    return workspace_edit(uri, current.version, [edit], server.supports_document_changes())

