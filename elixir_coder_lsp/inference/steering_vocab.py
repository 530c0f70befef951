"""Per-tokenizer vocabulary facts for steering and the close-out, and where each constrained row stands."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from elixir_coder_lsp.inference import closing, steering

LINE_TAIL = 256  # bytes of a row's text read to tell whether it ends inside a comment


class SteeringVocab:
    """Closing tokens, `end` tokens, word starts, line ends and the close-out's skeleton for one vocabulary."""

    def __init__(self, texts: list[str], eos: Iterable[int]) -> None:
        self.texts = texts
        self.closing = steering.closing_mask(self.texts)
        # EOS closes everything: a sample that wants to stop where the grammar is not complete yet
        # closes what is open instead
        for e in eos:
            if e < len(self.closing):
                self.closing[e] = True
        self.end_tokens = steering.end_tokens(self.texts)
        self.end_token_set = frozenset(self.end_tokens)
        self.word_start = steering.word_start_mask(self.texts)
        self.line_ends = steering.line_end_mask(self.texts)
        self.skeleton = closing.skeleton_tokens(self.texts)
        self.follow = [i for i, t in enumerate(self.texts) if t in ("\n", " ")]

    def end_is_keyword(self, constraint: Any) -> Callable[[int], bool]:
        """Whether an `end` token would be the keyword here: not glued to a word, and a blank may follow it."""
        last = constraint.tail(4)[-1:]
        glued = bool(last) and last in steering.IDENT_CHARS

        def check(tid: int) -> bool:
            text = self.texts[tid]
            if glued and not text[:1].isspace():
                return False
            return not self.follow or any(constraint.accepts([tid, f]) for f in self.follow)

        return check

    def pulls(self, rows: Sequence[tuple[Any, Any]]) -> tuple[list[float], list[bool]]:
        """Per (request state, sequence) row: its budget pull (0 when unconstrained) and, for a pulled row,
        whether its text ends inside a comment, where closers are only comment text (see budget_pull_rows)."""
        strengths = [
            steering.pull_strength(len(seq.output_ids), state.budget) if seq.constraint is not None else 0.0
            for state, seq in rows
        ]
        in_comment = [s > 0 and closing.in_comment(seq.constraint.tail(LINE_TAIL)) for s, (_, seq) in zip(strengths, rows)]
        return strengths, in_comment
