"""The model-written paragraph of an explanation: prompt, quality filter, and a lowest-priority background job.

The paragraph is optional. It is asked for only when a model is configured, `explanations.useModel` is
on, and the model instance is already loaded and idle with nothing queued: it never starts a model and
never waits in front of generation or repair. One paragraph is generated at a time, greedily and short;
results are cached by (rule, function text), rejected ones too, so a weak model is asked once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

MAX_NEW_TOKENS = 160
MIN_CHARS, MAX_CHARS = 40, 700
MAX_SENTENCES = 6
CACHE_SIZE = 512
DOC_SNIPPET_CHARS = 400
_TOKEN = re.compile(r"\S+")
_WORDLIKE = re.compile(r"^[\"'(`]*[A-Za-z][A-Za-z'’\-]*[.,;:!?)`\"']*$")
_CODE_WORDS = re.compile(r"`([^`]+)`")


def model_available(settings: Any) -> bool:
    """Whether explanations may use the default instance's model without a download (pool.model_usable; a
    checkpoint directory must also hold a config.json)."""
    from pathlib import Path

    from elixir_coder_lsp.inference.pool import model_usable

    if not getattr(settings.explanations, "use_model", False):
        return False
    model = settings.model() or next(iter(settings.models.values()), None)
    if not model_usable(model):
        return False
    path = Path(model.checkpoint).expanduser()
    return model.backend == "openai" or not path.is_dir() or (path / "config.json").is_file()


# -- quality filter ---------------------------------------------------------------------------------


def subjects(ctx: Any) -> list[str]:
    """Names a paragraph about this finding should mention: the trigger call (and its last segment), the function, code in the title."""
    names: list[str] = []
    trigger = (ctx.finding.trigger or "").strip()
    if re.search(r"[A-Za-z]", trigger) and len(trigger) <= 60:
        names.append(trigger)
        last = re.split(r"[.:]", trigger)[-1]
        if len(last) >= 3:
            names.append(last)
    if ctx.function:
        names.append(str(ctx.function.get("name")))
    title = ctx.rule.title if ctx.rule else ""
    for text in (title, ctx.finding.message):
        names += [w for w in _CODE_WORDS.findall(text) if re.search(r"[A-Za-z]{2}", w)]
    return [n for n in dict.fromkeys(names) if n]


def check_paragraph(text: str, ctx: Any) -> tuple[bool, str]:
    """(accepted, reason): on topic (mentions the subject), mostly words, no repetition loops, bounded length."""
    body = (text or "").strip()
    if not MIN_CHARS <= len(body) <= MAX_CHARS:
        return False, f"length {len(body)} outside {MIN_CHARS}..{MAX_CHARS}"
    if "```" in body or "\n\n" in body:
        return False, "not a single prose paragraph"
    tokens = _TOKEN.findall(body)
    words = [t for t in tokens if _WORDLIKE.match(t)]
    if len(words) < 0.7 * len(tokens):
        return False, "not mostly words"
    letters = sum(c.isalpha() for c in body)
    if letters < 0.6 * sum(not c.isspace() for c in body):
        return False, "not mostly letters"
    if re.search(r"(.)\1{7,}", body):
        return False, "a character repeated in a run"
    lower = [t.lower().strip(".,;:!?\"'`()") for t in tokens]
    trigrams = Counter(zip(lower, lower[1:], lower[2:]))
    if trigrams and trigrams.most_common(1)[0][1] >= 3:
        return False, "a phrase repeats (loop)"
    if len(lower) >= 12 and Counter(lower).most_common(1)[0][1] > 0.2 * len(lower):
        return False, "one word dominates (loop)"
    if len(re.findall(r"[.!?](?:\s|$)", body)) > MAX_SENTENCES:
        return False, "too many sentences"
    if not any(name in body for name in subjects(ctx)):
        return False, "does not mention the finding's subject"
    return True, ""


# -- prompt -----------------------------------------------------------------------------------------


def request_text(ctx: Any) -> str:
    """The `explain` role's request: the finding, its subject, and what to write."""
    rule = ctx.rule
    where = f" in `{ctx.function_label}`" if ctx.function_label else ""
    title = f"{rule.title} ({rule.id})" if rule else ctx.finding.rule
    subject = subjects(ctx)[0] if subjects(ctx) else ctx.finding.rule
    return (
        f"Finding{where}, line {ctx.finding.line}: {title}. {ctx.finding.message}\n"
        f"Subject: {subject}\n"
        "At most three sentences, no code; name the subject."
    )


def prompt_context(ctx: Any, docs: list[Any]) -> dict[str, Any]:
    """The prompt's context block: the user's code and the retrieved documentation snippets."""
    snippets = "\n".join(f"- {d.key}: {' '.join(d.text.split())[:DOC_SNIPPET_CHARS]}" for d in docs)
    out: dict[str, Any] = {"code": ctx.code, "documentation": snippets}
    if ctx.module:
        out = {"module": ctx.module, **out}
    return out


