"""The wire format of an OpenAI-compatible `/v1/completions` server: request bodies, the SSE stream,
error bodies, and the per-sample accumulation that becomes a Completion. No I/O here (openai.py does it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from elixir_coder_lsp.inference.types import Completion, FinishReason, GenerationRequest

Engine = Literal["vllm", "sglang"]
ENGINES: tuple[Engine, ...] = ("vllm", "sglang")
# Anything else ("abort" by the server, "content_filter", a stream that ended without a reason) is an error:
# a request this backend cancels raises GenerationError(kind="cancelled") instead of returning.
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


@dataclass
class Sample:
    """What the stream has said so far about one choice index."""

    text: list[str] = field(default_factory=list)
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    chunks: int = 0
    finish_reason: str | None = None
    last_text: str = ""
    last_ids: int = 0
    eos_ended: bool = False  # vLLM: stopped on end-of-sequence (stop_reason null), not a stop string


def build_payload(
    request: GenerationRequest,
    *,
    model: str,
    engine: Engine,
    grammar: str | None,
    extra_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one streaming `/v1/completions` request for ``engine``."""
    p = request.params
    body: dict[str, Any] = {
        "model": model,
        "prompt": request.prompt,
        "n": p.n,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "max_tokens": p.max_new_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if p.seed is not None:
        body["seed"] = p.seed
    if p.stop:
        body["stop"] = list(p.stop)
    if p.logprobs:
        body["logprobs"] = 1
    if engine == "vllm":
        body["return_token_ids"] = True  # vLLM extension: exact token ids per chunk
    if grammar is not None:
        if engine == "vllm":
            body["structured_outputs"] = {"grammar": grammar}
        else:
            body["ebnf"] = grammar
    if extra_body:
        body.update(extra_body)
    return body


def iter_sse(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Decode Server-Sent Events `data:` payloads as JSON objects until `[DONE]`.

    Multi-line `data:` fields of one event are joined with newlines (the SSE rule); comments and
    other fields are ignored.
    """
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line == "":
            if data:
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    return
                yield json.loads(payload)
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        payload = "\n".join(data)
        if payload.strip() != "[DONE]":
            yield json.loads(payload)


def error_message(body: bytes) -> str:
    """The human-readable message of an OpenAI-style error body (either nesting), else the raw text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        obj = json.loads(text)
    except ValueError:
        return text[:2000] or "(empty response)"
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if obj.get("message"):
            return str(obj["message"])
        if obj.get("detail"):
            return str(obj["detail"])
    return text[:2000]


def mentions_grammar(detail: str) -> bool:
    """Whether a server's error text is about the grammar (so the message can say so)."""
    lowered = detail.lower()
    return any(word in lowered for word in ("grammar", "lark", "structured", "guidance", "ebnf", "parse error", "rule"))


def token_count(sample: Sample) -> int:
    """Tokens seen for a sample: exact ids when the server sends them, else log-probs, else chunks."""
    return len(sample.token_ids) or len(sample.logprobs) or sample.chunks


def to_completion(sample: Sample) -> Completion:
    """The finished sample as a Completion."""
    # vLLM reports the end-of-sequence token as a last chunk with no text and one id; like the local
    # backend, keep it out of the sample's tokens (its log-probability stays in the sum).
    if sample.finish_reason == "stop" and sample.eos_ended and sample.last_text == "" and sample.last_ids == 1 and sample.token_ids:
        sample.token_ids.pop()
    n = token_count(sample)
    total = sum(sample.logprobs) if sample.logprobs else None
    return Completion(
        text="".join(sample.text),
        token_ids=list(sample.token_ids),
        finish_reason=_FINISH.get(sample.finish_reason or "", "error"),
        logprob=total,
        mean_logprob=(total / len(sample.logprobs)) if sample.logprobs else None,
        num_tokens=n,
    )
