"""Inline completion (docs/protocol.md, "Inline completion"; docs/architecture.md, "Inline completion").

Per document: at most one live request (a newer one cancels the older, which pygls answers as
cancelled), at most one decoding in the model (a newer request takes it over when the text typed since
is a prefix of what it produced), and a few cached completions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types

from elixir_coder_lsp.inference.fim import FimTokens, bound_by_tokens, detect_fim, fim_prompt
from elixir_coder_lsp.lsp.limits import skip_diagnostic
from elixir_coder_lsp.lsp.positions import split_lines, units_to_codepoint

if TYPE_CHECKING:
    from elixir_coder_lsp.lsp.server import ElixirCoderServer

log = logging.getLogger(__name__)

Syntax = Literal["code", "string", "comment"]
MAX_PREFIX_TOKENS = 1024
MAX_SUFFIX_TOKENS = 256
MAX_GRAMMAR_PREFIX = 16_000  # characters; a longer enclosing construct is completed unconstrained
CACHE_SIZE = 8  # completions kept per document
HANDOVER_S = 1.0  # how long a decoding a newer request may take over outlives its cancelled request

_CLOSERS = {"(": ")", "[": "]", "{": "}", "<": ">", "/": "/", "|": "|", '"': '"', "'": "'"}
_CONSTRUCT = re.compile(r"^([ \t]*)(defp?|defmacrop?|defguardp?|defmodule|defimpl|defprotocol)\b(.*)$")
_MODULE_LIKE = {"defmodule", "defimpl", "defprotocol"}


# -- where the cursor is ------------------------------------------------------------------------------


def syntax_at(text: str, offset: int) -> Syntax:
    """Whether ``offset`` in Elixir source is in code, a string (or sigil, charlist, heredoc) or a comment.

    A scan from the start of the text: quotes, heredocs, sigils with their delimiters, escapes,
    `#{…}` interpolation (code again) and `?c` character literals.
    """
    stack: list[tuple[str, str, bool, int]] = []  # ("str", closer, interpolates, 0) | ("code", "", False, brace depth)
    i, n, size = 0, min(offset, len(text)), len(text)
    while i < n:
        c = text[i]
        top = stack[-1] if stack else None
        if top is None or top[0] == "code":
            if c == "#":
                end = text.find("\n", i)
                if end == -1 or end >= n:
                    return "comment"
                i = end + 1
                continue
            if c == "?" and i + 1 < size and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_?!")):
                i += 3 if text[i + 1] == "\\" else 2
                continue
            if c in "\"'":
                closer = c * 3 if text.startswith(c * 3, i) else c
                stack.append(("str", closer, True, 0))
                i += len(closer)
                continue
            if c == "~" and i + 1 < size and text[i + 1].isalpha():
                j = i + 1
                while j < size and text[j].isalnum():
                    j += 1
                if j < size and (text.startswith('"""', j) or text.startswith("'''", j)):
                    stack.append(("str", text[j : j + 3], text[i + 1].islower(), 0))
                    i = j + 3
                    continue
                if j < size and text[j] in _CLOSERS:
                    stack.append(("str", _CLOSERS[text[j]], text[i + 1].islower(), 0))
                    i = j + 1
                    continue
                i = j
                continue
            if top is not None and c == "{":
                stack[-1] = ("code", "", False, top[3] + 1)
            elif top is not None and c == "}":
                if top[3] == 0:
                    stack.pop()
                else:
                    stack[-1] = ("code", "", False, top[3] - 1)
            i += 1
            continue
        _, closer, interpolates, _ = top
        if c == "\\":
            i += 2
            continue
        if interpolates and text.startswith("#{", i):
            stack.append(("code", "", False, 0))
            i += 2
            continue
        if text.startswith(closer, i):
            stack.pop()
            i += len(closer)
            continue
        i += 1
    return "code" if not stack or stack[-1][0] == "code" else "string"


def _width(line: str) -> int:
    return len(line.expandtabs(2)) - len(line.expandtabs(2).lstrip(" "))


def _block_indent(lines: list[str], line0: int, column: int) -> int:
    """The indentation of the cursor's block: its line's, or on a blank line the cursor column or the next line's."""
    here = lines[line0]
    if here[:column].strip():
        return _width(here)
    if here.strip():
        return min(_width(here), _width(here[:column]))
    after = next((ln for ln in lines[line0 + 1 :] if ln.strip()), "")
    return max(_width(here[:column]), _width(after))


