"""Requests, events and results that pass between the API, the model pool, workers and backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["generate", "question", "explain", "repair"]
EntryRule = Literal["start", "module_body", "expr_seq"]
FinishReason = Literal["stop", "length", "grammar", "cancelled", "error"]
# Why a request could not be served: the engine only ever reports the first two; the backends add the rest
# (no model to serve it, a deadline passed, the worker died under it).
ErrorKind = Literal["error", "cancelled", "unavailable", "timeout", "crashed"]
EngineErrorKind = Literal["error", "cancelled"]
# Why a worker could not load or died: decides whether a restart can help (a bad checkpoint never loads).
FailureCategory = Literal["out of memory", "CUDA error", "bad checkpoint", "error"]
Phase = Literal["", "queued", "loading model", "generating"]


@dataclass
class SamplingParams:
    """Per-request sampling settings; every request in a batch keeps its own."""

    n: int = 1
    temperature: float = 0.2
    top_p: float = 1.0
    seed: int | None = None
    max_new_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    logprobs: bool = False


@dataclass
class GenerationRequest:
    """One prompt to complete (``n`` samples of it)."""

    prompt: str
    params: SamplingParams = field(default_factory=SamplingParams)
    role: Role = "generate"
    constrained: bool = False
    entry_rule: EntryRule = "start"
    extra_rules: str | None = None  # extra grammar text for this request (names in scope)
    # Text the grammar consumes before the first sampled token (inline completion: the enclosing `def`
    # up to the cursor, docs/architecture.md "Inline completion"). The output is then a fragment: it may
    # stop wherever the model stops, and a prefix the grammar rejects leaves the request unconstrained.
    grammar_prefix: str | None = None
    interactive: bool = False  # the scheduler's small priority lane (inline completion)
    monitors: dict[str, bool] | None = None  # monitor name -> enabled (None = settings default)
    instance: str | None = None  # named model instance; None = routing decides
    sticky_key: str | None = None  # e.g. document URI, keeps one A/B variant per document
    context: dict[str, Any] | None = None  # when set, the backend builds the final prompt from `prompt` (the
    # request text) with prompts.build_prompt(tokenizer, role, prompt, context): chat template if the tokenizer has one
    id: str = ""  # filled by the pool when empty


@dataclass
class Completion:
    """One finished sample."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    finish_reason: FinishReason = "stop"
    logprob: float | None = None  # sum of token log-probabilities
    mean_logprob: float | None = None
    num_tokens: int = 0
    closed_tokens: int = 0  # tokens the engine appended to close a constrained sample out (not sampled)

    @property
    def truncated(self) -> bool:
        """An output that ran out of budget before it finished (never passed off as valid)."""
        return self.finish_reason == "length"


@dataclass
class GenerationResult:
    """All samples of one request, in sample order."""

    request_id: str
    completions: list[Completion]
    instance: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # queued_s, first_token_s, total_s
    error: str | None = None


@dataclass
class StreamEvent:
    """A streamed piece of one request: new text for sample ``index``, or a phase change."""

    request_id: str
    kind: Literal["phase", "token", "done", "error"]
    index: int = 0
    text: str = ""
    phase: Phase = ""
    tokens_so_far: int = 0
    data: dict[str, Any] = field(default_factory=dict)


class GenerationError(Exception):
    """A request that could not be served; the message is shown to the user as-is."""

    def __init__(self, message: str, *, kind: ErrorKind = "error") -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


@dataclass
class InstanceStatus:
    """What one named model instance is doing, for `elixirCoder/status` and `elixir-coder models`."""

    name: str
    checkpoint: str = ""
    backend: str = "local"
    state: Literal["idle", "loading", "busy", "failed", "stopped"] = "stopped"
    message: str = ""
    queue: int = 0
    requests: int = 0
    tokens_per_s: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
