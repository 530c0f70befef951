"""Grammar-constrained decoding with llguidance: mask stores, per-sequence constraints, batched masks.

The one adapter between the decode loop and llguidance. Per model tokenizer a `MaskStore` (built once,
cached) holds the `LLTokenizer` and compiled matchers per (entry rule, extra rules); each sequence gets a
`SequenceConstraint` (an `LLMatcher` plus optional monitors); `apply_mask` fills all rows' bitmasks in
parallel with one `LLExecutor` (or takes bitmasks filled earlier) and sets banned logits to -inf;
`MaskPrefetch` fills the next step's bitmasks on a background thread while the forward pass runs.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llguidance as llg

log = logging.getLogger(__name__)

GRAMMAR_PATH = Path(__file__).resolve().parent.parent / "grammars" / "elixir.lark"
ENTRY_RULES = ("start", "module_body", "expr_seq")
_RULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A safety margin only: the grammar fits llguidance's default cap of 50k Earley items per mask step with
# a 100k code tokenizer (bench/grammar_items.py), as vLLM and SGLang need; a rare state that needs more
# (nested parentheses) must not stop the local matcher with an error.
STEP_MAX_ITEMS = 400_000


def _limits() -> llg.LLParserLimits:
    return llg.LLParserLimits(step_max_items=STEP_MAX_ITEMS)


_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_?!")


# ---------------------------------------------------------------- grammar text
@functools.cache
def _base_grammar() -> str:
    return GRAMMAR_PATH.read_text(encoding="utf-8")


def grammar_rules() -> list[str]:
    """Names of the rules defined in the grammar (any of them can be an entry rule)."""
    return re.findall(r"^([a-z][a-z0-9_]*)\s*:", _base_grammar(), flags=re.M)


def grammar_text(entry_rule: str = "start", extra_rules: str | None = None) -> str:
    """The Lark text (llguidance dialect) for an entry rule, plus optional extra rules appended.

    Extra rules are Lark text added after the base grammar; they may reuse every base rule and terminal,
    and when they define `start:` themselves that becomes the entry point (e.g. a call to one of the
    names in scope: `start: scoped_call\\nscoped_call: ("foo" | "bar") LPAREN expr_np RPAREN`).
    """
    if entry_rule != "start" and (not _RULE_NAME.match(entry_rule) or entry_rule not in grammar_rules()):
        raise ValueError(f"unknown grammar entry rule {entry_rule!r}")
    text = _base_grammar()
    if extra_rules and re.search(r"^start\s*:", extra_rules, flags=re.M):
        # the extra rules bring their own entry point (built from the base rules): drop the base's
        text = re.sub(r"^start:.*$", "", text, count=1, flags=re.M)
    elif entry_rule != "start":
        # llguidance always starts at `start`; point it at the requested rule
        text = re.sub(r"^start:.*$", f"start: {entry_rule}", text, count=1, flags=re.M)
    if extra_rules:
        text = text.rstrip("\n") + "\n\n// extra rules for this request\n" + extra_rules.strip() + "\n"
    return text


# ---------------------------------------------------------------- byte-level checking (no model needed)
class _ByteTokens:
    """A 256-token byte vocabulary plus EOS, so grammar checks need no model tokenizer."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]
    special_token_ids = [256]

    def __call__(self, data: bytes) -> list[int]:
        return list(data)


@functools.cache
def _byte_tokenizer() -> llg.LLTokenizer:
    return llg.LLTokenizer(llg.TokenizerWrapper(_ByteTokens()), slices=[])


@dataclass
class CheckResult:
    """Whether a text is in the grammar; where not, the first byte the grammar rejects."""

    accepted: bool
    offset: int = 0  # byte offset of the rejection (== len(bytes) when the text ends too early)
    char_offset: int = 0  # the same position in code points
    line: int = 1  # 1-based
    column: int = 1  # 1-based, code points
    message: str = ""


_check_lock = threading.Lock()
_check_cache: dict[tuple[str, str | None], llg.LLMatcher] = {}


