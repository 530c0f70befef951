"""The scheduler: which waiting requests join the running batch at the next step."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from elixir_coder_lsp.inference.types import GenerationRequest


@dataclass
class SequenceState:
    """One sample (one batch row) of a request."""

    seq_id: int
    index: int
    generator: Any = None  # torch.Generator; None = greedy
    constraint: Any = None  # SequenceConstraint or None
    output_ids: list[int] = field(default_factory=list)
    text: str = ""
    emitted: int = 0  # characters of `text` already streamed
    logprob: float = 0.0
    finish_reason: str | None = None
    error: str | None = None
    closed_tokens: int = 0  # tokens appended by the close-out (constrained samples only)
    close_search_at: int = 1 << 30  # search for a close-out path when this few budget tokens are left
    # incremental detokenisation offsets
    prefix_offset: int = 0
    read_offset: int = 0

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None


@dataclass
class RequestState:
    """A request from arrival to result, with its samples."""

    request: GenerationRequest
    prompt_ids: list[int]
    budget: int  # max new tokens allowed (params.max_new_tokens capped by the sequence length)
    adapter: str | None = None
    arrival: float = field(default_factory=time.monotonic)
    admitted_at: float | None = None
    first_token_at: float | None = None
    seqs: list[SequenceState] = field(default_factory=list)
    cancelled: bool = False

    @property
    def rows(self) -> int:
        return max(1, self.request.params.n)

    @property
    def finished(self) -> bool:
        return self.cancelled or (bool(self.seqs) and all(s.finished for s in self.seqs))


class Scheduler:
    """FIFO admission: while the batch is idle, wait up to ``batch_timeout_s`` (or until it is full) so
    requests arriving together are prefilled together; while it runs, waiting requests join at every step
    as long as their rows fit in ``max_batch_size`` (continuous batching)."""

    def __init__(self, max_batch_size: int, batch_timeout_s: float) -> None:
        self.max_batch_size = max(1, max_batch_size)
        self.batch_timeout_s = max(0.0, batch_timeout_s)
        self.waiting: deque[RequestState] = deque()
        self.running: list[RequestState] = []

    def add(self, state: RequestState) -> None:
        self.waiting.append(state)

    def running_rows(self) -> int:
        return sum(len([s for s in r.seqs if not s.finished]) for r in self.running)

    def waiting_rows(self) -> int:
        return sum(r.rows for r in self.waiting)

    def wait_time(self, now: float | None = None) -> float | None:
        """Seconds the engine may sleep before the next step: None = nothing to do, 0 = step now."""
        if self.running:
            return 0.0
        if not self.waiting:
            return None
        if self.waiting_rows() >= self.max_batch_size:
            return 0.0
        now = time.monotonic() if now is None else now
        return max(0.0, self.waiting[0].arrival + self.batch_timeout_s - now)

    def schedule(self, now: float | None = None) -> list[RequestState]:
        """Move the requests that join the batch at this step from waiting to running."""
        if not self.waiting:
            return []
        wait = self.wait_time(now)
        if wait is None or wait > 0:
            return []
        admitted: list[RequestState] = []
        rows = self.running_rows()
        while self.waiting:
            nxt = self.waiting[0]
            # A request wider than the whole batch still runs, alone.
            if rows + nxt.rows > self.max_batch_size and (rows > 0 or admitted):
                break
            self.waiting.popleft()
            admitted.append(nxt)
            rows += nxt.rows
        self.running.extend(admitted)
        return admitted

    def remove_waiting(self, request_id: str) -> RequestState | None:
        for state in self.waiting:
            if state.request.id == request_id:
                self.waiting.remove(state)
                return state
        return None

    def find_running(self, request_id: str) -> RequestState | None:
        return next((r for r in self.running if r.request.id == request_id), None)

    def retire(self, states: list[RequestState]) -> None:
        done = {id(s) for s in states}
        self.running = [r for r in self.running if id(r) not in done]
