"""LocalBackend: one named model instance served by a supervised worker process (Backend protocol)."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import signal
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from elixir_coder_lsp.inference.backends.base import EventCallback, StatusCallback
from elixir_coder_lsp.inference.messages import (
    Cancel,
    Fatal,
    LoadFailed,
    Log,
    Ping,
    Pong,
    Ready,
    Step,
    Stop,
    Submit,
    ToWorker,
    WorkerEvent,
)
from elixir_coder_lsp.inference.metrics import InstanceMetrics
from elixir_coder_lsp.inference.options import ServingOptions
from elixir_coder_lsp.inference.output import Finished
from elixir_coder_lsp.inference.types import (
    FailureCategory,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    InstanceStatus,
    StreamEvent,
)
from elixir_coder_lsp.inference.worker import EXIT_LOAD_FAILED, WorkerConfig, worker_main

if TYPE_CHECKING:
    from elixir_coder_lsp.settings import ModelSettings

log = logging.getLogger(__name__)

InstanceState = Literal["idle", "loading", "busy", "failed", "stopped"]

MAX_CRASHES = 5
CRASH_WINDOW_S = 60.0


@dataclass
class _Pending:
    request: GenerationRequest
    future: Future
    on_event: EventCallback | None
    submitted: float = field(default_factory=time.monotonic)
    sent_to: int = 0  # worker generation it was sent to; 0 = not sent yet


def _describe_exit(code: int | None) -> tuple[str, FailureCategory]:
    """(text, category) for a worker exit code."""
    if code is None:
        return "no exit code", "error"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return f"killed by {name}; possibly out of memory", "out of memory"
        return f"killed by {name}", "error"
    return f"exit code {code}", "error"


class LocalBackend:
    """A worker process per instance: lazy start (or preload), restart with backoff, failure after repeated crashes."""

    def __init__(
        self,
        name: str,
        model_settings: ModelSettings,
        *,
        on_status: StatusCallback | None = None,
        num_threads: int | None = None,
        health_interval_s: float = 30.0,
        health_timeout_s: float = 120.0,
        max_crashes: int = MAX_CRASHES,
        crash_window_s: float = CRASH_WINDOW_S,
        backoff_s: float = 0.5,
    ) -> None:
        self.name = name
        self.settings = model_settings
        self.checkpoint = model_settings.checkpoint
        self._on_status = on_status
        self._num_threads = num_threads
        self._health_interval_s = health_interval_s
        self._health_timeout_s = health_timeout_s
        self._max_crashes = max_crashes
        self._crash_window_s = crash_window_s
        self._backoff_s = backoff_s

        self._lock = threading.RLock()
        self._state: InstanceState = "stopped"
        self._message = ""
        self._pending: dict[str, _Pending] = {}
        self._proc: Any = None
        self._conn: Any = None
        self._outbox: queue.SimpleQueue | None = None  # messages for the current worker, sent by its sender thread
        self._gen = 0  # worker generation; bumps on every start so stale readers are ignored
        self._crashes: deque[float] = deque()
        self._last_error: tuple[str, FailureCategory] | None = None  # (message, category) from the child
        self._closing = False
        self._restart_timer: threading.Timer | None = None
        self._pongs: dict[int, threading.Event] = {}
        self._ping_ids = itertools.count(1)
        self._failed_reported = False
        self._status_dirty = False
        self._to_fail: list[tuple[_Pending, GenerationError]] = []  # failures decided under the lock, delivered after it
        self.metrics = InstanceMetrics()
        self.load_s: float | None = None
        self.pid: int | None = None
        self._health_stop = threading.Event()
        self._health_thread: threading.Thread | None = None

    # -- Backend protocol ----------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, on_event: EventCallback | None = None) -> Future[GenerationResult]:
        """Queue a request (starting the worker on first use); the future resolves to the result."""
        future: Future[GenerationResult] = Future()
        if not request.id:
            request.id = uuid.uuid4().hex
        pending = _Pending(request, future, on_event)
        with self._lock:
            refused = self._state == "failed" or self._closing
            reason = self._message if self._state == "failed" else f"Model instance '{self.name}' is closed"
            if not refused:
                self._pending[request.id] = pending
        if refused:
            future.set_exception(GenerationError(reason, kind="unavailable"))
            return future
        # "queued" goes out before the worker can see the request, so it always precedes "generating"
        self._emit(pending, StreamEvent(request_id=request.id, kind="phase", phase="queued"))
        with self._lock:
            state = self._state
            if state == "stopped":
                self._start_locked()
                state = self._state
            elif state in ("idle", "busy") and pending.sent_to == 0 and request.id in self._pending:
                self._send_locked(pending)
                self._set_state_locked("busy")
        if state == "loading":
            self._emit(pending, StreamEvent(request_id=request.id, kind="phase", phase="loading model"))
        self._flush_status()
        return future

    def cancel(self, request_id: str) -> bool:
        """Cancel a queued or running request; its future raises GenerationError(kind="cancelled")."""
        with self._lock:
            pending = self._pending.get(request_id)
            if pending is None:
                return False
            if pending.sent_to == 0:
                del self._pending[request_id]
            else:
                self._send_raw(Cancel(request_id))
                return True
        pending.future.set_exception(GenerationError("The request was cancelled", kind="cancelled"))
        return True

    def status(self) -> InstanceStatus:
        """State plus metrics (requests, tokens/s, queue depth, p50/p95 latency)."""
        snap = self.metrics.snapshot()
        with self._lock:
            return InstanceStatus(
                name=self.name,
                checkpoint=self.checkpoint,
                backend="local",
                state=self._state,
                message=self._message,
                queue=len(self._pending),
                requests=int(snap["requests"] or 0),
                tokens_per_s=float(snap["tokens_per_s"] or 0.0),
                p50_ms=snap["p50_ms"],  # type: ignore[arg-type]
                p95_ms=snap["p95_ms"],  # type: ignore[arg-type]
            )

    def close(self) -> None:
        """Stop the worker; queued and running requests fail as unavailable."""
        with self._lock:
            self._closing = True
            if self._restart_timer:
                self._restart_timer.cancel()
            proc, conn = self._proc, self._conn
            pending = list(self._pending.values())
            self._pending.clear()
            self._state = "stopped"
        self._health_stop.set()
        if conn is not None:
            try:
                self._send_raw(Stop())
            except Exception:  # noqa: BLE001 - already gone
                pass
        if proc is not None:
            proc.join(3)
            if proc.is_alive():
                proc.kill()
                proc.join(3)
        if conn is not None:
            conn.close()
        for p in pending:
            _fail(p.future, GenerationError(f"Model instance '{self.name}' was stopped", kind="unavailable"))

    # -- extras --------------------------------------------------------------------------------------

    def preload(self) -> None:
        """Start the worker now instead of on first use."""
        with self._lock:
            if self._state == "stopped" and not self._closing:
                self._start_locked()
        self._flush_status()

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until the worker has loaded (True) or failed/timed out (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._state in ("idle", "busy"):
                    return True
                if self._state == "failed":
                    return False
            time.sleep(0.05)
        return False

    def ping(self, timeout: float = 10.0) -> bool:
        """Health check: the worker answers between two decode steps."""
        with self._lock:
            if self._state not in ("idle", "busy"):
                return False
            token = next(self._ping_ids)
            event = threading.Event()
            self._pongs[token] = event
        try:
            self._send_raw(Ping(token))
        except Exception:  # noqa: BLE001
            return False
        ok = event.wait(timeout)
        with self._lock:
            self._pongs.pop(token, None)
        return ok

    @property
    def state(self) -> InstanceState:
        """idle | loading | busy | failed | stopped."""
        return self._state

    # -- process management --------------------------------------------------------------------------

    def _worker_config(self) -> WorkerConfig:
        return WorkerConfig(
            name=self.name,
            checkpoint=self.checkpoint,
            options=ServingOptions.from_model_settings(self.settings, num_threads=self._num_threads),
            log_level=logging.getLogger().getEffectiveLevel(),
        )

    def _start_locked(self) -> None:
        from elixir_coder_lsp.inference.serving import check_checkpoint

        try:
            check_checkpoint(self.checkpoint)
        except GenerationError as exc:
            # A missing or malformed local checkpoint fails at once, without spawning a worker to find out.
            message = f"Model instance '{self.name}' is unavailable: {exc}"
            self._set_state_locked("failed", message)
            error = GenerationError(message, kind="unavailable")
            self._to_fail.extend((p, error) for p in self._pending.values())
            self._pending.clear()
            return
        self._gen += 1
        gen = self._gen
        self._last_error = None
        self._set_state_locked("loading", f"Loading {self.checkpoint}")
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=worker_main, args=(child_conn, self._worker_config()), name=f"elixir-coder-model-{self.name}", daemon=True)
        self._conn, self._proc = parent_conn, proc
        self._started_at = time.monotonic()
        proc.start()
        child_conn.close()
        self.pid = proc.pid
        self._outbox = queue.SimpleQueue()
        threading.Thread(target=self._reader, args=(gen, parent_conn, proc), name=f"model-{self.name}-reader", daemon=True).start()
        threading.Thread(target=self._sender, args=(parent_conn, self._outbox), name=f"model-{self.name}-sender", daemon=True).start()
        if self._health_thread is None and self._health_interval_s > 0:
            self._health_thread = threading.Thread(target=self._health_loop, name=f"model-{self.name}-health", daemon=True)
            self._health_thread.start()

    def _send_locked(self, pending: _Pending) -> None:
        pending.sent_to = self._gen
        self._send_raw(Submit(pending.request))

    def _send_raw(self, msg: ToWorker) -> None:
        # Never block the caller (often holding the lock) on a full pipe: a sender thread does the writing.
        outbox = self._outbox
        if outbox is None or self._conn is None:
            raise GenerationError(f"Model instance '{self.name}' is not running", kind="unavailable")
        outbox.put(msg)

    def _sender(self, conn: Any, outbox: queue.SimpleQueue) -> None:
        while True:
            msg = outbox.get()
            if msg is None:
                return
            try:
                conn.send(msg)
            except (OSError, ValueError, EOFError):
                return  # the worker is gone; the reader thread handles the exit
            if isinstance(msg, Stop):
                return

    def _reader(self, gen: int, conn: Any, proc: Any) -> None:
        worker_log = logging.getLogger(f"elixir_coder_lsp.worker.{self.name}")
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001 - an unpicklable message: log and go on
                log.warning("instance %s: bad message from worker: %s", self.name, exc)
                continue
            match msg:
                case Step(events=events, finished=finished):
                    self._on_step(events, finished)
                case Ready():
                    self._on_ready(gen, msg)
                case Pong(token=token):
                    with self._lock:
                        event = self._pongs.get(token)
                    if event:
                        event.set()
                case Log(levelno=levelno, logger=name, text=text):
                    worker_log.log(levelno, "[%s] %s", name, text)
                case LoadFailed(message=message, category=category) | Fatal(message=message, category=category):
                    with self._lock:
                        self._last_error = (message, category)
        proc.join(5)
        self._on_exit(gen, proc.exitcode)

    def _on_ready(self, gen: int, ready: Ready) -> None:
        with self._lock:
            if gen != self._gen:
                return
            self.load_s = ready.load_s
            self._set_state_locked("busy" if self._pending else "idle", f"{self.checkpoint} on {ready.device} ({ready.dtype})")
            for p in self._pending.values():
                if p.sent_to == 0:
                    self._send_locked(p)
        log.info("model instance %s ready: %s in %.1fs", self.name, self._message, self.load_s or 0.0)
        self._flush_status()

    def _on_step(self, events: list[WorkerEvent], finished: list[Finished]) -> None:
        deliveries: list[tuple[_Pending, StreamEvent]] = []
        completions: list[tuple[_Pending, Finished]] = []
        with self._lock:
            for ev in events:
                pending = self._pending.get(ev.request_id)
                if pending is None or pending.on_event is None:
                    continue
                deliveries.append((pending, ev.to_stream_event()))
            for fin in finished:
                pending = self._pending.pop(fin.request_id, None)
                if pending is not None:
                    completions.append((pending, fin))
            if completions and not self._pending and self._state == "busy":
                self._set_state_locked("idle")
        for pending, ev in deliveries:
            self._emit(pending, ev)
        now = time.monotonic()
        for pending, fin in completions:
            if fin.result is not None:
                result = fin.result
                result.instance = self.name
                # the worker's total (queue + generation) keeps a one-off model load out of the latency figures
                total = result.timings.get("total_s", now - pending.submitted)
                self.metrics.record(now - min(total, now - pending.submitted), sum(c.num_tokens for c in result.completions), now)
                if pending.on_event:
                    self._emit(pending, StreamEvent(request_id=result.request_id, kind="done"))
                _resolve(pending.future, result)
            else:
                if fin.kind != "cancelled":
                    self.metrics.record_error()
                if pending.on_event and fin.kind != "cancelled":
                    self._emit(pending, StreamEvent(request_id=fin.request_id, kind="error", text=fin.error or ""))
                _fail(pending.future, GenerationError(fin.error or "generation failed", kind=fin.kind))
        self._flush_status()

    def _on_exit(self, gen: int, exitcode: int | None) -> None:
        failed_now: list[_Pending] = []
        error: GenerationError | None = None
        with self._lock:
            if gen != self._gen or self._closing:
                return
            self._conn = None
            self._proc = None
            if self._outbox is not None:
                self._outbox.put(None)
                self._outbox = None
            for token, event in list(self._pongs.items()):
                event.set()  # waiting pings return (as failed: state is no longer running)
            last = self._last_error
            if exitcode == EXIT_LOAD_FAILED and last is not None:
                # A model that cannot load will not load on retry: fail at once, with the reason.
                message = f"Model instance '{self.name}' is unavailable: {last[0]}"
                self._set_state_locked("failed", message)
                failed_now = list(self._pending.values())
                self._pending.clear()
                error = GenerationError(message, kind="unavailable")
            else:
                text, category = _describe_exit(exitcode)
                if last is not None:
                    text, category = f"{text}: {last[0]}", last[1]
                now = time.monotonic()
                self._crashes.append(now)
                while self._crashes and now - self._crashes[0] > self._crash_window_s:
                    self._crashes.popleft()
                # requests the dead worker held fail; ones not sent yet wait for the restarted worker
                failed_now = [p for p in self._pending.values() if p.sent_to == gen]
                for p in failed_now:
                    del self._pending[p.request.id]
                if len(self._crashes) >= self._max_crashes:
                    message = (
                        f"Model instance '{self.name}' failed: its worker crashed {len(self._crashes)} times within "
                        f"{int(self._crash_window_s)} s ({category}; last: {text})"
                    )
                    self._set_state_locked("failed", message)
                    failed_now += list(self._pending.values())
                    self._pending.clear()
                    error = GenerationError(message, kind="unavailable")
                else:
                    error = GenerationError(
                        f"The model worker for instance '{self.name}' exited ({text}); it is being restarted", kind="crashed"
                    )
                    delay = min(30.0, self._backoff_s * (2 ** (len(self._crashes) - 1)))
                    self._set_state_locked("loading", f"Restarting after a crash ({text}) in {delay:.1f}s")
                    self._restart_timer = threading.Timer(delay, self._restart, args=(gen,))
                    self._restart_timer.daemon = True
                    self._restart_timer.start()
                log.warning("model instance %s: worker exited (%s)", self.name, text)
        for p in failed_now:
            self.metrics.record_error()
            if p.on_event:
                self._emit(p, StreamEvent(request_id=p.request.id, kind="error", text=str(error)))
            _fail(p.future, error)
        self._flush_status()

    def _restart(self, gen: int) -> None:
        with self._lock:
            if self._closing or gen != self._gen or self._state == "failed":
                return
            self._start_locked()
            waiting = [p for p in self._pending.values() if p.sent_to == 0]
        for p in waiting:
            self._emit(p, StreamEvent(request_id=p.request.id, kind="phase", phase="loading model"))
        self._flush_status()

    def _health_loop(self) -> None:
        while not self._health_stop.wait(self._health_interval_s):
            with self._lock:
                if self._state not in ("idle", "busy"):
                    continue
                proc = self._proc
            if not self.ping(self._health_timeout_s):
                with self._lock:
                    still = self._proc is proc and self._state in ("idle", "busy")
                if still and proc is not None:
                    log.error("model instance %s: no answer to a health check in %.0fs; killing the worker", self.name, self._health_timeout_s)
                    with self._lock:
                        self._last_error = (f"no answer to a health check within {self._health_timeout_s:.0f}s", "error")
                    proc.kill()

    # -- status and events ---------------------------------------------------------------------------

    def _set_state_locked(self, state: InstanceState, message: str | None = None) -> None:
        if state != self._state or (message is not None and message != self._message):
            self._status_dirty = True
        self._state = state
        if message is not None:
            self._message = message

    def _flush_status(self) -> None:
        """Deliver failures decided under the lock, then report a state change to on_status; 'failed' is reported once."""
        with self._lock:
            to_fail, self._to_fail = self._to_fail, []
        for p, error in to_fail:
            _fail(p.future, error)
        with self._lock:
            if not self._status_dirty:
                return
            self._status_dirty = False
            if self._state == "failed":
                if self._failed_reported:
                    return
                self._failed_reported = True
                log.error("%s", self._message)
        if self._on_status is not None:
            try:
                self._on_status(self.status())
            except Exception:  # noqa: BLE001 - a callback bug must not kill the reader thread
                log.exception("status callback failed")

    def _emit(self, pending: _Pending, event: StreamEvent) -> None:
        if pending.on_event is None:
            return
        try:
            pending.on_event(event)
        except Exception:  # noqa: BLE001
            log.exception("stream callback failed for %s", event.request_id)



def _resolve(future: Future, result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)

