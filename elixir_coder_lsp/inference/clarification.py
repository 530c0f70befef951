"""Clarification: sample several programs, cluster them by what they do, and decide whether to ask.

docs/architecture.md and docs/protocol.md. The pieces, each usable on its own:

- `generate_samples` draws ``n`` constrained samples in one batched request (distinct seeds).
- `extract_features` asks the Elixir helper for a program's structural facts (the code is parsed,
  never run) and `behaviour_features` maps them onto the feature families below.
- `compute_divergence` marks invalid samples, measures pairwise distances and clusters the rest.
- `semantic_entropy` and `should_ask` turn the clusters into the decision.
- `ClarificationSessions` keeps asked questions until their answer arrives (the façade's session ids).

The decision comes only from the programs' behaviour and structure; the prompt is used for names in
the question text, never for the decision.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.inference import questions
from elixir_coder_lsp.inference.divergence import (  # the seed's names live here too (docs/architecture.md)
    Analysis,
    Sample,
    classify_ambiguity,
    compute_divergence,
    semantic_entropy,
)
from elixir_coder_lsp.inference.prompts import extract_code
from elixir_coder_lsp.inference.types import GenerationRequest, GenerationResult, SamplingParams

__all__ = [
    "Analysis", "Clarification", "ClarificationSessions", "Decision", "Sample", "clarify", "compute_divergence",
    "generate_samples", "merge_answer", "semantic_entropy", "should_ask",
]
# -- sampling ---------------------------------------------------------------------------------------


def sample_request(
    prompt: str,
    *,
    n: int = 5,
    temperature: float = 0.8,
    max_new_tokens: int = 512,
    constrained: bool = True,
    entry_rule: str = "start",
    seed: int | None = None,
    monitors: dict[str, bool] | None = None,
    instance: str | None = None,
    sticky_key: str | None = None,
    context: dict[str, Any] | None = None,
) -> GenerationRequest:
    """The one batched request `generate_samples` sends (row i uses seed ``seed + i``)."""
    return GenerationRequest(
        prompt=prompt,
        params=SamplingParams(
            n=n,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            logprobs=True,
            seed=random.SystemRandom().randrange(2**31) if seed is None else seed,
        ),
        role="generate",
        constrained=constrained,
        entry_rule=entry_rule,  # type: ignore[arg-type]
        monitors=monitors,
        instance=instance,
        sticky_key=sticky_key,
        context=context,
    )


def samples_from_result(result: GenerationResult, base_seed: int | None = None) -> list[Sample]:
    """Every completion of a result as a Sample (none dropped: invalid ones are marked later)."""
    return [
        Sample(
            code=extract_code(c.text),
            logprob=c.logprob,
            mean_logprob=c.mean_logprob,
            finish_reason=c.finish_reason,
            closed_tokens=c.closed_tokens,
            num_tokens=c.num_tokens,
            seed=None if base_seed is None else base_seed + i,
        )
        for i, c in enumerate(result.completions)
    ]


def generate_samples(
    submit: Callable[[GenerationRequest], GenerationResult] | Any,
    prompt: str,
    n: int = 5,
    temperature: float = 0.8,
    **request_fields: Any,
) -> list[Sample]:
    """Draw ``n`` constrained samples of ``prompt`` in one batched request with distinct seeds.

    ``submit`` is a callable taking a GenerationRequest and returning its GenerationResult, or a
    ModelPool/Backend (anything with ``submit(request, on_event)`` returning a future).
    """
    timeout = request_fields.pop("timeout", None)
    request = sample_request(prompt, n=n, temperature=temperature, **request_fields)
    if callable(submit):
        result = submit(request)
    else:
        result = submit.submit(request, None).result(timeout)
    return samples_from_result(result, request.params.seed)


@dataclass
class Decision:
    """`should_ask`'s answer: ("ask", ambiguity) or ("proceed", confidence), with the reason."""

    decision: str  # ask | proceed
    confidence: float
    ambiguity: str | None = None
    reason: str | None = None

    def __iter__(self):  # lets callers write `decision, detail = should_ask(...)`
        yield self.decision
        yield self.ambiguity if self.decision == "ask" else self.confidence


