"""The interface every backend (local worker process, OpenAI-compatible server) implements."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from elixir_coder_lsp.inference.types import GenerationRequest, GenerationResult, InstanceStatus, StreamEvent

EventCallback = Callable[[StreamEvent], None]
StatusCallback = Callable[[InstanceStatus], None]


class Backend(Protocol):
    """One named model instance as the pool sees it. All methods are thread-safe and non-blocking."""

    name: str

    def submit(self, request: GenerationRequest, on_event: EventCallback | None = None) -> Future[GenerationResult]:
        """Queue a request; the future resolves to the result or raises GenerationError.

        ``on_event`` is called from a background thread with phase changes ("queued", "loading model",
        "generating") and streamed tokens; it must not block.
        """
        ...

    def cancel(self, request_id: str) -> bool:
        """Stop a queued or running request within one decode step; its future raises GenerationError(kind="cancelled")."""
        ...

    def status(self) -> InstanceStatus:
        """Current state and metrics."""
        ...

    def close(self) -> None:
        """Stop the instance and its child processes."""
        ...
