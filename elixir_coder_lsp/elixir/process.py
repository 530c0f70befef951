"""One running Elixir helper (a BEAM process): its pipes, reader and writer threads, and the requests
waiting on it. Supervision (restarts, recycling, health checks) is the client's (client.py)."""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


class Retired(Exception):
    """The process stopped taking requests between lookup and submit; use a fresh one."""


class HelperProcess:
    """One running helper: the Popen, its reader threads and the requests waiting on it."""

    def __init__(self, argv: list[str], env: dict[str, str], on_exit: Callable[..., None]) -> None:
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # Own process group: a Ctrl-C aimed at the editor must not reach the BEAM.
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self.lock = threading.Lock()  # guards pending, dead, stdin_closed
        # One writer thread: a caller never blocks on a full pipe (a stuck BEAM stops reading).
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.pending: dict[int, Future[dict[str, Any]]] = {}
        self.dead = False
        self.stdin_closed = False
        self.retiring = False
        self.intentional = False  # closed or recycled by us, not a crash
        self.checking = False  # a health check is running
        self.unresponsive = False  # killed because a ping went unanswered
        self.atoms: tuple[int, int] = (0, 0)
        self.baseline_atoms = 0  # atoms in use right after the boot
        self.ready = threading.Event()  # set by the helper's hello line (or by its death)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._on_exit = on_exit
        threading.Thread(target=self._write_stdin, name=f"elixir-helper-in-{self.pid}", daemon=True).start()
        threading.Thread(target=self._read_stdout, name=f"elixir-helper-{self.pid}", daemon=True).start()
        threading.Thread(target=self._read_stderr, name=f"elixir-helper-err-{self.pid}", daemon=True).start()

    def submit(self, rid: int, line: bytes) -> Future[dict[str, Any]]:
        """Registers a request and writes it; raises Retired when this process takes no more."""
        fut: Future[dict[str, Any]] = Future()
        with self.lock:
            if self.dead or self.stdin_closed or self.retiring:
                raise Retired
            self.pending[rid] = fut
            self._outbox.put(line)
        return fut

    def forget(self, rid: int) -> None:
        """Drops a request whose caller gave up; a late response is then ignored."""
        with self.lock:
            self.pending.pop(rid, None)
        self.close_if_drained()

    def retire(self) -> None:
        """Takes no new requests; stdin closes (and the BEAM halts) once in-flight ones finish."""
        with self.lock:
            self.retiring = True
            self.intentional = True
        self.close_if_drained()

    def close_if_drained(self) -> None:
        with self.lock:
            if not (self.retiring and not self.pending and not self.stdin_closed):
                return
            self.stdin_closed = True
        self._close_stdin()

    def _close_stdin(self) -> None:
        self._outbox.put(None)  # after every request already queued

    def _write_stdin(self) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        try:
            while (line := self._outbox.get()) is not None:
                stdin.write(line)
                stdin.flush()
        except (OSError, ValueError):
            pass  # the process is gone; the stdout reader fails what is pending when it sees EOF
        try:
            stdin.close()
        except OSError:
            pass

    def shutdown(self, grace: float = 2.0) -> None:
        """Closes stdin, waits up to ``grace`` seconds, then kills the process group."""
        with self.lock:
            self.intentional = True
            self.retiring = True
            self.stdin_closed = True
        self._close_stdin()
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kills the BEAM and anything it started (its own process group)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                self.popen.kill()
            except ProcessLookupError:
                pass

    def _read_stdout(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            try:
                response = json.loads(raw)
            except ValueError:
                log.warning("elixir helper wrote a non-protocol line: %r", raw[:200])
                continue
            if not isinstance(response, dict):
                continue
            atoms = response.get("atoms")
            if isinstance(atoms, list) and len(atoms) == 2:
                self.atoms = (int(atoms[0]), int(atoms[1]))
            rid = response.get("id")
            if rid is None:
                result = response.get("result")
                if isinstance(result, dict) and result.get("ready"):
                    self.baseline_atoms = self.atoms[0]
                    self.ready.set()
                else:
                    log.warning("elixir helper error without id: %s", response.get("error"))
                continue
            with self.lock:
                fut = self.pending.pop(rid, None)
            if fut is None:
                continue  # a late answer to a request that timed out
            if not fut.done():
                fut.set_result(response)
            self.close_if_drained()
        code = self.popen.wait()
        self.ready.set()  # wake anyone waiting for a boot that will never finish
        with self.lock:
            self.dead = True
            pending = list(self.pending.values())
            self.pending.clear()
        self._on_exit(self, code, pending)

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self.stderr_tail.append(text)
                log.debug("elixir helper: %s", text)


def encode_request(message: Mapping[str, Any]) -> bytes:
    """One request as a protocol line (UTF-8 JSON and a newline)."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        # Bytes that were not UTF-8 (see client._text) go out as the same raw bytes; the helper rejects them.
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