def _pristine_byte_matcher(entry_rule: str, extra_rules: str | None) -> llg.LLMatcher:
    key = (entry_rule, extra_rules)
    with _check_lock:
        m = _check_cache.get(key)
        if m is None:
            m = llg.LLMatcher(_byte_tokenizer(), grammar_text(entry_rule, extra_rules), log_level=0)
            if m.is_error():
                raise ValueError(f"grammar does not compile: {m.get_error()}")
            _check_cache[key] = m
        return m.deep_copy()


def check_text(text: str, entry_rule: str = "start", extra_rules: str | None = None) -> CheckResult:
    """Check a whole text against the grammar (an entry rule); report where it is rejected."""
    data = text.encode("utf-8")
    m = _pristine_byte_matcher(entry_rule, extra_rules)
    n = m.try_consume_tokens(list(data)) if data else 0
    if n == len(data) and m.is_accepting():
        return CheckResult(True)
    message = "unexpected end of input" if n == len(data) else "unexpected input"
    prefix = data[:n].decode("utf-8", errors="replace")
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return CheckResult(False, offset=n, char_offset=len(prefix), line=line, column=column, message=message)


_accepts_cache: dict[str, llg.LLMatcher] = {}


def grammar_accepts(grammar: str, text: str) -> bool:
    """Whether a grammar text (as sent to a server) accepts the whole text; False if it does not compile."""
    with _check_lock:
        m = _accepts_cache.get(grammar)
        if m is None:
            m = llg.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
            if len(_accepts_cache) >= 8:
                _accepts_cache.pop(next(iter(_accepts_cache)))
            _accepts_cache[grammar] = m
        m = m.deep_copy()
    data = text.encode("utf-8")
    return not m.is_error() and (not data or m.try_consume_tokens(list(data)) == len(data)) and m.is_accepting()


# ---------------------------------------------------------------- model tokenizers
def _ll_tokenizer(tokenizer: Any) -> llg.LLTokenizer:
    """An LLTokenizer for a Hugging Face fast tokenizer (or a `tokenizers.Tokenizer`)."""
    try:
        import transformers

        if isinstance(tokenizer, transformers.PreTrainedTokenizerFast):
            import llguidance.hf

            return llguidance.hf.from_tokenizer(tokenizer)
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if hasattr(backend, "to_str"):
        eos = getattr(tokenizer, "eos_token_id", None)
        return llg.LLTokenizer(backend.to_str(), eos_token=eos)
    raise TypeError(f"unsupported tokenizer type {type(tokenizer).__name__}")