def enclosing_construct(lines: list[str], line0: int, column: int) -> tuple[int, str]:
    """Where the grammar starts for a cursor: (first line, entry rule).

    The nearest `def…` above the cursor that is indented less than the cursor's line (or the cursor's own
    line, when it starts one) and has a `do` block starts module items (`module_body`); inside a
    `defmodule` outside any def, its body does; at top level, the file does (`start`).
    """
    indent = _block_indent(lines, line0, column)
    for k in range(line0, -1, -1):
        m = _CONSTRUCT.match(lines[k])
        if m is None:
            continue
        own = k == line0 and column > len(m.group(1))
        if not own and _width(lines[k]) >= indent:
            continue
        if re.search(r",\s*do:", m.group(3)) and not own:
            continue  # a one-line def is closed already
        if m.group(2) in _MODULE_LIKE and not own:
            return k + 1, "module_body"
        return k, "module_body" if m.group(2) not in _MODULE_LIKE else "start"
    return 0, "start"


@dataclass
class InlineContext:
    """One request's view of the document: the text around the cursor and where the grammar starts."""

    uri: str
    version: int
    text: str
    offset: int  # code points into text
    line0: int
    indent: int  # the width of the cursor line's indentation (the current block)
    grammar_start: int  # code-point offset where the grammar prefix starts
    entry_rule: str

    # cached: the cache lookups, the takeover check and parse_no_worse read them many times, and each
    # slice of a large document is a copy
    @cached_property
    def prefix(self) -> str:
        """Everything before the cursor."""
        return self.text[: self.offset]

    @cached_property
    def suffix(self) -> str:
        """Everything after the cursor."""
        return self.text[self.offset :]

    @property
    def grammar_prefix(self) -> str | None:
        """The text the grammar consumes before the completion (None when too long to be worth it)."""
        text = self.text[self.grammar_start : self.offset]
        return text if len(text) <= MAX_GRAMMAR_PREFIX else None


def context_at(uri: str, version: int, text: str, position: types.Position, encoding: str) -> InlineContext:
    """The InlineContext of an LSP position (clamped into the document)."""
    lines = split_lines(text)
    line0 = max(0, min(position.line, len(lines) - 1))
    column = units_to_codepoint(lines[line0], position.character, encoding)
    offset = sum(len(ln) + 1 for ln in lines[:line0]) + column
    start_line, rule = enclosing_construct(lines, line0, column)
    indent = _block_indent(lines, line0, column)
    return InlineContext(
        uri=uri,
        version=version,
        text=text,
        offset=min(offset, len(text)),
        line0=line0,
        indent=indent,
        grammar_start=sum(len(ln) + 1 for ln in lines[:start_line]),
        entry_rule=rule,
    )


# -- what to keep of a decoding ---------------------------------------------------------------------------


def trim_completion(completion: str, indent: int) -> str:
    """Cut a completion at a blank line or at the end of the current construct (a dedent, or its `end`)."""
    text = completion.replace("\r\n", "\n")
    blank = re.search(r"\n[ \t]*\n", text)
    if blank is not None:
        text = text[: blank.start()]
    lines = text.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        if not line.strip() or _width(line) < indent:
            break
        out.append(line)
        if line.strip() == "end" and _width(line) <= indent:
            break
    return "\n".join(out).rstrip()


def parse_no_worse(parse: Any, ctx: InlineContext, completion: str, before: Any = None) -> str:
    """The longest line-prefix of ``completion`` with which the file parses no worse than without it ("" if none).

    ``parse(code)`` is the helper's ParseResult; ``before`` is the file's own (parsed here when not given).
    The file parsed before: it must parse after. It did not: the first error must not move before where
    it was (shifted by the lines the completion adds).
    """
    if not completion:
        return ""
    if before is None:
        before = parse(ctx.text)
    lines = completion.split("\n")
    while lines:
        candidate = "\n".join(lines).rstrip()
        if candidate.strip():
            after = parse(ctx.prefix + candidate + ctx.suffix)
            if after.ok:
                return candidate
            if not before.ok and before.line is not None and after.line is not None:
                if after.line >= before.line + candidate.count("\n") and after.line > ctx.line0 + candidate.count("\n"):
                    return candidate
        lines.pop()
    return ""


