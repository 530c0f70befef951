"""The model worker process: load a Serving, then run the engine loop against a pipe to the parent.

Parent -> worker messages: ("submit", GenerationRequest), ("cancel", id), ("ping", token), ("stop",).
Worker -> parent messages: ("ready", info), ("load_failed", message, category), ("step", events, finished),
("pong", token), ("log", levelno, logger, text), ("fatal", message, category).
Token events travel as tuples (request_id, index, text, tokens_so_far) to keep per-step IPC cheap.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

EXIT_LOAD_FAILED = 3
EXIT_FATAL = 4


@dataclass
class WorkerConfig:
    """Everything the child needs to load and serve one model instance (picklable)."""

    name: str
    checkpoint: str
    tokenizer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # ServingOptions fields
    num_threads: int | None = None
    log_level: int = logging.INFO


class _PipeLogHandler(logging.Handler):
    """Sends the child's log records to the parent, which logs them under the instance's name."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(("log", record.levelno, record.name, self.format(record)))
        except Exception:  # noqa: BLE001 - the parent is gone; nothing to log to
            pass


def classify_runtime_error(exc: BaseException) -> str:
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

    def send(msg: tuple) -> None:
        with lock:
            conn.send(msg)

    _capture_output(send)

    root = logging.getLogger()
    root.handlers[:] = [_PipeLogHandler(send)]
    root.setLevel(config.log_level)
    logging.captureWarnings(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not config.options.get("allow_download"):
        # Nothing in the worker may wait on the network (adapters, templates, remote code): offline by default.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from elixir_coder_lsp.inference.serving import Serving, classify_load_error
    from elixir_coder_lsp.inference.types import GenerationError

    opts = dict(config.options)
    if config.num_threads:
        opts["num_threads"] = config.num_threads
    try:
        serving = Serving.new(config.checkpoint, config.tokenizer or config.checkpoint, **opts)
    except GenerationError as exc:
        send(("load_failed", str(exc), classify_load_error(exc)))
        conn.close()
        sys.exit(EXIT_LOAD_FAILED)
    except BaseException as exc:  # noqa: BLE001 - report any load failure as one line
        send(("load_failed", f"Cannot load model {config.checkpoint}: {exc}", classify_load_error(exc)))
        conn.close()
        sys.exit(EXIT_LOAD_FAILED)
    engine = serving.engine()
    # The llguidance tokenizer takes a while for large vocabularies: build it while the first requests run.
    threading.Thread(target=serving.prepare_grammar, name="grammar-prepare", daemon=True).start()
    send(("ready", {"load_s": serving.load_s, "device": serving.device, "dtype": str(serving.dtype).replace("torch.", "")}))
    try:
        run_loop(conn, engine, send)
    except (EOFError, OSError, KeyboardInterrupt):
        return
    except BaseException as exc:  # noqa: BLE001 - tell the parent why, then die so the supervisor restarts us
        logging.getLogger(__name__).error("engine loop failed: %s", "".join(traceback.format_exception(exc)))
        try:
            send(("fatal", f"{type(exc).__name__}: {exc}".splitlines()[0][:300], classify_runtime_error(exc)))
        except Exception:  # noqa: BLE001
            pass
        sys.exit(EXIT_FATAL)


def _capture_output(send: Any) -> None:
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
                        send(("log", logging.INFO, "stderr", text))
                    except Exception:  # noqa: BLE001 - the parent is gone
                        return

    threading.Thread(target=forward, name="worker-output", daemon=True).start()


def run_loop(conn: Any, engine: Any, send: Any) -> None:
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
                send(("step", [], failed))
                continue
            if out.events or out.finished:
                send(("step", _pack_events(out.events), out.finished))


def _free_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001
        pass


def _handle(msg: tuple, engine: Any, send: Any) -> bool:
    kind = msg[0]
    if kind == "submit":
        engine.add_request(msg[1])
    elif kind == "cancel":
        engine.cancel(msg[1])
    elif kind == "ping":
        send(("pong", msg[1], engine.queue_depth()))
    elif kind == "stop":
        return False
    return True


def _pack_events(events: list) -> list[tuple]:
    packed = []
    for ev in events:
        if ev.kind == "token":
            packed.append(("t", ev.request_id, ev.index, ev.text, ev.tokens_so_far))
        else:
            packed.append(("p", ev.request_id, ev.phase))
    return packed
