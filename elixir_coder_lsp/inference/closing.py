"""Closing out a constrained sample: the shortest token path to a complete program from where it stands.

When a sample must stop (its token budget is nearly spent, or the model wants to end while the grammar
still has constructs open), the engine forces a short valid ending instead of cutting the text off
unfinished. The ending is found by a best-first search over a small "skeleton" vocabulary (closing
brackets, `end`, `->`, `nil`, quotes, newlines) through the real grammar matcher, guided by a lexical
count of what is still open.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elixir_coder_lsp.inference.steering import IDENT_CHARS

# token texts the search may use, most useful first (ties in the search keep this order)
SKELETON = (
    ")", "]", "}", " end", "end", "\nend", "\n", " ->", " nil", "nil", '"', "'", '"""', "'''", ">>", " do", "\n\n",
    " =>", ":", "{",  # map entries, quoted keyword keys, `%name{`
)
# A failed search costs its whole budget on the engine step's critical path (~40 us per expansion, ~10 ms
# at 250), but a smaller budget finds fewer endings: on 200 held-out prompts with at most 256 new tokens
# (bench/constraints.py quality), 250 expansions closed 180 samples, 128 closed 178, and 8 per token of
# room (at most 128) 175. Finishing valid code is worth the occasional 10 ms.
MAX_EXPANSIONS = 250
MAX_LENGTH = 48
HEURISTIC_WEIGHT = 3  # weighted A*: a short ending found fast beats the shortest one found late



@dataclass(frozen=True)
class OpenCount:
    """A rough lexical scan state: open brackets and blocks, and whether inside a string or comment."""

    depth: int = 0
    quote: str = ""  # the quote character while inside a plain string or charlist
    comment: bool = False
    word: str = ""  # the word being read (to spot `do`, `fn` and `end`)

    def feed(self, text: str) -> OpenCount:
        """The state after reading ``text`` (heuristic: heredocs, sigils and interpolation are not tracked)."""
        depth, quote, comment, word = self.depth, self.quote, self.comment, self.word
        escaped = False
        for ch in text:
            if comment:
                comment = ch != "\n"
                continue
            if quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    quote = ""
                continue
            if ch in IDENT_CHARS:
                word += ch
                continue
            depth += _word_delta(word, ch)
            word = ""
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(0, depth - 1)
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                comment = True
        return OpenCount(depth, quote, comment, word)

    def remaining(self) -> int:
        """How much is still open (a lower-bound-ish estimate of the tokens needed to close)."""
        return self.depth + (1 if self.quote else 0) + (1 if self.comment else 0) + _word_delta(self.word, " ")


def in_comment(tail: str) -> bool:
    """Whether text ending in ``tail`` ends inside a `#` comment (read from the last line start in ``tail``;
    heuristic like OpenCount: a heredoc line with a `#` reads as a comment)."""
    return OpenCount().feed(tail.rsplit("\n", 1)[-1]).comment


def _word_delta(word: str, following: str) -> int:
    if word == "end":
        return -1
    if word in ("do", "fn") and following != ":":
        return 1
    return 0


def skeleton_tokens(texts: Sequence[str]) -> list[tuple[int, str]]:
    """(token id, text) for the skeleton texts present in a vocabulary, in SKELETON order."""
    index: dict[str, int] = {}
    for i, t in enumerate(texts):
        index.setdefault(t, i)
    return [(index[s], s) for s in SKELETON if s in index]


def close_out(constraint: Any, skeleton: Sequence[tuple[int, str]], *, max_length: int = MAX_LENGTH) -> list[int] | None:
    """The shortest skeleton token path (found within MAX_EXPANSIONS) after which the grammar may stop.

    ``constraint`` is a SequenceConstraint; its matcher is advanced and rolled back during the search and
    left where it was. Returns [] when the grammar may already stop, None when no ending was found.
    """
    if constraint.error is not None:
        return None
    matcher = constraint.matcher
    if matcher.is_accepting():
        return []
    start = OpenCount().feed(constraint.text)
    heap: list[tuple[int, int, list[int], str, OpenCount]] = [(HEURISTIC_WEIGHT * start.remaining(), 0, [], "", start)]
    seen: set[str] = set()  # path texts already queued: two paths spelling the same text end the same
    order = 0
    expansions = 0
    while heap and expansions < MAX_EXPANSIONS:
        _, _, path, spelled, state = heapq.heappop(heap)
        expansions += 1
        if len(path) >= max_length:
            continue
        if path and not matcher.consume_tokens(path):  # pragma: no cover - every queued path was validated
            return None
        try:
            for tid, text in skeleton:
                if matcher.validate_tokens([tid]) != 1:
                    continue
                matcher.consume_token(tid)
                accepting = matcher.is_accepting()
                matcher.rollback(1)
                if accepting:
                    return [*path, tid]
                if spelled + text in seen:
                    continue
                seen.add(spelled + text)
                nxt = state.feed(text)
                order += 1
                heapq.heappush(heap, (len(path) + 1 + HEURISTIC_WEIGHT * nxt.remaining(), order, [*path, tid], spelled + text, nxt))
        finally:
            if path:
                matcher.rollback(len(path))
    return None