class MaskStore:
    """Per-tokenizer state: the LLTokenizer, compiled matchers per entry rule, token texts for monitors."""

    def __init__(self, ll_tokenizer: llg.LLTokenizer) -> None:
        self.ll_tokenizer = ll_tokenizer
        self.vocab_size: int = ll_tokenizer.vocab_size
        self.eos_tokens: list[int] = list(ll_tokenizer.eos_tokens) or [ll_tokenizer.eos_token]
        self._lock = threading.Lock()
        self._matchers: dict[tuple[str, str | None], llg.LLMatcher] = {}
        self.compile_seconds: dict[tuple[str, str | None], float] = {}
        self._vocab: VocabIndex | None = None

    def _pristine(self, entry_rule: str, extra_rules: str | None) -> llg.LLMatcher:
        key = (entry_rule, extra_rules or None)
        with self._lock:
            m = self._matchers.get(key)
            if m is None:
                t0 = time.perf_counter()
                m = llg.LLMatcher(
                    self.ll_tokenizer, grammar_text(entry_rule, extra_rules), log_level=0, limits=_limits()
                )
                if m.is_error():
                    raise ValueError(f"grammar does not compile: {m.get_error()}")
                # llguidance keeps the last mask it computed with the parser state, and deep copies carry it:
                # computed once here, every request's first mask is a copy (~2 ms on a 31k vocabulary, the
                # dearest step of all: a file start predicts every top-level form)
                cold = m.deep_copy()
                m.compute_bitmask()
                if m.is_error():  # a first step over the item limit: let each request meet it, not start in it
                    m = cold
                self.compile_seconds[key] = time.perf_counter() - t0
                self._matchers[key] = m
            # deep_copy shares the compiled grammar and lexer; it is much cheaper than compiling
            return m.deep_copy()

    @property
    def vocab(self) -> VocabIndex:
        """Decoded token texts, indexed for the monitors' prefix searches (built on first use)."""
        with self._lock:
            if self._vocab is None:
                self._vocab = VocabIndex(self.ll_tokenizer, self.vocab_size, self.eos_tokens)
            return self._vocab

    def constraint(
        self,
        entry_rule: str = "start",
        *,
        extra_rules: str | None = None,
        monitors: Mapping[str, bool] | None = None,
        prefix: str | None = None,
    ) -> SequenceConstraint | None:
        """A fresh constraint for one sequence: the grammar (entry rule + extra rules) and monitors.

        With ``prefix`` (GenerationRequest.grammar_prefix) the matcher first consumes that text and the
        constraint is open-ended: the sample is a fragment that may stop anywhere. None when the grammar
        rejects the prefix (the user is mid-edit): the sample is then drawn unconstrained.
        """
        mons: list[Any] = []
        if monitors and any(monitors.values()) and prefix is None:
            # monitors judge whole programs; a fragment after a prefix is checked by the caller instead
            from elixir_coder_lsp.inference.monitors import build_monitors

            mons = build_monitors(monitors)
        constraint = SequenceConstraint(self, self._pristine(entry_rule, extra_rules), mons)
        if prefix is not None and not constraint.consume_prefix(prefix):
            return None
        return constraint


_stores_lock = threading.Lock()
_stores: dict[int, tuple[weakref.ref[Any] | None, Any, MaskStore]] = {}


def build_mask_store(tokenizer: Any) -> MaskStore:
    """The MaskStore for a tokenizer, built once per tokenizer object (building costs ~1 s)."""
    key = id(tokenizer)
    with _stores_lock:
        entry = _stores.get(key)
        if entry is not None:
            ref, strong, store = entry
            if (ref is not None and ref() is tokenizer) or strong is tokenizer:
                return store
        store = MaskStore(_ll_tokenizer(tokenizer))
        try:
            _stores[key] = (weakref.ref(tokenizer, lambda _r, k=key: _stores.pop(k, None)), None, store)
        except TypeError:  # not weak-referenceable: keep it alive with the store
            _stores[key] = (None, tokenizer, store)
        return store


class VocabIndex:
    """Token id -> decoded text, and a sorted index for "tokens starting with s" queries."""

    def __init__(self, ll_tokenizer: llg.LLTokenizer, vocab_size: int, eos_tokens: Sequence[int]) -> None:
        self.texts: list[str] = []
        for i in range(vocab_size):
            if ll_tokenizer.is_special_token(i):
                self.texts.append("")
            else:
                self.texts.append(ll_tokenizer.decode_bytes([i]).decode("utf-8", errors="replace"))
        self.eos_tokens = list(eos_tokens)
        order = sorted((t, i) for i, t in enumerate(self.texts) if t)
        self._sorted_texts = [t for t, _ in order]
        self._sorted_ids = [i for _, i in order]
        self.nonident_start = [i for i, t in enumerate(self.texts) if t and t[0] not in _IDENT_CHARS]
        self._containing: dict[str, list[int]] = {}

    def starting_with(self, prefix: str) -> list[int]:
        """Ids of the tokens whose text starts with prefix."""
        lo = bisect.bisect_left(self._sorted_texts, prefix)
        hi = bisect.bisect_left(self._sorted_texts, prefix + "\U0010ffff")
        return self._sorted_ids[lo:hi]

    def containing(self, needle: str) -> list[int]:
        """Ids of the tokens whose text contains needle (a linear scan, memoized per needle)."""
        ids = self._containing.get(needle)
        if ids is None:
            ids = [i for i, t in enumerate(self.texts) if needle in t]
            self._containing[needle] = ids
        return ids


