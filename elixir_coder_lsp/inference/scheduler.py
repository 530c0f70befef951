"""The scheduler: which waiting requests join the running batch at the next step."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from elixir_coder_lsp.inference.types import FinishReason, GenerationRequest


CancelOutcome = Literal["removed", "flagged", None]


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
    finish_reason: FinishReason | None = None
    error: str | None = None
    closed_tokens: int = 0  # tokens appended by the close-out (constrained samples only)
    close_search_at: int = 1 << 30  # search for a close-out path when this few budget tokens are left
    # incremental detokenisation offsets
    prefix_offset: int = 0
    read_offset: int = 0

    @property
    def finished(self) -> bool:
        """Whether this sample has a finish reason."""
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
        """Batch rows this request takes: one per sample."""
        return max(1, self.request.params.n)

    @property
    def finished(self) -> bool:
        """Whether the request is cancelled or all of its samples finished."""
        return self.cancelled or (bool(self.seqs) and all(s.finished for s in self.seqs))


def lane_rows(max_batch_size: int) -> int:
    """Extra rows for interactive requests (inline completion): an eighth of the batch, at least one
    (docs/architecture.md, "Inline completion")."""
    return max(1, max_batch_size // 8)


class Scheduler:
    """FIFO admission in two lanes. While the batch is idle, wait up to ``batch_timeout_s`` (or until it
    is full) so requests arriving together are prefilled together; while it runs, waiting requests join at
    every step as long as their rows fit in ``max_batch_size`` (continuous batching).

    Interactive requests (``GenerationRequest.interactive``: inline completion) wait in their own line,
    never wait for the batch window, and run in ``lane`` rows of their own on top of ``max_batch_size``:
    they never queue behind a full batch of generation, and generation never loses rows to them (beyond
    the lane they only take rows the ordinary line leaves unused).
    """

    def __init__(self, max_batch_size: int, batch_timeout_s: float) -> None:
        self.max_batch_size = max(1, max_batch_size)
        self.batch_timeout_s = max(0.0, batch_timeout_s)
        self.lane = lane_rows(self.max_batch_size)
        self._waiting: deque[RequestState] = deque()
        self._interactive: deque[RequestState] = deque()
        self._running: list[RequestState] = []

    def add(self, state: RequestState) -> None:
        """Queue a request at the back of its lane's waiting line."""
        (self._interactive if state.request.interactive else self._waiting).append(state)

    def running_rows(self, interactive: bool | None = None) -> int:
        """Batch rows in use: the unfinished samples of the running requests (of one lane, when given)."""
        return sum(
            len([s for s in r.seqs if not s.finished])
            for r in self._running
            if interactive is None or r.request.interactive == interactive
        )

    def waiting_rows(self) -> int:
        """Batch rows the ordinary waiting requests will need."""
        return sum(r.rows for r in self._waiting)

    def wait_time(self, now: float | None = None) -> float | None:
        """Seconds the engine may sleep before the next step: None = nothing to do, 0 = step now."""
        if self._running or self._interactive:
            return 0.0
        if not self._waiting:
            return None
        if self.waiting_rows() >= self.max_batch_size:
            return 0.0
        now = time.monotonic() if now is None else now
        return max(0.0, self._waiting[0].arrival + self.batch_timeout_s - now)

    def schedule(self, now: float | None = None) -> list[RequestState]:
        """Move the requests that join the batch at this step from waiting to running."""
        admitted = self._schedule_interactive()
        wait = self.wait_time(now) if not self._running and not admitted else 0.0
        if wait is not None and wait <= 0:
            # interactive rows beyond the lane count against the ordinary batch
            rows = self.running_rows(False) + max(0, self.running_rows(True) + sum(r.rows for r in admitted) - self.lane)
            first = True
            while self._waiting:
                nxt = self._waiting[0]
                # A request wider than the whole batch still runs, alone.
                if rows + nxt.rows > self.max_batch_size and (rows > 0 or not first):
                    break
                self._waiting.popleft()
                admitted.append(nxt)
                rows += nxt.rows
                first = False
        self._running.extend(admitted)
        return admitted

    def _schedule_interactive(self) -> list[RequestState]:
        """Interactive requests that join now: within the lane, or in ordinary rows nobody waits for."""
        admitted: list[RequestState] = []
        used = self.running_rows(True)
        ordinary = self.running_rows(False) + self.waiting_rows()
        while self._interactive:
            nxt = self._interactive[0]
            in_lane = used + nxt.rows <= self.lane
            spare = ordinary + max(0, used + nxt.rows - self.lane) <= self.max_batch_size
            if not (in_lane or spare) and (used > 0 or admitted):
                break
            self._interactive.popleft()
            admitted.append(nxt)
            used += nxt.rows
        return admitted

    def num_unfinished(self) -> int:
        """Requests waiting or running."""
        return len(self._waiting) + len(self._interactive) + len(self._running)

    def has_unfinished(self) -> bool:
        """Whether any request is waiting or running."""
        return bool(self._waiting or self._interactive or self._running)

    def cancel(self, request_id: str) -> CancelOutcome:
        """Drop a waiting request ("removed") or flag a running one for the engine to drop ("flagged")."""
        for line in (self._interactive, self._waiting):
            for state in line:
                if state.request.id == request_id:
                    line.remove(state)
                    return "removed"
        state = next((r for r in self._running if r.request.id == request_id), None)
        if state is not None and not state.cancelled:
            state.cancelled = True
            return "flagged"
        return None

    def finish(self, states: list[RequestState]) -> None:
        """Take requests out of the batch (finished, cancelled or failed)."""
        done = {id(s) for s in states}
        self._running = [r for r in self._running if id(r) not in done]

    def take_cancelled(self) -> list[RequestState]:
        """Remove and return the running requests flagged as cancelled."""
        gone = [r for r in self._running if r.cancelled]
        if gone:
            self.finish(gone)
        return gone

    def take_finished(self) -> list[RequestState]:
        """Remove and return the running requests whose samples have all finished."""
        done = [r for r in self._running if r.finished and not r.cancelled]
        if done:
            self.finish(done)
        return done

    def take_all_running(self) -> list[RequestState]:
        """Empty the batch and return what was in it."""
        states, self._running = self._running, []
        return states
