"""Messages between a LocalBackend (parent) and its model worker process (child), over one pipe.

Each message is a NamedTuple: it pickles almost as cheaply as a plain tuple (a token event goes out for
every streamed piece), yet both ends read fields by name. ``kind`` tells them apart in logs; the
receivers dispatch on the class with ``match``.

Parent -> worker: Submit, Cancel, Ping, Stop.
Worker -> parent: Ready, LoadFailed, Step (token and phase events, finished requests), Pong, Log, Fatal.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple, Union

from elixir_coder_lsp.inference.output import Finished
from elixir_coder_lsp.inference.types import FailureCategory, GenerationRequest, Phase, StreamEvent


class MessageKind(Enum):
    """Every message that crosses the pipe."""

    SUBMIT = "submit"
    CANCEL = "cancel"
    PING = "ping"
    STOP = "stop"
    READY = "ready"
    LOAD_FAILED = "load_failed"
    STEP = "step"
    PONG = "pong"
    LOG = "log"
    FATAL = "fatal"


# -- parent -> worker ---------------------------------------------------------------------------------


class Submit(NamedTuple):
    """Queue a request in the engine."""

    request: GenerationRequest
    kind = MessageKind.SUBMIT


class Cancel(NamedTuple):
    """Cancel a waiting or running request."""

    request_id: str
    kind = MessageKind.CANCEL


class Ping(NamedTuple):
    """A health check; answered between two engine steps."""

    token: int
    kind = MessageKind.PING


class Stop(NamedTuple):
    """Leave the engine loop and exit."""

    kind = MessageKind.STOP


# -- worker -> parent ---------------------------------------------------------------------------------


class TokenEvent(NamedTuple):
    """New text for one sample of a request."""

    request_id: str
    index: int
    text: str
    tokens_so_far: int

    def to_stream_event(self) -> StreamEvent:
        """The event as the backend's callers see it."""
        return StreamEvent(request_id=self.request_id, kind="token", index=self.index, text=self.text, tokens_so_far=self.tokens_so_far)


class PhaseEvent(NamedTuple):
    """A request entered a phase (the worker only reports "generating")."""

    request_id: str
    phase: Phase

    def to_stream_event(self) -> StreamEvent:
        """The event as the backend's callers see it."""
        return StreamEvent(request_id=self.request_id, kind="phase", phase=self.phase)


WorkerEvent = Union[TokenEvent, PhaseEvent]


def pack_event(event: StreamEvent) -> WorkerEvent:
    """The compact form of an engine event for the pipe."""
    if event.kind == "token":
        return TokenEvent(event.request_id, event.index, event.text, event.tokens_so_far)
    return PhaseEvent(event.request_id, event.phase)


class Ready(NamedTuple):
    """The model is loaded and the engine loop is running."""

    load_s: float
    device: str
    dtype: str
    kind = MessageKind.READY


class LoadFailed(NamedTuple):
    """The model could not be loaded; the worker exits with EXIT_LOAD_FAILED."""

    message: str
    category: FailureCategory
    kind = MessageKind.LOAD_FAILED


class Step(NamedTuple):
    """What one engine step produced."""

    events: list[WorkerEvent]
    finished: list[Finished]
    kind = MessageKind.STEP


class Pong(NamedTuple):
    """The answer to a Ping, with the engine's queue depth."""

    token: int
    queue_depth: int
    kind = MessageKind.PONG


class Log(NamedTuple):
    """A log record (or a line of the child's stdout/stderr) for the parent's log."""

    levelno: int
    logger: str
    text: str
    kind = MessageKind.LOG


class Fatal(NamedTuple):
    """The engine loop died; the worker exits with EXIT_FATAL and is restarted."""

    message: str
    category: FailureCategory
    kind = MessageKind.FATAL


ToWorker = Union[Submit, Cancel, Ping, Stop]
FromWorker = Union[Ready, LoadFailed, Step, Pong, Log, Fatal]
