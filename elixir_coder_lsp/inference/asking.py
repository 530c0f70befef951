"""Ask, then generate: the clarification flow over the façade (docs/protocol.md, "Clarifying questions").

The functions take the façade (`api.ElixirCoder`, duck-typed so this core module never imports it)
and call back into it for sampling and generation; `ElixirCoder` exposes each of them as a method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from elixir_coder_lsp.cancel import Cancelled, CancelToken
from elixir_coder_lsp.inference.clarification import clarify, generate_samples, merge_answer
from elixir_coder_lsp.inference.outcome import GenerationOutcome
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, SamplingParams, StreamEvent

log = logging.getLogger(__name__)

AnswerFn = Callable[[dict[str, Any]], "str | None"]


def emit_phase(on_event: Callable[[StreamEvent], None] | None, phase: str) -> None:
    """Report a phase to a progress callback; a failing callback never stops the work."""
    if on_event is None:
        return
    try:
        on_event(StreamEvent(request_id="", kind="phase", phase=phase))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001
        log.debug("progress callback failed", exc_info=True)


def failed_outcome(exc: BaseException) -> GenerationOutcome:
    """A sampling error or a cancellation as a `failed` outcome."""
    if isinstance(exc, Cancelled):
        return GenerationOutcome("failed", attempts=0, message=f"Cancelled: {exc}", error_kind="cancelled")
    kind = getattr(exc, "kind", "error") or "error"
    return GenerationOutcome("failed", attempts=0, message=str(exc), error_kind=kind)


def clarification_samples(
    coder: Any,
    prompt: str,
    *,
    entry_rule: str = "start",
    instance: str | None = None,
    cancel: CancelToken | None = None,
    seed: int | None = None,
    context: dict[str, Any] | None = None,
    on_event: Callable[[StreamEvent], None] | None = None,
) -> list[Any]:
    """`clarification.samples` constrained samples at `clarification.temperature` in one request (see the façade)."""
    settings = coder.settings
    cfg, gen = settings.clarification, settings.generation
    model = settings.model(instance)
    return generate_samples(
        lambda request: coder.submit(request, on_event=on_event, cancel=cancel),
        prompt,
        n=cfg.samples,
        temperature=cfg.temperature,
        max_new_tokens=model.max_new_tokens if model else 512,
        constrained=gen.constrained,
        entry_rule=entry_rule,
        monitors=dict(gen.monitors),
        instance=instance,
        seed=seed,
        context=dict(context or {}),
    )


def reusable_candidates(settings: Any, samples: list[Any] | None) -> list[Any] | None:
    """Clarification samples as the loop's first candidates, or None when they were not drawn with the generation settings.

    Only samples drawn at `generation.temperature`, as many as `generation.candidates`, stand in for the
    first attempt; otherwise the loop samples its own.
    """
    from elixir_coder_lsp.inference.loop import Sample as LoopSample

    cfg, gen = settings.clarification, settings.generation
    if not samples or cfg.temperature != gen.temperature or cfg.samples != gen.candidates:
        return None
    return [
        LoopSample(s.code, mean_logprob=s.mean_logprob, closed_tokens=s.closed_tokens, truncated=s.finish_reason in ("length", "error"))
        for s in samples
    ]


def question_json(question: Any, analysis: Any = None) -> dict[str, Any]:
    """docs/protocol.md `elixirCoder/ask` fields, plus the option-to-cluster partition and each option's share."""

    def option(o: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"label": o.label, "clusters": o.clusters}
        if analysis is not None and analysis.valid:
            share = sum(len(analysis.clusters[c]) for c in o.clusters if c < len(analysis.clusters))
            out["description"] = f"{share} of {len(analysis.valid)} candidate programs"
        return out

    return {
        "question": question.text,
        "type": question.type,
        "options": [option(o) for o in question.options],
        "allowFreeText": question.allow_free_text,
        "evpi": round(question.evpi, 6),
    }


def question_text(coder: Any, text: str, instance: str | None, cancel: CancelToken | None) -> str:
    """One short, unconstrained completion of the `question` role (for rewriting a question's text)."""
    request = GenerationRequest(
        prompt=text, params=SamplingParams(n=1, temperature=0.0, max_new_tokens=64), role="question", instance=instance, context={}
    )
    result = coder.submit(request, cancel=cancel)
    return result.completions[0].text if result.completions else ""


def ask_clarification(
    coder: Any,
    prompt: str,
    *,
    samples: list[Any] | None = None,
    entry_rule: str = "start",
    instance: str | None = None,
    cancel: CancelToken | None = None,
    seed: int | None = None,
    rewrite: bool = False,
    context: dict[str, Any] | None = None,
    on_event: Callable[[StreamEvent], None] | None = None,
) -> dict[str, Any]:
    """Sample, cluster and decide; on `ask`, open a session (see `ElixirCoder.ask_clarification`)."""
    cfg = coder.settings.clarification
    if samples is None:
        samples = coder.clarification_samples(
            prompt, entry_rule=entry_rule, instance=instance, cancel=cancel, seed=seed, context=context, on_event=on_event
        )
    ask_model = (lambda text: question_text(coder, text, instance, cancel)) if rewrite else None
    result = clarify(
        prompt,
        samples,
        coder.helper,
        entropy_threshold=cfg.entropy_threshold,
        cluster_threshold=cfg.cluster_threshold,
        max_questions=max(1, cfg.max_questions),
        ask_model=ask_model,
        require_definitions=entry_rule in ("start", "module_body"),
    )
    doc = result.to_json()
    doc["session_id"] = None
    doc["question"] = None
    if result.decision.decision == "ask" and result.question is not None:
        session = coder.clarification_sessions.open(prompt, result.analysis, result.questions, entry_rule=entry_rule, instance=instance)
        doc["session_id"] = session.id
        doc["question"] = question_json(result.question, result.analysis)
    doc["samples"] = samples
    return doc