# -- per-document state -----------------------------------------------------------------------------------


@dataclass
class Decoding:
    """One inline request in the model: what it was asked for and what it has produced so far."""

    prefix: str
    suffix: str
    request_id: str = ""
    future: asyncio.Future | None = None
    produced: str = ""
    handover: asyncio.TimerHandle | None = None
    adopted: int = 0

    @property
    def running(self) -> bool:
        """Whether the model is still decoding it."""
        return self.future is not None and not self.future.done()


@dataclass
class DocState:
    """A document's live request, its decoding and its cache of (prefix, suffix) -> completion."""

    tasks: dict[str, asyncio.Task] = field(default_factory=dict)  # the live request per kind (inline, completion)
    decoding: Decoding | None = None
    cache: OrderedDict[tuple[str, str], str] = field(default_factory=OrderedDict)
    parsed: tuple[int, Any] | None = None  # (version, the helper's parse of it or None when it refused the text)


@dataclass
class InlineStats:
    """Counters the benchmark reads (docs/protocol.md, "Inline completion")."""

    requests: int = 0
    cancelled: int = 0
    answered: int = 0
    empty: int = 0
    started: int = 0  # decodings sent to the model
    takeovers: int = 0
    cache_hits: int = 0
    unconstrained: int = 0

    def to_json(self) -> dict[str, int]:
        """The counters as a JSON object."""
        return dict(self.__dict__)