# ---------------------------------------------------------------- per-sequence constraint
class SequenceConstraint:
    """One sequence's grammar matcher plus monitors; consumes sampled tokens, reports completion."""

    def __init__(self, store: MaskStore, matcher: llg.LLMatcher, monitors: list[Any]) -> None:
        self.store = store
        self.matcher = matcher
        self.monitors = monitors
        self._bytes = bytearray()
        self._monitor_error: str | None = None
        self.open_ended = False  # after a grammar prefix: EOS is allowed anywhere (the sample is a fragment)

    def consume_prefix(self, text: str) -> bool:
        """Feed a forced prefix to the matcher before sampling; False when the grammar rejects it."""
        data = text.encode("utf-8")
        tokens = self.store.ll_tokenizer.tokenize_bytes(data) if data else []
        if tokens and self.matcher.try_consume_tokens(tokens) != len(tokens):
            return False
        if self.matcher.is_error():
            return False
        self._bytes += data
        self.open_ended = True
        return True

    @property
    def text(self) -> str:
        """The text consumed so far."""
        return self._bytes.decode("utf-8", errors="replace")

    def tail(self, n: int) -> str:
        """The last ``n`` bytes consumed, decoded (cheaper than ``text`` on long outputs)."""
        return bytes(self._bytes[-n:]).decode("utf-8", errors="replace")

    @property
    def error(self) -> str | None:
        """Why the constraint is in error (a rejected token or a monitor violation), else None."""
        if self._monitor_error:
            return self._monitor_error
        if self.matcher.is_error():
            return self.matcher.get_error() or "rejected"
        return None

    def consume(self, token_id: int) -> bool:
        """Advance by one sampled token; False means it was rejected (the constraint stays in error)."""
        if self._monitor_error:
            return False
        is_eos = token_id in self.store.eos_tokens
        ok = self.matcher.consume_token(token_id)
        if not ok:
            return False
        if is_eos:
            if self.monitors:
                text = self.text
                for mon in self.monitors:
                    if not mon.allowed(text, final=True):
                        self._monitor_error = f"monitor {mon.key} ({mon.rule_id}) violated"
                        return False
            return True
        piece = self.store.ll_tokenizer.decode_bytes([token_id])
        self._bytes += piece
        if self.monitors:
            text = self.text
            for mon in self.monitors:
                mon.update(piece.decode("utf-8", errors="replace"))
                if not mon.allowed(text):
                    self._monitor_error = f"monitor {mon.key} ({mon.rule_id}) violated"
                    return False
        return True

    def accepts(self, token_ids: Sequence[int]) -> bool:
        """Whether these tokens could come next, in order (the constraint does not advance)."""
        if self.error is not None:
            return False
        return self.matcher.validate_tokens(list(token_ids)) == len(token_ids)

    def allows(self, token_id: int) -> bool:
        """Whether this one token may come next (grammar and monitors); cheaper than a full mask."""
        if self.open_ended and token_id in self.store.eos_tokens:
            return self.error is None
        if self.error is not None or self.matcher.validate_tokens([token_id]) != 1:
            return False
        return not self.monitors or token_id not in self.banned_tokens()

    def can_stop(self) -> bool:
        """The grammar is complete here (or the sample is an open-ended fragment): EOS is allowed."""
        return self.error is None and (self.open_ended or self.matcher.is_accepting())

    def is_finished(self) -> bool:
        """Nothing more can be added (the matcher stopped, or the constraint is in error)."""
        return self.error is not None or self.matcher.is_stopped()

    def banned_tokens(self) -> list[int]:
        """Token ids the monitors ban at this point (ANDed with the grammar mask by apply_mask)."""
        if not self.monitors:
            return []
        text = self.text
        vocab = self.store.vocab
        out: list[int] = []
        for mon in self.monitors:
            if mon.trigger(text):
                out.extend(mon.banned(text, vocab))
        return out


