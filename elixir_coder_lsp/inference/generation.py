"""`generate(...)`: one call from a prompt to a result (blocking, awaitable, or an async stream of events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

from elixir_coder_lsp.inference.backends.base import EventCallback
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, GenerationResult, SamplingParams, StreamEvent


def make_request(
    prompt: str,
    *,
    params: SamplingParams | None = None,
    role: str = "generate",
    constrained: bool = False,
    entry_rule: str = "start",
    extra_rules: str | None = None,
    monitors: dict[str, bool] | None = None,
    instance: str | None = None,
    sticky_key: str | None = None,
    request_id: str = "",
) -> GenerationRequest:
    """A GenerationRequest with the given fields (defaults from types.py)."""
    return GenerationRequest(
        prompt=prompt,
        params=params or SamplingParams(),
        role=role,  # type: ignore[arg-type]
        constrained=constrained,
        entry_rule=entry_rule,  # type: ignore[arg-type]
        extra_rules=extra_rules,
        monitors=monitors,
        instance=instance,
        sticky_key=sticky_key,
        id=request_id,
    )


def submit(target: Any, request: GenerationRequest, on_event: EventCallback | None = None) -> Future[GenerationResult]:
    """Submit to a ModelPool or any Backend (both have submit(request, on_event))."""
    return target.submit(request, on_event)


def generate(target: Any, prompt: str, *, timeout: float | None = None, on_event: EventCallback | None = None, **fields: Any) -> GenerationResult:
    """Blocking: generate from ``prompt`` on a pool/backend; raises GenerationError (kind="timeout" on timeout)."""
    request = make_request(prompt, **fields)
    future = submit(target, request, on_event)
    try:
        return future.result(timeout)
    except TimeoutError as exc:
        cancel = getattr(target, "cancel", None)
        if cancel is not None:
            cancel(request.id)
        raise GenerationError(f"Generation timed out after {timeout:.0f}s", kind="timeout") from exc


async def agenerate(target: Any, request: GenerationRequest, on_event: EventCallback | None = None) -> GenerationResult:
    """Await a request's result; cancelling the awaiting task cancels the request."""
    future = submit(target, request, on_event)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        cancel = getattr(target, "cancel", None)
        if cancel is not None:
            cancel(request.id)
        raise


async def stream(target: Any, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
    """Async iterator of a request's events (phases, tokens); the last is kind="done" with data["result"].

    Failures raise GenerationError from the iterator. Closing the iterator early cancels the request;
    `break` alone does not close an async generator, so wrap it: ``async with contextlib.aclosing(stream(...)) as events``.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[StreamEvent | BaseException | GenerationResult] = asyncio.Queue()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def on_event(event: StreamEvent) -> None:
        if event.kind in ("token", "phase"):
            put(event)

    def on_done(fut: Future) -> None:
        exc = fut.exception()
        put(exc if exc is not None else fut.result())

    future = submit(target, request, on_event)
    future.add_done_callback(on_done)
    finished = False
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                finished = True
                raise item
            if isinstance(item, GenerationResult):
                finished = True
                yield StreamEvent(request_id=item.request_id, kind="done", data={"result": item})
                return
            yield item
    finally:
        if not finished:
            cancel = getattr(target, "cancel", None)
            if cancel is not None:
                cancel(request.id)


def generate_many(target: Any, requests: list[GenerationRequest], *, timeout: float | None = None) -> list[GenerationResult]:
    """Submit all requests at once (they batch together) and return their results in request order."""
    futures = [submit(target, request) for request in requests]
    return [future.result(timeout) for future in futures]