def answer_clarification(
    coder: Any,
    session_id: str,
    answer: str,
    *,
    on_event: Callable[[StreamEvent], None] | None = None,
    cancel: CancelToken | None = None,
    **generate_options: Any,
) -> GenerationOutcome:
    """Merge the answer into the session's request and generate (see `ElixirCoder.answer_clarification`)."""
    session = coder.clarification_sessions.take(session_id)
    question = session.questions[0] if session.questions else None
    prompt = session.prompt
    if answer and answer.strip() and question is not None:
        prompt = merge_answer(session.prompt, question.text, answer)
    options = {**session.options, **generate_options}
    outcome = coder.generate(prompt, on_event=on_event, cancel=cancel, **options)
    outcome.attempts = max(outcome.attempts, 1)
    return outcome


def generate_with_clarification(
    coder: Any,
    prompt: str,
    answer_fn: AnswerFn,
    *,
    entry_rule: str = "start",
    instance: str | None = None,
    on_event: Callable[[StreamEvent], None] | None = None,
    cancel: CancelToken | None = None,
    clarify: bool = True,
    **generate_options: Any,
) -> GenerationOutcome:
    """Ask first when clarification is enabled and the samples disagree; then generate (see the façade)."""
    cfg = coder.settings.clarification
    options = {"entry_rule": entry_rule, "instance": instance, **generate_options}
    if not clarify or not cfg.enabled or cfg.max_questions < 1:
        return coder.generate(prompt, on_event=on_event, cancel=cancel, **options)
    context = coder.generation_context(
        generate_options.get("document"), module=generate_options.get("module"), line=generate_options.get("line")
    )
    current = prompt
    for asked_count in range(cfg.max_questions):
        emit_phase(on_event, "sampling")
        try:
            asked = coder.ask_clarification(current, entry_rule=entry_rule, instance=instance, cancel=cancel, context=context, on_event=on_event)
        except (GenerationError, Cancelled) as exc:
            return failed_outcome(exc)
        if asked["decision"] != "ask" or asked["session_id"] is None:
            candidates = reusable_candidates(coder.settings, asked["samples"])
            return coder.generate(current, on_event=on_event, cancel=cancel, candidates=candidates, **options)
        answer = answer_fn(asked["question"])
        if answer is None:
            coder.clarification_sessions.take(asked["session_id"])
            return GenerationOutcome(
                "clarification_needed", question=asked["question"], attempts=0, message="A clarifying question needs an answer."
            )
        if not answer.strip() or asked_count == cfg.max_questions - 1:
            return coder.answer_clarification(asked["session_id"], answer, on_event=on_event, cancel=cancel, **generate_options)
        coder.clarification_sessions.take(asked["session_id"])
        current = merge_answer(current, asked["question"]["question"], answer)
    return coder.generate(current, on_event=on_event, cancel=cancel, **options)  # pragma: no cover - the loop returns


def generate_batch(
    coder: Any,
    prompts: list[str | dict[str, Any]],
    *,
    clarify: bool = True,
    max_concurrency: int | None = None,
    on_result: Callable[[int, GenerationOutcome], None] | None = None,
    **generate_options: Any,
) -> list[GenerationOutcome]:
    """Generate for many prompts at once, results in input order (see `ElixirCoder.generate_batch`)."""
    items = [p if isinstance(p, dict) else {"prompt": p} for p in prompts]
    if not items:
        return []
    settings = coder.settings
    model = settings.model(generate_options.get("instance"))
    width = max_concurrency or max(1, min(len(items), model.max_batch_size if model else 16))

    def one(index: int, item: dict[str, Any]) -> GenerationOutcome:
        prompt = str(item.get("prompt") or "")
        answer = item.get("answer")
        if not prompt.strip():
            outcome = GenerationOutcome("failed", attempts=0, message="empty prompt", error_kind="error")
        else:
            try:
                outcome = coder.generate_with_clarification(
                    prompt, lambda _q: None if answer is None else str(answer), clarify=clarify, **generate_options
                )
            except Exception as exc:  # noqa: BLE001 - one bad item never sinks the batch
                log.exception("batch item failed")
                outcome = GenerationOutcome("failed", attempts=0, message=f"{type(exc).__name__}: {exc}", error_kind="error")
        if on_result is not None:
            on_result(index, outcome)
        return outcome

    # One thread per prompt in flight: each waits on its own pool request, the worker batches them.
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="elixir-coder-batch") as pool:
        return list(pool.map(one, range(len(items)), items))