# ---------------------------------------------------------------- batched masks
_executor_lock = threading.Lock()
_executor: llg.LLExecutor | None = None


def executor_threads() -> int:
    """Threads of the shared LLExecutor: llguidance's own default, 80% of the cores (at most 32)."""
    return max(1, min(32, (os.cpu_count() or 1) * 4 // 5))


def _get_executor() -> llg.LLExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            # the count is set explicitly so that MaskPrefetch can size its chunks to it
            _executor = llg.LLExecutor(num_threads=executor_threads())
        return _executor


def bitmask_words(n_vocab: int) -> int:
    """int32 words per bitmask row for a vocabulary of n_vocab tokens."""
    return (n_vocab + 31) // 32


def fill_bitmask(constraints: Sequence[SequenceConstraint | None], n_vocab: int) -> Any:
    """An int32 [B, ceil(n_vocab/32)] bitmask for the rows (all ones where the constraint is None)."""
    import torch

    words = bitmask_words(n_vocab)
    bitmask = torch.full((len(constraints), words), -1, dtype=torch.int32)  # contiguous, on the CPU
    pairs = [(c.matcher, i) for i, c in enumerate(constraints) if c is not None]
    if pairs:
        # what llguidance.torch.fill_next_token_bitmask_par does after its checks. Importing that module
        # sets up torch.compile for one of its kernels (~1 s even after the model is loaded), and the
        # import came inside the worker's first full mask, holding up every row of that batch
        _get_executor().unsafe_compute_mask_ptr(pairs, bitmask.data_ptr(), words * 4, len(constraints))
    return bitmask


def _unpack(bitmask: Any, width: int) -> Any:
    import torch

    shifts = torch.arange(32, dtype=torch.int32)
    bits = (bitmask.unsqueeze(-1) >> shifts) & 1
    return bits.reshape(bitmask.shape[0], -1)[:, :width].bool()


def apply_mask(logits: Any, constraints: Sequence[SequenceConstraint | None], *, bitmask: Any = None) -> Any:
    """In place: banned tokens -> -inf for every row with a constraint (grammar AND monitors).

    Rows whose constraint is None are untouched. Columns beyond the tokenizer's vocabulary (models often
    pad the embedding matrix) are banned on constrained rows. ``bitmask`` is an int32 [B, words] grammar
    bitmask already filled for these rows in their current state (e.g. by MaskPrefetch); without it the
    masks are filled here. Monitors are applied either way: their bans depend on the text only.
    """
    import torch

    if logits.dim() != 2 or logits.shape[0] != len(constraints):
        raise ValueError(f"logits {tuple(logits.shape)} do not match {len(constraints)} constraints")
    rows = [i for i, c in enumerate(constraints) if c is not None]
    if not rows:
        return logits
    store = next(c for c in constraints if c is not None).store
    n_vocab = store.vocab_size
    if bitmask is None:
        bitmask = fill_bitmask(constraints, n_vocab)
    elif tuple(bitmask.shape) != (len(constraints), bitmask_words(n_vocab)) or bitmask.dtype != torch.int32:
        raise ValueError(f"bitmask {tuple(bitmask.shape)} {bitmask.dtype} does not match {len(constraints)} rows of {n_vocab} tokens")
    v = logits.shape[1]
    allowed = _unpack(bitmask[rows], min(v, n_vocab))
    for j, i in enumerate(rows):
        if constraints[i].open_ended and constraints[i].error is None:  # type: ignore[union-attr]
            for eos in store.eos_tokens:
                if eos < allowed.shape[1]:
                    allowed[j, eos] = True
        banned = constraints[i].banned_tokens()  # type: ignore[union-attr]
        if banned:
            idx = torch.tensor([b for b in banned if b < allowed.shape[1]], dtype=torch.long)
            if idx.numel():
                allowed[j, idx] = False
    if allowed.device != logits.device:
        allowed = allowed.to(logits.device)
    row_idx = torch.tensor(rows, dtype=torch.long, device=logits.device)
    sub = logits.index_select(0, row_idx)
    if v > n_vocab:
        sub[:, n_vocab:] = float("-inf")
    sub[:, : allowed.shape[1]].masked_fill_(~allowed, float("-inf"))
    logits.index_copy_(0, row_idx, sub)
    return logits


def monitor_guided(
    logits: Any,
    constraints: Sequence[SequenceConstraint | None],
) -> Any:
    """Monitor-guided decoding step: the grammar mask ANDed with every active monitor's ban mask.

    The same operation as apply_mask (constraints carry their monitors); named after the specification's
    `monitor_guided`.
    """
    return apply_mask(logits, constraints)


# ---------------------------------------------------------------- masks overlapped with the forward pass
_prefetch_pool_lock = threading.Lock()
_prefetch_pool: ThreadPoolExecutor | None = None


def _get_prefetch_pool() -> ThreadPoolExecutor:
    global _prefetch_pool
    with _prefetch_pool_lock:
        if _prefetch_pool is None:
            # one thread: it only drives the LLExecutor, whose own threads do the work (without the GIL)
            _prefetch_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llg-prefetch")
        return _prefetch_pool


class MaskPrefetch:
    """Grammar bitmasks filled on a background thread while the caller runs the forward pass.

    The caller queues (key, constraint) pairs in priority order, runs its forward pass, then calls
    ``finish``. Masks are filled a chunk at a time (one row per executor thread), so ``finish(wait_all=False)``
    waits at most for the chunk in progress; rows not reached are left to the caller's serial path.
    Between ``add`` and ``finish`` the caller must not touch the queued constraints' matchers.
    """

    def __init__(self, n_vocab: int, *, chunk: int | None = None) -> None:
        self.n_vocab = n_vocab
        self.chunk = max(1, chunk or executor_threads())
        self._lock = threading.Lock()
        self._queue: list[tuple[Hashable, SequenceConstraint]] = []
        self._done: dict[Hashable, Any] = {}
        self._stop = False
        self._future: Future[None] | None = None
        self._finished = False
        self.fill_s = 0.0  # background time spent filling (not on the caller's critical path)
        self.wait_s = 0.0  # time finish() waited for the background (on the critical path)
        self.error: BaseException | None = None

    def add(self, items: Sequence[tuple[Hashable, SequenceConstraint]]) -> None:
        """Queue constraints (in priority order) to have their current mask filled."""
        if not items:
            return
        with self._lock:
            if self._finished:
                raise RuntimeError("MaskPrefetch.add after finish")
            self._queue.extend(items)
            if self._future is None:
                self._future = _get_prefetch_pool().submit(self._run)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stop or not self._queue:
                    self._future = None
                    return
                chunk, self._queue = self._queue[: self.chunk], self._queue[self.chunk :]
            started = time.perf_counter()
            try:
                buf = fill_bitmask([c for _, c in chunk], self.n_vocab)
            except BaseException as exc:  # noqa: BLE001 - the serial path fills these rows instead
                with self._lock:
                    self.error = exc
                    self._future = None
                return
            with self._lock:
                self.fill_s += time.perf_counter() - started
                for j, (key, _) in enumerate(chunk):
                    self._done[key] = buf[j]

    def finish(self, *, wait_all: bool = False) -> dict[Hashable, Any]:
        """Stop (or, with wait_all, drain) the queue, wait for the background, return key -> bitmask row."""
        started = time.perf_counter()
        with self._lock:
            self._finished = True
            if not wait_all:
                self._stop = True
                self._queue.clear()
            future = self._future
        if future is not None:
            future.result()  # _run catches its own errors: this only waits
        self.wait_s += time.perf_counter() - started
        if self.error is not None:
            log.warning("background grammar masks failed (computed serially instead): %s", self.error)
        with self._lock:
            return dict(self._done)
