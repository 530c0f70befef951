"""The grammar a remote server enforces: spotting a matcher that failed, and going on without it.

vLLM and SGLang build llguidance's matcher with its default limits. When a mask step needs more
Earley items than that (the Elixir grammar does with real-sized code tokenizers: README, "llguidance's
default limits"), the server logs the error, masks to end-of-sequence and tells the client nothing.
``failed_samples`` spots the samples that ended that way. After the first such failure an instance
sends its constrained requests without the grammar (``ServerGrammar``): those samples are free text,
and the generation loop's parse and checks decide about them as about every candidate (Elixir's own
parser; docs/architecture.md), so what reaches the user parses or is reported as not parsing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from elixir_coder_lsp.inference.types import Completion


def failed_samples(grammar: str, completions: Sequence[Completion], eos_ended: Sequence[bool]) -> dict[int, str]:
    """Constrained samples the server ended at end-of-sequence where the grammar cannot end: index -> why.

    A server's grammar engine only allows EOS where the grammar accepts, except after its matcher
    failed (vLLM then masks to EOS, so the item limit gives one-token "programs" that end with
    `stop`). Samples ended by a stop string or the token budget are not the grammar's doing.
    """
    from elixir_coder_lsp.inference import constraints  # llguidance: only when a grammar was sent

    out: dict[int, str] = {}
    for i, (completion, eos) in enumerate(zip(completions, eos_ended)):
        if completion.finish_reason != "stop" or not eos:
            continue
        if not completion.text.strip():
            # allowed by a grammar that accepts nothing, but also exactly what a matcher that failed on
            # its first mask produces; constrained requests are for code, so it is never a result
            out[i] = "ended at end-of-sequence with no code"
        elif not constraints.grammar_accepts(grammar, completion.text):
            out[i] = f"ended after {completion.num_tokens} token(s) where the grammar does not allow an end"
    return out


class ServerGrammar:
    """Whether one server's grammar engine runs our grammar; once it has failed, requests go without it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: str | None = None

    @property
    def failure(self) -> str | None:
        """Why the server's grammar engine is no longer used (None while it is)."""
        with self._lock:
            return self._failure

    def usable(self) -> bool:
        """Whether constrained requests still carry the grammar."""
        return self.failure is None

    def record_failure(self, why: str) -> bool:
        """Stop sending the grammar; True the first time (so the caller says so once)."""
        with self._lock:
            first = self._failure is None
            if first:
                self._failure = why
            return first
