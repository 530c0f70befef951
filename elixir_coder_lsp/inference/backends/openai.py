"""Backend for an OpenAI-compatible `/v1/completions` server (vLLM, SGLang), streaming over SSE.

Only the standard library is used: each request runs in a worker thread on its own
``http.client`` connection, so cancelling a request shuts that connection's socket down, which
both unblocks the reading thread and tells the server to abort the request.

Grammar-constrained requests carry the Lark text from ``constraints.grammar_text``:
vLLM reads it from ``structured_outputs.grammar`` (the server must run with
``--structured-outputs-config.backend guidance``; the old ``guided_grammar`` field is silently
ignored by current vLLM and is never sent), SGLang from the ``ebnf`` field (server started with
``--grammar-backend llguidance``; this request shape follows SGLang's documentation and is untested
here). Token-level monitors run only in the local backend; remote requests still get the grammar,
until the server's grammar engine fails on it (server_grammar.py): then without it.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from elixir_coder_lsp.inference.backends.base import EventCallback, StatusCallback
from elixir_coder_lsp.inference.backends.openai_wire import (
    ENGINES,
    Engine,
    Sample,
    build_payload,
    error_message,
    iter_sse,
    mentions_grammar,
    to_completion,
    token_count,
)
from elixir_coder_lsp.inference.backends.server_grammar import ServerGrammar, failed_samples
from elixir_coder_lsp.inference.metrics import InstanceMetrics
from elixir_coder_lsp.inference.types import (
    Completion,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    InstanceStatus,
    StreamEvent,
)

if TYPE_CHECKING:
    from elixir_coder_lsp.settings import ModelSettings

log = logging.getLogger(__name__)

ENGINE_LABEL = {"vllm": "vLLM", "sglang": "SGLang"}
class _Cancelled(Exception):
    """Raised inside a worker thread once its request was cancelled."""


@dataclass
class _Call:
    """One in-flight request: its connection (for cancellation) and its per-sample accumulators."""

    request: GenerationRequest
    on_event: EventCallback | None
    future: Future[GenerationResult]
    submitted: float
    running: bool = False  # a worker thread picked it up (guarded by the backend's lock)
    cancelled: threading.Event = field(default_factory=threading.Event)
    conn: http.client.HTTPConnection | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class OpenAIBackend:
    """One named model instance served by a remote vLLM / SGLang server; implements ``Backend``."""

    def __init__(
        self,
        name: str,
        model_settings: ModelSettings,
        *,
        on_status: StatusCallback | None = None,
        engine: Engine | None = None,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 300.0,
        max_concurrency: int | None = None,
        extra_body: dict[str, Any] | None = None,
        grammar_text: Callable[[str, str | None], str] | None = None,
    ) -> None:
        """``model_settings`` is the instance's ``[models.NAME]`` (url, checkpoint, apiKeyEnv, engine, ...).

        ``engine`` overrides detection ("vllm" | "sglang"); otherwise it comes from
        ``model_settings.engine`` unless that is "auto", else from the server's
        `/v1/models` ``owned_by``, else "vllm". ``read_timeout_s`` bounds the silence between two
        reads of a response (not the whole generation). ``extra_body`` is merged into every
        request (server-specific knobs). ``grammar_text(entry_rule, extra_rules)`` defaults to
        ``constraints.grammar_text``.
        """
        self.name = name
        self.settings = model_settings
        self.url = model_settings.url.rstrip("/")
        self.checkpoint = model_settings.checkpoint
        self.api_key_env = model_settings.api_key_env
        self._engine: Engine | None = engine or _valid_engine(model_settings.engine)
        self._model: str | None = None
        self._on_status = on_status
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._extra_body = dict(extra_body or {})
        self._grammar_text = grammar_text
        self._server_grammar = ServerGrammar()
        workers = max_concurrency or max(1, model_settings.max_batch_size)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"openai-{name}")
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}
        self._running = 0
        self._cancelled = 0
        self._metrics = InstanceMetrics()
        self._last_error = ""
        self._state: Literal["idle", "busy", "failed", "stopped"] = "idle"
        self._closed = False
        self._counter = 0
        parsed = urllib.parse.urlsplit(self.url)
        self._scheme = parsed.scheme or "http"
        self._host = parsed.hostname or ""
        self._port = parsed.port
        self._base_path = parsed.path.rstrip("/")

    # ---- Backend protocol -------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, on_event: EventCallback | None = None) -> Future[GenerationResult]:
        """Queue a request on a worker thread; the future resolves to the result or raises GenerationError."""
        future: Future[GenerationResult] = Future()
        with self._lock:
            if self._closed:
                future.set_exception(GenerationError(f"model instance {self.name!r} is closed", kind="unavailable"))
                return future
            if not request.id:
                self._counter += 1
                request.id = f"{self.name}-{self._counter}"
            call = _Call(request, on_event, future, time.monotonic())
            self._calls[request.id] = call
        _emit(call, StreamEvent(request.id, "phase", phase="queued"))
        self._pool.submit(self._run, call)
        self._publish()
        return future

    def cancel(self, request_id: str) -> bool:
        """Cancel a queued or running request: its connection is shut down and its future raises cancelled."""
        with self._lock:
            call = self._calls.get(request_id)
            queued = call is not None and not call.running
            if queued:  # no worker has it yet: settle it now rather than when a worker frees up
                del self._calls[request_id]
        if call is None:
            return False
        call.cancelled.set()
        if queued:
            self._settle_cancelled(call)
            self._publish()
            return True
        with call.lock:
            conn = call.conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return True

    def status(self) -> InstanceStatus:
        """State and metrics over the last finished requests (p50/p95 latency, aggregate tokens/s)."""
        with self._lock:
            queued = len(self._calls) - self._running
            state = self._state
            cancelled = self._cancelled
            message = self._last_error if state == "failed" else f"{ENGINE_LABEL.get(self._engine or '', 'remote server')} at {self.url}"
        if state != "failed" and self._server_grammar.failure:
            message += f": {self._server_grammar.failure}"
        snap = self._metrics.snapshot()
        return InstanceStatus(
            name=self.name,
            checkpoint=self.checkpoint,
            backend="openai",
            state=state,
            message=message,
            queue=max(0, queued),
            requests=int(snap["requests"] or 0) + int(snap["errors"] or 0) + cancelled,
            tokens_per_s=float(snap["tokens_per_s"] or 0.0),
            p50_ms=snap["p50_ms"],
            p95_ms=snap["p95_ms"],
        )

    def close(self) -> None:
        """Cancel everything in flight and stop the worker threads (the remote server keeps running)."""
        with self._lock:
            self._closed = True
            ids = list(self._calls)
        for request_id in ids:
            self.cancel(request_id)
        self._pool.shutdown(wait=False, cancel_futures=False)
        with self._lock:
            self._state = "stopped"
        self._publish()

    # ---- discovery --------------------------------------------------------------------------------

    def engine(self) -> Engine:
        """The server's engine: configured, else detected from `/v1/models` ``owned_by``, else vLLM."""
        if self._engine is None:
            self._discover()
        return self._engine or "vllm"

    def model(self) -> str:
        """The model name sent in requests: the checkpoint, else the first model the server lists."""
        if self.checkpoint:
            return self.checkpoint
        if self._model is None:
            self._discover()
        if not self._model:
            raise GenerationError(
                f"model instance {self.name!r} has no checkpoint set and the server at {self.url} lists no model",
                kind="unavailable",
            )
        return self._model

    def _discover(self) -> None:
        """Ask `/v1/models` once for the engine (``owned_by``) and the served model name."""
        status, body = self._get("/models")
        if status != 200:
            log.info("%s: GET %s/models answered %s; assuming vLLM", self.name, self.url, status)
            self._engine = self._engine or "vllm"
            self._model = self._model or ""
            return
        try:
            data = json.loads(body).get("data") or []
        except ValueError:
            data = []
        first = data[0] if data and isinstance(data[0], dict) else {}
        owner = str(first.get("owned_by", "")).lower()
        if self._engine is None:
            self._engine = "sglang" if "sglang" in owner else "vllm"
        if self._model is None:
            self._model = str(first.get("id", ""))

    # ---- one request ------------------------------------------------------------------------------

    def _run(self, call: _Call) -> None:
        request, future = call.request, call.future
        started = time.monotonic()
        with self._lock:
            if self._calls.get(request.id) is not call:
                return  # cancelled while it waited for a worker; already settled
            call.running = True
            self._running += 1
            self._state = "busy"
        self._publish()
        tokens = 0
        try:
            if call.cancelled.is_set():
                raise _Cancelled
            result = self._generate(call, started)
            tokens = sum(c.num_tokens for c in result.completions)
            _emit(call, StreamEvent(request.id, "done", tokens_so_far=tokens))
            future.set_result(result)
            self._record(started, tokens, None)
        except _Cancelled:
            self._settle_cancelled(call)
        except GenerationError as error:
            error = self._scrubbed(error)  # a server may echo the key back in its error text
            _emit(call, StreamEvent(request.id, "error", text=str(error), data={"kind": error.kind}))
            future.set_exception(error)
            self._record(started, 0, error)
        except Exception as exc:  # a bug or an unexpected server reply must still settle the future
            log.error("%s: request %s failed: %s", self.name, request.id, self._scrub(f"{type(exc).__name__}: {exc}"))
            error = self._scrubbed(GenerationError(f"the {self._label()} server at {self.url} sent a reply that could not be read: {exc}"))
            _emit(call, StreamEvent(request.id, "error", text=str(error), data={"kind": error.kind}))
            future.set_exception(error)
            self._record(started, 0, error)
        finally:
            with self._lock:
                self._calls.pop(request.id, None)
                self._running -= 1
            self._publish()

    def _settle_cancelled(self, call: _Call) -> None:
        error = GenerationError(f"request {call.request.id} was cancelled", kind="cancelled")
        _emit(call, StreamEvent(call.request.id, "error", text=str(error), data={"kind": error.kind}))
        call.future.set_exception(error)
        with self._lock:
            self._cancelled += 1

    def _generate(self, call: _Call, started: float) -> GenerationResult:
        request = call.request
        # a server's grammar starts where the output starts: it cannot continue after a grammar prefix
        # (inline completion), so such a request goes free and is checked afterwards
        constrained = request.constrained and request.grammar_prefix is None
        grammar = self._grammar_for(request) if constrained and self._server_grammar.usable() else None
        samples, completions, first_token = self._stream(call, request, grammar, list(range(max(1, request.params.n))))
        broken = failed_samples(grammar, completions, [s.eos_ended for s in samples]) if grammar is not None else {}
        if broken:
            self._without_server_grammar(broken)
            # the same samples again, free: the loop parses and checks them like every candidate
            again = dataclasses.replace(request, params=dataclasses.replace(request.params, n=len(broken)), constrained=False)
            redone_samples, redone, later = self._stream(call, again, None, sorted(broken))
            for i, sample, completion in zip(sorted(broken), redone_samples, redone):
                samples[i], completions[i] = sample, completion
            first_token = first_token or later
        # after any redo: a redone sample that failed is reported like a first one
        failed = [f"sample {i} ended with {s.finish_reason or 'no finish reason'}" for i, s in enumerate(samples) if completions[i].finish_reason == "error"]
        end = time.monotonic()
        return GenerationResult(
            request_id=request.id,
            completions=completions,
            instance=self.name,
            error=f"the {self._label()} server at {self.url}: {'; '.join(failed)}" if failed else None,
            timings={
                "queued_s": started - call.submitted,
                "first_token_s": (first_token - call.submitted) if first_token is not None else end - call.submitted,
                "total_s": end - call.submitted,
            },
        )

    def _without_server_grammar(self, broken: dict[int, str]) -> None:
        why = (f"its grammar engine failed on this model's tokenizer (sample {min(broken)} {broken[min(broken)]}; with llguidance, "
               "most likely its limit of Earley items per step), so constrained requests go without it and are checked here")
        if self._server_grammar.record_failure(why):
            log.warning("%s: the %s server at %s: %s", self.name, self._label(), self.url, why)
            self._publish()

    def _stream(
        self, call: _Call, request: GenerationRequest, grammar: str | None, indices: list[int]
    ) -> tuple[list[Sample], list[Completion], float | None]:
        """One `/completions` request, streamed; its samples are reported as ``indices`` of the caller's request."""
        body = build_payload(request, model=self.model(), engine=self.engine(), grammar=grammar, extra_body=self._extra_body)
        samples = [Sample() for _ in indices]
        first_token: float | None = None
        resp = self._post(call, "/completions", body, has_grammar=grammar is not None)
        _emit(call, StreamEvent(request.id, "phase", phase="generating"))
        try:
            for chunk in iter_sse(_lines(resp, call)):
                if ("error" in chunk or chunk.get("object") == "error") and not chunk.get("choices"):
                    raise self._stream_error(chunk, has_grammar=grammar is not None)
                for choice in chunk.get("choices") or []:
                    index = int(choice.get("index", 0))
                    if index >= len(samples):
                        samples.extend(Sample() for _ in range(index + 1 - len(samples)))
                    sample = samples[index]
                    text = choice.get("text") or ""
                    ids = choice.get("token_ids") or []
                    lps = (choice.get("logprobs") or {}).get("token_logprobs") or []
                    sample.text.append(text)
                    sample.token_ids.extend(int(t) for t in ids)
                    sample.logprobs.extend(float(x) for x in lps if x is not None)
                    if text or ids:
                        sample.chunks += 1
                        sample.last_text, sample.last_ids = text, len(ids)
                    if text:
                        if first_token is None:
                            first_token = time.monotonic()
                        shown = indices[index] if index < len(indices) else index
                        _emit(call, StreamEvent(request.id, "token", index=shown, text=text, tokens_so_far=token_count(sample)))
                    if choice.get("finish_reason"):
                        sample.finish_reason = str(choice["finish_reason"])
                        sample.eos_ended = "stop_reason" in choice and choice["stop_reason"] is None
        except (OSError, http.client.HTTPException) as exc:
            if call.cancelled.is_set():
                raise _Cancelled from exc
            if isinstance(exc, (TimeoutError, socket.timeout)):
                raise GenerationError(
                    f"the {self._label()} server at {self.url} sent nothing for {self._read_timeout_s:.0f} s", kind="timeout"
                ) from exc
            raise GenerationError(f"the connection to the {self._label()} server at {self.url} broke: {exc}", kind="unavailable") from exc
        finally:
            resp.close()
            self._drop_conn(call)
        if call.cancelled.is_set():
            raise _Cancelled
        return samples, [to_completion(s) for s in samples], first_token

    def _grammar_for(self, request: GenerationRequest) -> str:
        make = self._grammar_text
        if make is None:
            # Imported lazily: the grammar module pulls in llguidance, which remote-only users may skip.
            from elixir_coder_lsp.inference import constraints

            make = constraints.grammar_text
        try:
            return make(request.entry_rule, request.extra_rules)
        except (ValueError, OSError) as exc:
            raise GenerationError(f"cannot build the grammar for entry rule {request.entry_rule!r}: {exc}") from exc

    # ---- HTTP -------------------------------------------------------------------------------------

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if not self._host:
            raise GenerationError(
                f"model instance {self.name!r} uses the openai backend but its url is not set "
                "(models.NAME.url, e.g. http://gpu-box:8000/v1)",
                kind="unavailable",
            )
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _scrub(self, text: str) -> str:
        """``text`` with the API key (the value of ``$apiKeyEnv``) replaced, so no message or log carries it."""
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        return text.replace(key, "***") if len(key) >= 4 else text

    def _scrubbed(self, error: GenerationError) -> GenerationError:
        clean = self._scrub(str(error))
        return error if clean == str(error) else GenerationError(clean, kind=error.kind)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def _connect(self, conn: http.client.HTTPConnection) -> None:
        try:
            conn.connect()
        except ConnectionRefusedError as exc:
            raise GenerationError(f"cannot reach the {self._label()} server at {self.url}: connection refused", kind="unavailable") from exc
        except (TimeoutError, socket.timeout) as exc:
            raise GenerationError(
                f"cannot reach the {self._label()} server at {self.url}: no answer within {self._connect_timeout_s:.0f} s",
                kind="unavailable",
            ) from exc
        except OSError as exc:
            raise GenerationError(f"cannot reach the {self._label()} server at {self.url}: {exc}", kind="unavailable") from exc
        assert conn.sock is not None
        conn.sock.settimeout(self._read_timeout_s)

    def _get(self, path: str) -> tuple[int, bytes]:
        conn = self._connection(self._connect_timeout_s)
        try:
            self._connect(conn)
            conn.request("GET", self._base_path + path, headers=self._headers())
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise GenerationError(f"cannot query the server at {self.url}: {exc}", kind="unavailable") from exc
        finally:
            conn.close()

    def _post(self, call: _Call, path: str, body: dict[str, Any], *, has_grammar: bool) -> http.client.HTTPResponse:
        conn = self._connection(self._connect_timeout_s)
        with call.lock:
            call.conn = conn
        if call.cancelled.is_set():
            raise _Cancelled
        self._connect(conn)
        if call.cancelled.is_set():  # cancelled while connecting: the socket did not exist yet
            self._drop_conn(call)
            raise _Cancelled
        try:
            conn.request("POST", self._base_path + path, body=json.dumps(body).encode("utf-8"), headers=self._headers())
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._drop_conn(call)
            if call.cancelled.is_set():
                raise _Cancelled from exc
            if isinstance(exc, (TimeoutError, socket.timeout)):
                raise GenerationError(f"the {self._label()} server at {self.url} did not answer within {self._read_timeout_s:.0f} s", kind="timeout") from exc
            raise GenerationError(f"the connection to the {self._label()} server at {self.url} broke: {exc}", kind="unavailable") from exc
        if resp.status != 200:
            try:
                detail = error_message(resp.read())
            except (OSError, http.client.HTTPException):
                detail = resp.reason
            self._drop_conn(call)
            raise self._http_error(resp.status, detail, has_grammar=has_grammar)
        return resp

    def _http_error(self, status: int, detail: str, *, has_grammar: bool) -> GenerationError:
        label = self._label()
        if status == 400 and has_grammar and mentions_grammar(detail):
            return GenerationError(f"the {label} server rejected the grammar: {detail}")
        if status in (401, 403):
            hint = (
                f"check the API key in ${self.api_key_env}"
                if self.api_key_env
                else "set models.NAME.apiKeyEnv to the environment variable holding the API key"
            )
            return GenerationError(f"the {label} server at {self.url} refused the request (HTTP {status}): {detail}; {hint}", kind="unavailable")
        if status == 404:
            return GenerationError(
                f"the {label} server at {self.url} does not serve model {self.checkpoint or self._model!r} (HTTP 404): {detail}",
                kind="unavailable",
            )
        if status in (502, 503, 504):
            return GenerationError(f"the {label} server at {self.url} is unavailable (HTTP {status}): {detail}", kind="unavailable")
        return GenerationError(f"the {label} server at {self.url} rejected the request (HTTP {status}): {detail}")

    def _stream_error(self, chunk: dict[str, Any], *, has_grammar: bool) -> GenerationError:
        # vLLM validates a streaming request after answering 200, so a rejected grammar arrives as
        # an error event carrying the HTTP status it would have had.
        detail = error_message(json.dumps(chunk).encode())
        err = chunk.get("error") if isinstance(chunk.get("error"), dict) else chunk
        try:
            code = int(err.get("code") or 0)
        except (TypeError, ValueError):
            code = 0
        if 400 <= code < 500:
            return self._http_error(code, detail, has_grammar=has_grammar)
        return GenerationError(f"the {self._label()} server at {self.url} failed while generating: {detail}")

    def _drop_conn(self, call: _Call) -> None:
        with call.lock:
            conn, call.conn = call.conn, None
        if conn is not None:
            conn.close()

    # ---- bookkeeping ------------------------------------------------------------------------------

    def _label(self) -> str:
        return ENGINE_LABEL.get(self._engine or "", "remote model")

    def _record(self, started: float, tokens: int, error: GenerationError | None) -> None:
        if error is None:
            self._metrics.record(started, tokens)
        else:
            self._metrics.record_error()
        with self._lock:
            if error is None:
                if self._state == "failed":
                    self._state = "idle"
                self._last_error = ""
            else:
                self._last_error = str(error)
                if error.kind == "unavailable":
                    self._state = "failed"
            if self._state != "failed":
                self._state = "busy" if self._running > 1 else "idle"

    def _publish(self) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(self.status())
        except Exception:  # a listener's bug must not fail requests
            log.exception("%s: status callback failed", self.name)


def _valid_engine(value: Any) -> Engine | None:
    return value if value in ENGINES else None


def _lines(resp: http.client.HTTPResponse, call: _Call) -> Iterator[bytes]:
    while True:
        if call.cancelled.is_set():
            raise _Cancelled
        line = resp.readline()
        if not line:
            return
        yield line


def _emit(call: _Call, event: StreamEvent) -> None:
    if call.on_event is None:
        return
    try:
        call.on_event(event)
    except Exception:  # a listener's bug must not fail the request
        log.exception("stream callback failed for %s", call.request.id)
