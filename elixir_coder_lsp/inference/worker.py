"""The model worker process: load a Serving, then run the engine loop against a pipe to the parent.

The messages on the pipe are inference/messages.py's.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elixir_coder_lsp.inference.messages import (
    Cancel,
    Fatal,
    FromWorker,
    LoadFailed,
    Log,
    Ping,
    Pong,
    Ready,
    Step,
    Stop,
    Submit,
    ToWorker,
    pack_event,
)
from elixir_coder_lsp.inference.options import ServingOptions
from elixir_coder_lsp.inference.types import FailureCategory

if TYPE_CHECKING:
    from elixir_coder_lsp.inference.engine import Engine

Send = Callable[[FromWorker], None]

EXIT_LOAD_FAILED = 3
EXIT_FATAL = 4


@dataclass
class WorkerConfig:
    """Everything the child needs to load and serve one model instance (picklable)."""

    name: str
    checkpoint: str
    tokenizer: str | None = None
    options: ServingOptions = field(default_factory=ServingOptions)
    log_level: int = logging.INFO


class _PipeLogHandler(logging.Handler):
    """Sends the child's log records to the parent, which logs them under the instance's name."""

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(Log(record.levelno, record.name, self.format(record)))
        except Exception:  # noqa: BLE001 - the parent is gone; nothing to log to
            pass


def classify_runtime_error(exc: BaseException) -> FailureCategory:
    """'out of memory', 'CUDA error' or 'error' for an exception that killed the engine loop."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if "out of memory" in text or isinstance(exc, MemoryError):
        return "out of memory"
    if "cuda" in text:
        return "CUDA error"
    return "error"


def worker_main(conn: Any, config: WorkerConfig) -> None:
    """Entry point of the spawned process."""
    lock = threading.Lock()

    def send(msg: FromWorker) -> None:
        with lock:
            conn.send(msg)

    _capture_output(send)

    root = logging.getLogger()
    root.handlers[:] = [_PipeLogHandler(send)]
    root.setLevel(config.log_level)
    logging.captureWarnings(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not config.options.allow_download:
        # Nothing in the worker may wait on the network (adapters, templates, remote code): offline by default.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from elixir_coder_lsp.inference.serving import Serving, classify_load_error
    from elixir_coder_lsp.inference.types import GenerationError

    try:
        serving = Serving.new(config.checkpoint, config.tokenizer or config.checkpoint, options=config.options)
    except GenerationError as exc:
        send(LoadFailed(str(exc), classify_load_error(exc)))
        conn.close()
        sys.exit(EXIT_LOAD_FAILED)
    except BaseException as exc:  # noqa: BLE001 - report any load failure as one line
        send(LoadFailed(f"Cannot load model {config.checkpoint}: {exc}", classify_load_error(exc)))
        conn.close()
        sys.exit(EXIT_LOAD_FAILED)
    engine = serving.engine()
    # The llguidance tokenizer takes a while for large vocabularies: build it while the first requests run.
    threading.Thread(target=serving.prepare_grammar, name="grammar-prepare", daemon=True).start()
    send(Ready(serving.load_s, serving.device, str(serving.dtype).replace("torch.", "")))
    try:
        run_loop(conn, engine, send)
    except (EOFError, OSError, KeyboardInterrupt):
        return
    except BaseException as exc:  # noqa: BLE001 - tell the parent why, then die so the supervisor restarts us
        logging.getLogger(__name__).error("engine loop failed: %s", "".join(traceback.format_exception(exc)))
        try:
            send(Fatal(f"{type(exc).__name__}: {exc}".splitlines()[0][:300], classify_runtime_error(exc)))
        except Exception:  # noqa: BLE001
            pass
        sys.exit(EXIT_FATAL)


def _capture_output(send: Send) -> None:
    """Route the child's stdout and stderr (library warnings, progress bars) into the parent's log.

    stdout may be the LSP's JSON-RPC stream (inherited), so nothing may reach it. The original stderr is
    kept for faulthandler, whose report of a hard crash must get out even when this process is dying.
    """
    import faulthandler

    try:
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
    except OSError:
        return
    faulthandler.enable(file=os.fdopen(original, "w", buffering=1, closefd=False))
    sys.stdout = sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)

    def forward() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace", newline="") as pipe:
            for line in pipe:
                # progress bars redraw with carriage returns: keep the last state of the line
                text = line.rstrip("\n").split("\r")[-1].strip()
                if text:
                    try:
                        send(Log(logging.INFO, "stderr", text))
                    except Exception:  # noqa: BLE001 - the parent is gone
                        return

    threading.Thread(target=forward, name="worker-output", daemon=True).start()


def run_loop(conn: Any, engine: Engine, send: Send) -> None:
    """Drain messages, step the engine while it has work, block on the pipe when idle."""
    while True:
        wait = engine.wait_time()
        # Block on the pipe when idle, sleep out the batch window when only waiting requests exist.
        if conn.poll(wait):
            while True:
                msg = conn.recv()
                if not _handle(msg, engine, send):
                    return
                if not conn.poll(0):
                    break
        if engine.wait_time() == 0:
            try:
                out = engine.step()
            except Exception as exc:  # noqa: BLE001 - out of memory fails this batch; anything else ends the worker
                if classify_runtime_error(exc) != "out of memory":
                    raise
                _free_memory()
                failed = engine.fail_running(f"The model ran out of memory for this batch ({str(exc).splitlines()[0][:200]})")
                logging.getLogger(__name__).warning("out of memory in a decode step; failed %d requests", len(failed))
                send(Step([], failed))
                continue
            if out.events or out.finished:
                send(Step([pack_event(ev) for ev in out.events], out.finished))


def _free_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001
        pass


def _handle(msg: ToWorker, engine: Engine, send: Send) -> bool:
    """Apply one message from the parent; False when the loop should end."""
    match msg:
        case Submit(request=request):
            engine.add_request(request)
        case Cancel(request_id=request_id):
            engine.cancel(request_id)
        case Ping(token=token):
            send(Pong(token, engine.queue_depth()))
        case Stop():
            return False
    return True
