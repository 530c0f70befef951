"""The output processor: incremental detokenising, stop strings, stream events and results.

The engine decides which token each row gets; everything that turns those tokens into text for a
client happens here. Nothing in this module needs torch, so the parent process can import the
``Finished`` records the worker sends back without loading the model stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.inference.types import Completion, EngineErrorKind, GenerationResult, StreamEvent

if TYPE_CHECKING:
    from elixir_coder_lsp.inference.scheduler import RequestState, SequenceState


@dataclass
class Finished:
    """A request that left the engine: a result, or an error message with its kind."""

    request_id: str
    result: GenerationResult | None = None
    error: str | None = None
    kind: EngineErrorKind = "error"


@dataclass
class StepOutput:
    """What one step produced: streamed events (phase + token) and finished requests."""

    events: list[StreamEvent] = field(default_factory=list)
    finished: list[Finished] = field(default_factory=list)
    tokens: int = 0  # tokens sampled in this step (all rows)


CANCELLED = "The request was cancelled"


def cancelled(request_id: str) -> Finished:
    """The record of a request cancelled before it finished."""
    return Finished(request_id, error=CANCELLED, kind="cancelled")


def detokenize_step(tokenizer: Any, ids: list[int], prefix_offset: int, read_offset: int) -> tuple[str, int, int]:
    """New text since the last call, decoding only a short window (byte-level BPE safe: partial UTF-8 waits)."""
    prefix_text = tokenizer.decode(ids[prefix_offset:read_offset], skip_special_tokens=True)
    new_text = tokenizer.decode(ids[prefix_offset:], skip_special_tokens=True)
    if len(new_text) > len(prefix_text) and not new_text.endswith("\ufffd"):
        return new_text[len(prefix_text) :], read_offset, len(ids)
    return "", prefix_offset, read_offset


def find_stop(text: str, stops: Sequence[str], since: int) -> int | None:
    """Index where the earliest stop string starts in ``text``, searching from ``since`` (minus overlap)."""
    best: int | None = None
    for stop in stops:
        if not stop:
            continue
        at = text.find(stop, max(0, since - len(stop) + 1))
        if at != -1 and (best is None or at < best):
            best = at
    return best


def stream_holdback(stops: Sequence[str]) -> int:
    """How many trailing characters to hold back from streaming so a stop string is never shown."""
    return max((len(s) for s in stops if s), default=1) - 1


class OutputProcessor:
    """Turns the tokens the engine appends to a row into text, stream events and finished results."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def on_token(self, state: RequestState, seq: SequenceState) -> None:
        """Decode the row's newest token, cut the text at a stop string, and finish the row at its budget."""
        delta, seq.prefix_offset, seq.read_offset = detokenize_step(self.tokenizer, seq.output_ids, seq.prefix_offset, seq.read_offset)
        if delta:
            before = len(seq.text)
            seq.text += delta
            stops = state.request.params.stop
            if stops:
                at = find_stop(seq.text, stops, before)
                if at is not None:
                    seq.text = seq.text[:at]
                    seq.finish_reason = "stop"
        if seq.finish_reason is None and len(seq.output_ids) >= state.budget:
            seq.finish_reason = "length"

    def stream(self, state: RequestState, seq: SequenceState, out: StepOutput) -> None:
        """Add the row's text that is safe to show now (a possible stop string's start is held back)."""
        stops = state.request.params.stop
        if seq.finished or not stops:
            end = len(seq.text)
        else:
            end = len(seq.text) - stream_holdback(stops)
        if end <= seq.emitted and not seq.finished:
            return
        piece = seq.text[seq.emitted : max(seq.emitted, end)]
        seq.emitted = max(seq.emitted, end)
        if piece:
            out.events.append(
                StreamEvent(request_id=state.request.id, kind="token", index=seq.index, text=piece, tokens_so_far=len(seq.output_ids))
            )

    def result(self, state: RequestState, now: float) -> GenerationResult:
        """The finished request's completions (in sample order) and timings."""
        params = state.request.params
        completions = []
        for seq in sorted(state.seqs, key=lambda s: s.index):
            # closing tokens were appended, not sampled: they carry no log-probability; a sampled EOS does
            eos_scored = seq.finish_reason == "stop" and not seq.error and not seq.closed_tokens
            scored = len(seq.output_ids) - seq.closed_tokens + (1 if eos_scored else 0)
            completions.append(
                Completion(
                    text=seq.text,
                    token_ids=list(seq.output_ids),
                    finish_reason=seq.finish_reason or "stop",
                    logprob=seq.logprob if params.logprobs else None,
                    mean_logprob=(seq.logprob / max(1, scored)) if params.logprobs else None,
                    num_tokens=len(seq.output_ids),
                    closed_tokens=seq.closed_tokens,
                )
            )
        errors = [s.error for s in state.seqs if s.error]
        admitted = state.admitted_at or state.arrival
        timings = {
            "queued_s": admitted - state.arrival,
            "first_token_s": (state.first_token_at or now) - state.arrival,
            "total_s": now - state.arrival,
        }
        return GenerationResult(request_id=state.request.id, completions=completions, timings=timings, error=errors[0] if errors else None)