def should_ask(analysis: Analysis, entropy_threshold: float = 0.5, cluster_threshold: int = 3) -> Decision:
    """docs/protocol.md: ask iff entropy > entropy_threshold or len(clusters) >= cluster_threshold.

    Fewer than half valid samples: proceed with confidence 0 and reason "insufficient valid samples".
    """
    if not analysis.samples:
        return Decision("proceed", 0.0, reason="no samples")
    if not analysis.enough_valid():
        return Decision("proceed", 0.0, reason="insufficient valid samples")
    confidence = analysis.confidence
    if analysis.entropy > entropy_threshold or len(analysis.clusters) >= cluster_threshold:
        return Decision("ask", confidence, ambiguity=classify_ambiguity(analysis))
    return Decision("proceed", confidence)


# -- sessions ---------------------------------------------------------------------------------------


@dataclass
class ClarificationSession:
    """One asked question waiting for its answer."""

    id: str
    prompt: str
    analysis: Analysis
    questions: list[Any]  # questions.Question, ranked
    options: dict[str, Any] = field(default_factory=dict)  # generation keyword arguments to reuse
    created: float = field(default_factory=time.monotonic)


class ClarificationSessions:
    """Open clarification sessions by id (bounded, oldest dropped first, expired after ``ttl_s``)."""

    def __init__(self, max_sessions: int = 256, ttl_s: float = 3600.0) -> None:
        self._sessions: dict[str, ClarificationSession] = {}
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s

    def open(self, prompt: str, analysis: Analysis, questions: list[Any], **options: Any) -> ClarificationSession:
        """Store a new session and return it."""
        session = ClarificationSession(uuid.uuid4().hex, prompt, analysis, questions, dict(options))
        with self._lock:
            self._expire()
            while len(self._sessions) >= self.max_sessions:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session.id] = session
        return session

    def take(self, session_id: str) -> ClarificationSession:
        """Remove and return a session; KeyError when it is unknown or expired."""
        with self._lock:
            self._expire()
            return self._sessions.pop(session_id)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if now - v.created > self.ttl_s]:
            del self._sessions[sid]


def merge_answer(prompt: str, question: str, answer: str) -> str:
    """The request with the user's answer appended, as the generation prompt sees it."""
    return f"{prompt.rstrip()}\n\nClarification: {question.strip()}\nAnswer: {answer.strip()}"


# -- one call from samples to the docs/protocol.md report ---------------------------------------------


@dataclass
class Clarification:
    """Analysis, decision and ranked questions for one prompt's samples."""

    prompt: str
    analysis: Analysis
    decision: Decision
    questions: list[Any]  # questions.Question, best first; empty when the decision is proceed

    @property
    def question(self) -> Any:
        """The top-ranked question, or None."""
        return self.questions[0] if self.questions else None

    def to_json(self) -> dict[str, Any]:
        """`elixir-coder clarify` JSON (docs/protocol.md), with the weighted entropy and invalid reasons beside."""
        a = self.analysis
        doc: dict[str, Any] = {
            "clusters": a.clusters,
            "invalid": a.invalid,
            "entropy": round(a.entropy, 6),
            "weighted_entropy": None if a.weighted_entropy is None else round(a.weighted_entropy, 6),
            "decision": self.decision.decision,
            "confidence": round(self.decision.confidence, 6),
            "ambiguity": self.decision.ambiguity,
            "questions": [q.to_json() for q in self.questions],
            "invalid_reasons": {str(i): r for i, r in sorted(a.invalid_reasons.items())},
        }
        if self.decision.reason:
            doc["reason"] = self.decision.reason
        return doc


def clarify(
    prompt: str,
    samples: Sequence[Sample],
    helper: Any = None,
    *,
    features: Sequence[Mapping[str, frozenset[str]] | None] | None = None,
    entropy_threshold: float = 0.5,
    cluster_threshold: int = 3,
    max_questions: int = 1,
    ask_model: Callable[[str], str] | None = None,
    require_definitions: bool = False,
) -> Clarification:
    """Cluster the samples, decide, and (on ask) build the ranked questions; the prompt only names things."""
    analysis = compute_divergence(samples, helper, features=features, require_definitions=require_definitions)
    decision = should_ask(analysis, entropy_threshold, cluster_threshold)
    ranked: list[Any] = []
    if decision.decision == "ask":
        ranked = questions.build_questions(analysis, prompt)
        if not ranked:  # clusters apart only in structure: nothing worth asking
            decision = Decision("proceed", decision.confidence, reason="no behaviour separates the clusters")
        else:
            ranked = ranked[: max(1, max_questions)]
            if ask_model is not None:
                ranked[0] = questions.rewrite_text(ranked[0], prompt, ask_model)
    return Clarification(prompt, analysis, decision, ranked)