def cache_key(ctx: Any) -> tuple[str, str]:
    """(rule, hash of the function text): the paragraph is about this rule in this code."""
    return ctx.finding.rule, hashlib.sha256(ctx.code.encode()).hexdigest()


# -- the background job ----------------------------------------------------------------------------


class Paragraphs:
    """Cache and lowest-priority generator of explanation paragraphs for one pipeline (`ElixirCoder`)."""

    def __init__(self, coder: Any, *, on_ready: Callable[[tuple[str, str]], None] | None = None) -> None:
        self.coder = coder
        self.on_ready = on_ready
        self._lock = threading.Lock()
        self._done: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._pending: set[tuple[str, str]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explain-paragraph")
        self._running: str | None = None  # id of the paragraph request on the model, if any
        self.generated = 0
        self.rejected: list[tuple[str, str]] = []  # (text, reason), for logs and tests

    def enabled(self, settings: Any = None) -> bool:
        """explanations.useModel and at least one model configured (in ``settings``, by default the façade's)."""
        settings = settings or self.coder.settings
        return bool(settings.explanations.use_model and settings.models)

    def ready_instance(self) -> str | None:
        """A loaded instance with nothing queued (idle), or None: the job never starts or waits for a model."""
        try:
            statuses = self.coder.model_statuses()
        except Exception:  # noqa: BLE001
            return None
        default = self.coder.settings.routing.default
        ready = [s for s in statuses if s.state == "idle" and s.queue == 0]
        ready.sort(key=lambda s: s.name != default)
        return ready[0].name if ready else None

    def get(self, ctx: Any) -> str | None:
        """The accepted paragraph for this finding and code, when one is ready."""
        with self._lock:
            return self._done.get(cache_key(ctx))

    def request(self, ctx: Any, docs: list[Any], *, settings: Any = None) -> bool:
        """Queue a paragraph when none is cached or pending and a model is loaded and idle; True when queued.
        ``settings``: the file's (its workspace folder's `explanations.useModel`), by default the façade's."""
        key = cache_key(ctx)
        if not self.enabled(settings):
            return False
        with self._lock:
            if key in self._done or key in self._pending or self._pending:
                return False  # one at a time: the job stays at the back of the line
            instance = self.ready_instance()
            if instance is None:
                return False
            self._pending.add(key)
        self._executor.submit(self._run, key, ctx, docs, instance)
        return True

    def _run(self, key: tuple[str, str], ctx: Any, docs: list[Any], instance: str) -> None:
        text: str | None = None
        attempted = False
        try:
            if self.ready_instance() == instance:  # still idle when the job starts
                attempted = True
                text = self.generate(ctx, docs, instance)
        except Exception as exc:  # noqa: BLE001 - the paragraph is optional; a later hover may try again
            attempted = False
            log.info("explanation paragraph failed: %s", exc)
        finally:
            with self._lock:
                self._pending.discard(key)
                if attempted:  # accepted or rejected: either way the model is not asked again for this code
                    self._done[key] = text
                    while len(self._done) > CACHE_SIZE:
                        self._done.popitem(last=False)
        if text is not None and self.on_ready is not None:
            self.on_ready(key)

    def generate(self, ctx: Any, docs: list[Any], instance: str | None = None, timeout: float = 120.0) -> str | None:
        """Generate and filter one paragraph (blocking); None when the model's text does not pass the filter."""
        from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams

        request = GenerationRequest(
            prompt=request_text(ctx),
            params=SamplingParams(n=1, temperature=0.0, max_new_tokens=MAX_NEW_TOKENS),
            role="explain",
            constrained=False,
            instance=instance,
            context=prompt_context(ctx, docs),
        )
        import uuid

        request.id = f"explain-{uuid.uuid4().hex[:12]}"
        self._running = request.id
        try:
            result = self.coder.submit(request, timeout=timeout)
        finally:
            self._running = None
        completions = [c for c in result.completions if c.finish_reason != "error"]
        if not completions:
            return None
        text = " ".join(completions[0].text.strip().split())
        self.generated += 1
        ok, reason = check_paragraph(text, ctx)
        if not ok:
            self.rejected.append((text, reason))
            log.info("explanation paragraph rejected (%s): %.80r", reason, text)
            return None
        return text

    def yield_to(self) -> bool:
        """A generation or repair job starts: cancel the running paragraph (a later hover asks again); True if one ran."""
        running = self._running
        if running is None:
            return False
        return bool(self.coder.pool.cancel(running))  # a running request means the pool exists

    def close(self) -> None:
        """Stop the background thread (a running job finishes on its own)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
