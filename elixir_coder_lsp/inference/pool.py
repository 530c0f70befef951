"""ModelPool: named model instances (each its own worker or remote server), routing and metrics."""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.inference.backends.base import Backend, EventCallback, StatusCallback
from elixir_coder_lsp.inference.metrics import InstanceMetrics
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, GenerationResult, InstanceStatus

if TYPE_CHECKING:
    from elixir_coder_lsp.settings import ModelSettings, Settings

log = logging.getLogger(__name__)

STATE_ORDER = {"busy": 0, "idle": 1, "loading": 2, "stopped": 3, "failed": 4}
BackendFactory = Callable[[str, "ModelSettings", StatusCallback | None], Backend]


def sticky_fraction(key: str) -> float:
    """A stable number in [0, 1) for a routing key (same document -> same variant, across runs)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_weighted(weights: Mapping[str, float], u: float) -> str:
    """The name whose cumulative weight interval (names sorted) contains ``u`` in [0, 1)."""
    items = sorted((name, w) for name, w in weights.items() if w > 0)
    if not items:
        raise ValueError("no positive weights")
    total = sum(w for _, w in items)
    acc = 0.0
    for name, w in items:
        acc += w / total
        if u < acc:
            return name
    return items[-1][0]


def least_outstanding(outstanding: list[int], start: int = 0) -> int:
    """Index of the replica with the fewest requests in flight; ties go round-robin from ``start``."""
    n = len(outstanding)
    best = start % n
    for k in range(n):
        i = (start + k) % n
        if outstanding[i] < outstanding[best]:
            best = i
    return best


def model_usable(model: ModelSettings | None) -> bool:
    """Whether an instance can serve without a download: a server URL, a local checkpoint directory, or a cached hub id."""
    if model is None:
        return False
    if model.backend == "openai":
        return bool(model.url)
    if not model.checkpoint:
        return False
    if Path(model.checkpoint).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model.checkpoint, "config.json"), str)
    except Exception:  # noqa: BLE001 - not a hub id, or no hub library: not usable offline
        return False


def default_backend_factory(num_threads: int | None = None) -> BackendFactory:
    """Backends by models.NAME.backend: "local" -> LocalBackend, "openai" -> OpenAIBackend (imported lazily)."""

    def make(name: str, model_settings: ModelSettings, on_status: StatusCallback | None) -> Backend:
        if model_settings.backend == "openai":
            from elixir_coder_lsp.inference.backends.openai import OpenAIBackend

            return OpenAIBackend(name, model_settings, on_status=on_status)
        from elixir_coder_lsp.inference.backends.local import LocalBackend

        return LocalBackend(name, model_settings, on_status=on_status, num_threads=num_threads)

    return make


class _Instance:
    """One named instance: its settings, replicas (created lazily), outstanding counts and metrics."""

    def __init__(self, name: str, settings: ModelSettings) -> None:
        self.name = name
        self.settings = settings
        self.replicas: list[Backend | None] = [None] * max(1, settings.replicas)
        self.outstanding = [0] * len(self.replicas)
        self.metrics = InstanceMetrics()
        self.rr = 0
        self.reported_requests = 0


class ModelPool:
    """Routes requests to named instances: explicit name, else weighted A/B (sticky per key); least outstanding across replicas."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_status: Callable[[InstanceStatus], None] | None = None,
        backend_factory: BackendFactory | None = None,
        num_threads: int | None = None,
        log_interval_s: float = 60.0,
        seed: int | None = None,
    ) -> None:
        self._on_status = on_status
        self._factory = backend_factory or default_backend_factory(num_threads)
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._instances: dict[str, _Instance] = {}
        self._routes: dict[str, tuple[str, int]] = {}  # request id -> (instance, replica)
        self._closed = False
        self._counter = 0
        self._apply_settings(settings)
        self._log_stop = threading.Event()
        if log_interval_s > 0:
            threading.Thread(target=self._log_loop, args=(log_interval_s,), name="model-pool-metrics", daemon=True).start()

    # -- public API ----------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, on_event: EventCallback | None = None) -> Future[GenerationResult]:
        """Route and queue a request; the future raises GenerationError when it cannot be served."""
        try:
            with self._lock:
                if self._closed:
                    raise GenerationError("The model pool is closed", kind="unavailable")
                if not request.id:
                    self._counter += 1
                    request.id = f"r{self._counter}-{self._rng.getrandbits(32):08x}"
                name = self.choose_instance(request)
                inst = self._instances[name]
                idx = least_outstanding(inst.outstanding, inst.rr)
                inst.rr = (idx + 1) % len(inst.replicas)
                backend = self._backend(inst, idx)
                inst.outstanding[idx] += 1
                self._routes[request.id] = (name, idx)
        except GenerationError as exc:
            failed: Future[GenerationResult] = Future()
            failed.set_exception(exc)
            return failed
        started = time.monotonic()
        inner = backend.submit(request, on_event)
        inner.add_done_callback(lambda f: self._finished(request.id, inst, idx, started, f))
        return inner

    def cancel(self, request_id: str) -> bool:
        """Cancel a request on whichever instance runs it."""
        with self._lock:
            route = self._routes.get(request_id)
            if route is None:
                return False
            inst = self._instances.get(route[0])
            backend = inst.replicas[route[1]] if inst and route[1] < len(inst.replicas) else None
        return backend.cancel(request_id) if backend is not None else False

    def statuses(self) -> list[InstanceStatus]:
        """One status per named instance (replicas merged), without starting anything."""
        with self._lock:
            instances = list(self._instances.values())
        return [self._status_of(inst) for inst in instances]

    def is_ready(self, instance: str | None = None, sticky_key: str | None = None) -> bool:
        """Whether the instance a request would go to can serve it without loading a model first.

        A local replica is ready once its worker has loaded (idle or busy); a remote server is ready
        unless it failed. Nothing is started (inline completion asks this on every keystroke).
        """
        try:
            name = self.choose_instance(GenerationRequest(prompt="", instance=instance, sticky_key=sticky_key))
        except GenerationError:
            return False
        with self._lock:
            inst = self._instances.get(name)
            if inst is None:
                return False
            if inst.settings.backend == "openai":
                return all(b is None or b.status().state != "failed" for b in inst.replicas)
            return any(b is not None and b.status().state in ("idle", "busy") for b in inst.replicas)

    def preload(self) -> None:
        """Start the instances whose settings say preload = true."""
        with self._lock:
            targets = [(inst, i) for inst in self._instances.values() if inst.settings.preload for i in range(len(inst.replicas))]
            backends = [self._backend(inst, i) for inst, i in targets]
        for backend in backends:
            start = getattr(backend, "preload", None)
            if callable(start):
                start()

    def update_settings(self, settings: Settings) -> None:
        """Apply new settings: instances whose settings changed (or that were removed) are stopped and recreated lazily."""
        stale = self._apply_settings(settings)
        for backend in stale:
            threading.Thread(target=backend.close, name="model-close", daemon=True).start()

    def close(self) -> None:
        """Stop every instance."""
        with self._lock:
            self._closed = True
            backends = [b for inst in self._instances.values() for b in inst.replicas if b is not None]
        self._log_stop.set()
        for backend in backends:
            backend.close()

    def choose_instance(self, request: GenerationRequest) -> str:
        """The instance name for a request: its explicit instance, else the weighted split, else routing.default."""
        with self._lock:
            names = list(self._instances)
            if not names:
                raise GenerationError("No model is configured (settings: models.NAME.checkpoint)", kind="unavailable")
            if request.instance:
                if request.instance not in self._instances:
                    raise GenerationError(
                        f"Unknown model instance '{request.instance}' (configured: {', '.join(names)})", kind="unavailable"
                    )
                return request.instance
            weights = {n: w for n, w in self._weights.items() if n in self._instances and w > 0 and not self._is_failed(n)}
            if weights:
                u = sticky_fraction(request.sticky_key) if request.sticky_key else self._rng.random()
                return pick_weighted(weights, u)
            if self._default in self._instances:
                return self._default
            return names[0]

    def tokenizer(self, instance: str | None = None) -> Any:
        """The tokenizer of an instance's checkpoint when it is available locally (else None)."""
        from elixir_coder_lsp.inference.prompts import load_tokenizer

        with self._lock:
            name = instance or self._default
            inst = self._instances.get(name) or next(iter(self._instances.values()), None)
        if inst is None:
            return None
        return load_tokenizer(inst.settings.checkpoint)

    def build_prompt(
        self, role: str, request_text: str, context: Any = None, *, instance: str | None = None, prefix: str = ""
    ) -> str:
        """The prompt for a role on an instance: its template override and its tokenizer's chat template."""
        from elixir_coder_lsp.inference.prompts import build_prompt

        with self._lock:
            inst = self._instances.get(instance or self._default)
        override = ""
        if inst is not None:
            role_settings = inst.settings.roles.get(role)
            override = role_settings.template if role_settings is not None else ""
        return build_prompt(self.tokenizer(instance), role, request_text, context, template=override, prefix=prefix)

    # -- internals -----------------------------------------------------------------------------------

    def _apply_settings(self, settings: Settings) -> list[Backend]:
        models = dict(settings.models)
        stale: list[Backend] = []
        with self._lock:
            self._default = settings.routing.default
            self._weights = dict(settings.routing.weights)
            for name in list(self._instances):
                inst = self._instances[name]
                if name not in models or models[name] != inst.settings:
                    stale.extend(b for b in inst.replicas if b is not None)
                    del self._instances[name]
            for name, ms in models.items():
                if name not in self._instances:
                    self._instances[name] = _Instance(name, ms)
        return stale

    def _backend(self, inst: _Instance, idx: int) -> Backend:
        backend = inst.replicas[idx]
        if backend is None:
            label = inst.name if len(inst.replicas) == 1 else f"{inst.name}#{idx + 1}"
            backend = self._factory(label, inst.settings, lambda _s, inst=inst: self._report(inst))
            inst.replicas[idx] = backend
        return backend

    def _is_failed(self, name: str) -> bool:
        inst = self._instances[name]
        live = [b for b in inst.replicas if b is not None]
        return bool(live) and len(live) == len(inst.replicas) and all(b.status().state == "failed" for b in live)

    def _finished(self, request_id: str, inst: _Instance, idx: int, started: float, future: Future) -> None:
        with self._lock:
            self._routes.pop(request_id, None)
            if idx < len(inst.outstanding):
                inst.outstanding[idx] = max(0, inst.outstanding[idx] - 1)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            result = future.result()
            now = time.monotonic()
            # The backend's own total (queue + generation) leaves out a one-off model load in the figures.
            total = (result.timings or {}).get("total_s")
            begin = now - total if isinstance(total, (int, float)) and 0 <= total <= now - started else started
            inst.metrics.record(begin, sum(c.num_tokens for c in result.completions), now)
        elif not (isinstance(exc, GenerationError) and exc.kind == "cancelled"):
            inst.metrics.record_error()

    def _status_of(self, inst: _Instance) -> InstanceStatus:
        live = [b.status() for b in inst.replicas if b is not None]
        snap = inst.metrics.snapshot()
        if live:
            best = min(live, key=lambda s: STATE_ORDER.get(s.state, 9))
            state, message = best.state, best.message
            if any(s.state == "failed" for s in live) and best.state != "failed":
                message = next(s.message for s in live if s.state == "failed")
        else:
            state, message = "stopped", ""
        return InstanceStatus(
            name=inst.name,
            checkpoint=inst.settings.checkpoint,
            backend=inst.settings.backend,
            state=state,
            message=message,
            queue=sum(inst.outstanding),
            requests=int(snap["requests"] or 0),
            tokens_per_s=float(snap["tokens_per_s"] or 0.0),
            p50_ms=snap["p50_ms"],  # type: ignore[arg-type]
            p95_ms=snap["p95_ms"],  # type: ignore[arg-type]
        )

    def _report(self, inst: _Instance) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(self._status_of(inst))
        except Exception:  # noqa: BLE001
            log.exception("status callback failed")

    def _log_loop(self, interval: float) -> None:
        while not self._log_stop.wait(interval):
            self.log_metrics()

    def log_metrics(self, force: bool = False) -> None:
        """One log line per instance that served requests since the last line."""
        with self._lock:
            instances = list(self._instances.values())
        for inst in instances:
            status = self._status_of(inst)
            if not force and status.requests == inst.reported_requests and status.queue == 0:
                continue
            inst.reported_requests = status.requests
            log.info(
                "model %s: state=%s requests=%d queue=%d tokens/s=%.1f p50=%s p95=%s",
                inst.name,
                status.state,
                status.requests,
                status.queue,
                status.tokens_per_s,
                _ms(status.p50_ms),
                _ms(status.p95_ms),
            )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}ms"