class InlineCompletions:
    """The server's inline completion: request bookkeeping, the model calls and the checks."""

    def __init__(self, ls: ElixirCoderServer) -> None:
        self.ls = ls
        self.docs: dict[str, DocState] = {}
        self.stats = InlineStats()
        self._fim: dict[str | None, tuple[Any, FimTokens | None]] = {}

    def forget(self, uri: str) -> None:
        """The document closed: cancel its request and decoding, drop its cache."""
        doc = self.docs.pop(uri, None)
        if doc is None:
            return
        for task in doc.tasks.values():
            if not task.done():
                task.cancel()
        if doc.decoding is not None:
            self._cancel_decoding(doc.decoding)

    async def complete(self, uri: str, position: types.Position, kind: str = "inline") -> str | None:
        """The completion text at a position, None for nothing. Cancellation (a newer request, `$/cancelRequest`) propagates.

        ``kind`` keeps inline requests and completion-item requests (`inline.asCompletionItem`) from
        cancelling each other; both share the document's decoding and cache.
        """
        self.stats.requests += 1
        doc = self.docs.setdefault(uri, DocState())
        current = asyncio.current_task()
        older = doc.tasks.get(kind)
        if older is not None and older is not current and not older.done():
            older.cancel()  # the older request is answered as cancelled
        if current is not None:
            doc.tasks[kind] = current
        try:
            return await self._complete(uri, doc, position)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise
        finally:
            if doc.tasks.get(kind) is current:
                doc.tasks.pop(kind, None)

    async def _complete(self, uri: str, doc: DocState, position: types.Position) -> str | None:
        folder_settings = self.ls.settings_for(uri)  # the document's workspace folder's
        settings = folder_settings.inline
        snap = self.ls.snapshot(uri)
        if snap is None or not settings.enabled:
            return None
        loop = asyncio.get_running_loop()
        encoding = self.ls.position_encoding()

        def locate() -> tuple[InlineContext, str]:
            ctx = context_at(uri, snap.version, snap.text, position, encoding)
            if skip_diagnostic(ctx.text, folder_settings.limits) is not None:
                return ctx, "refused"  # not analysed, so not completed either (its diagnostic says why)
            return ctx, ("code" if settings.in_strings_and_comments else syntax_at(ctx.text, ctx.offset))

        # scanning a large document takes a while (about 0.2 s at 2 MB): never on the event loop
        ctx, where = await loop.run_in_executor(self.ls.executor, locate)
        if where != "code":
            return self._answer(ctx, None)
        cached = self._from_cache(doc, ctx)
        if cached is not None:
            self.stats.cache_hits += 1
            return self._answer(ctx, cached)
        before = await self._parse_before(doc, ctx)
        if before is None:
            return self._answer(ctx, None)
        d = doc.decoding
        typed = self._takeover_text(d, ctx)
        if d is not None and typed is None:
            self._cancel_decoding(d)
            doc.decoding = d = None
        if d is None:
            await asyncio.sleep(settings.debounce_ms / 1000.0)
            ready = await loop.run_in_executor(self.ls.executor, self.ls.coder_for(uri).inline_ready, None, uri)
            if not ready:
                return self._answer(ctx, None)
            d = await self._start(ctx, settings.max_new_tokens)
            doc.decoding = d
            typed = ""
        else:
            self.stats.takeovers += 1
            if d.handover is not None:
                d.handover.cancel()
                d.handover = None
        d.adopted += 1
        try:
            result = await asyncio.shield(d.future)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            d.adopted -= 1
            self._release(uri, d)
            raise
        except Exception as exc:  # noqa: BLE001 - a failed request shows nothing; the log says why
            log.info("inline completion failed: %s", exc)
            if doc.decoding is d:
                doc.decoding = None
            return self._answer(ctx, None)
        d.adopted -= 1
        text = result.completions[0].text if result.completions else ""
        if not text.startswith(typed or ""):
            return self._answer(ctx, None)
        completion = trim_completion(text[len(typed or "") :], ctx.indent)
        parse = self.ls.coder.helper.parse
        try:
            completion = await loop.run_in_executor(self.ls.executor, parse_no_worse, parse, ctx, completion, before)
        except Exception as exc:  # noqa: BLE001 - the helper refused the completed file (nested too deeply): show nothing
            log.info("inline completion not checked, so not shown: %s", exc)
            completion = ""
        self._remember(doc, ctx, completion)
        return self._answer(ctx, completion)

    async def _parse_before(self, doc: DocState, ctx: InlineContext) -> Any | None:
        """The helper's parse of the document as it is, once per version; None when the helper refuses the
        text (nested too deeply: its diagnostic says so), and then nothing is decoded for it."""
        if doc.parsed is None or doc.parsed[0] != ctx.version:
            try:
                result = await asyncio.get_running_loop().run_in_executor(self.ls.executor, self.ls.coder.helper.parse, ctx.text)
            except Exception as exc:  # noqa: BLE001 - the helper's refusal is a value here
                log.info("inline completion skipped: %s", exc)
                result = None
            doc.parsed = (ctx.version, result)
        return doc.parsed[1]

    def _answer(self, ctx: InlineContext, completion: str | None) -> str | None:
        """Count the answer; a document that changed meanwhile gets nothing (never a stale completion)."""
        snap = self.ls.snapshot(ctx.uri)
        if snap is None or snap.version != ctx.version:
            completion = None
        if completion:
            self.stats.answered += 1
        else:
            self.stats.empty += 1
        return completion or None

    async def _start(self, ctx: InlineContext, max_new_tokens: int) -> Decoding:
        """Build the FIM prompt off the loop and submit it to the pool's interactive lane."""
        loop = asyncio.get_running_loop()
        d = Decoding(prefix=ctx.prefix, suffix=ctx.suffix)

        def on_event(event: Any) -> None:
            if event.kind == "token" and event.index == 0:
                d.produced += event.text  # one writer (the backend's reader thread); read on the loop

        def submit() -> tuple[str, Any, bool]:
            tokenizer, fim = self._tokenizer()
            prefix, suffix = bound_by_tokens(ctx.prefix, ctx.suffix, tokenizer, MAX_PREFIX_TOKENS, MAX_SUFFIX_TOKENS)
            prompt = fim_prompt(fim, prefix, suffix)
            gp = ctx.grammar_prefix
            rid, fut = self.ls.coder_for(ctx.uri).start_inline(
                prompt, grammar_prefix=gp, entry_rule=ctx.entry_rule, max_new_tokens=max_new_tokens, sticky_key=ctx.uri,
                on_event=on_event,
            )
            return rid, fut, gp is not None

        pending = loop.run_in_executor(self.ls.executor, submit)
        try:
            rid, fut, constrained = await asyncio.shield(pending)
        except asyncio.CancelledError:
            # cancelled while submitting: stop the request as soon as it exists
            pending.add_done_callback(lambda f: f.cancelled() or f.exception() or self.ls.coder.pool.cancel(f.result()[0]))
            raise
        d.request_id = rid
        self.stats.started += 1
        if not constrained:
            self.stats.unconstrained += 1
        d.future = asyncio.wrap_future(fut)
        return d

    def _tokenizer(self) -> tuple[Any, FimTokens | None]:
        """The default model's tokenizer and its FIM tokens, looked up once per checkpoint."""
        settings = self.ls.config.settings
        model = settings.model()
        key = model.checkpoint if model is not None else None
        if key not in self._fim:
            tokenizer = self.ls.coder.pool.tokenizer(None)  # tokenizer files only, never a model
            self._fim[key] = (tokenizer, detect_fim(tokenizer))  # detect_fim reads the whole vocabulary
        return self._fim[key]

    @staticmethod
    def _takeover_text(d: Decoding | None, ctx: InlineContext) -> str | None:
        """What was typed since ``d`` started, when ``d`` can answer this request too; else None."""
        if d is None or d.future is None or d.future.cancelled():
            return None
        if ctx.suffix != d.suffix or not ctx.prefix.startswith(d.prefix):
            return None
        typed = ctx.prefix[len(d.prefix) :]
        if d.future.done():
            exc = d.future.exception()
            if exc is not None:
                return None
            res = d.future.result()
            produced = res.completions[0].text if res.completions else ""
        else:
            produced = d.produced
        return typed if produced.startswith(typed) else None

    def _release(self, uri: str, d: Decoding) -> None:
        """A request waiting on ``d`` was cancelled: keep ``d`` briefly if the document may still use it, else stop it."""
        if d.adopted > 0 or not d.running:
            return
        snap = self.ls.snapshot(uri)
        if snap is not None and snap.text.startswith(d.prefix) and snap.text.endswith(d.suffix):
            middle = snap.text[len(d.prefix) : len(snap.text) - len(d.suffix)] if len(snap.text) >= len(d.prefix) + len(d.suffix) else None
            if middle is not None and d.produced.startswith(middle):
                # the user typed what the model is writing: a newer request may take the decoding over
                loop = asyncio.get_running_loop()
                d.handover = loop.call_later(HANDOVER_S, lambda: d.adopted == 0 and self._cancel_decoding(d))
                return
        self._cancel_decoding(d)

    def _cancel_decoding(self, d: Decoding) -> None:
        """Stop a decoding in the model (it leaves the batch at the next engine step)."""
        if d.handover is not None:
            d.handover.cancel()
            d.handover = None
        if d.running and d.request_id:
            self.ls.coder.pool.cancel(d.request_id)

    def _from_cache(self, doc: DocState, ctx: InlineContext) -> str | None:
        """A cached completion for this position, or the rest of one the user has been typing."""
        hit = doc.cache.get((ctx.prefix, ctx.suffix))
        if hit is not None:
            doc.cache.move_to_end((ctx.prefix, ctx.suffix))
            return hit
        for (prefix, suffix), completion in reversed(doc.cache.items()):
            if suffix == ctx.suffix and ctx.prefix.startswith(prefix):
                typed = ctx.prefix[len(prefix) :]
                if typed and completion.startswith(typed) and len(completion) > len(typed):
                    return completion[len(typed) :]
        return None

    @staticmethod
    def _remember(doc: DocState, ctx: InlineContext, completion: str) -> None:
        doc.cache[(ctx.prefix, ctx.suffix)] = completion
        doc.cache.move_to_end((ctx.prefix, ctx.suffix))
        while len(doc.cache) > CACHE_SIZE:
            doc.cache.popitem(last=False)


def inline_items(completion: str | None, position: types.Position) -> types.InlineCompletionList:
    """The LSP answer: one item inserted at the cursor, or none."""
    if not completion:
        return types.InlineCompletionList(items=[])
    rng = types.Range(start=position, end=position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=completion, range=rng)])


def completion_items(completion: str | None, position: types.Position) -> types.CompletionList:
    """The `inline.asCompletionItem` answer: the same completion as one (multi-line) completion item."""
    if not completion:
        return types.CompletionList(is_incomplete=True, items=[])
    first = completion.strip("\n").split("\n")[0].strip() or completion.strip()
    rng = types.Range(start=position, end=position)
    item = types.CompletionItem(
        label=first[:60] + ("…" if len(first) > 60 or "\n" in completion.strip("\n") else ""),
        kind=types.CompletionItemKind.Snippet,
        detail="elixir-coder",
        insert_text=completion,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=rng, new_text=completion),
        filter_text="",
        sort_text="0",
        preselect=True,
    )
    return types.CompletionList(is_incomplete=True, items=[item])

