"""A raw stdio JSON-RPC client for the real server: sends any bytes, records every frame it gets back.

pytest-lsp and pygls' client refuse to send what the fuzzer and the robustness tests need (bad params,
garbage frames, requests before `initialize`), so this one speaks the wire format itself. Requests the
server sends (workspace/configuration, workDoneProgress/create, applyEdit, ...) are answered at once.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def write_report(report: dict[str, Any], name: str, path: str | None = None) -> None:
    """Print a benchmark's report as JSON and write it to ``path`` (default bench/results/NAME.json)."""
    text = json.dumps({**report, "cpu_count": os.cpu_count()}, indent=2)
    print(text)
    out = Path(path) if path else ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


def frame(body: bytes) -> bytes:
    """One LSP frame around ``body``."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawServer:
    """`python -m elixir_coder_lsp` on pipes; responses by id, notifications by method, pid for /proc."""

    def __init__(self, env: dict[str, str] | None = None, stderr_path: str | os.PathLike[str] | None = None) -> None:
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
            **(env or {}),
        }
        self._stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "elixir_coder_lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=full_env, cwd=str(ROOT),
        )
        self.pid = self.proc.pid
        assert self.proc.stdin is not None
        self._stdin_fd = self.proc.stdin.fileno()
        os.set_blocking(self._stdin_fd, False)  # a server that stops reading cannot block us forever
        self.responses: dict[Any, dict[str, Any]] = {}
        self.null_id_errors: list[dict[str, Any]] = []
        self.bad_id_responses: list[dict[str, Any]] = []  # answers under an id JSON-RPC does not allow
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self.apply_edit = True
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._next_id = 10**9  # far from the ids tests choose
        self.reader_error: BaseException | None = None
        self.unreadable_frames = 0  # frames from the server this client could not read
        self._reader = threading.Thread(target=self._read_guarded, daemon=True)
        self._reader.start()

    # -- wire -------------------------------------------------------------------------------------

    def send_bytes(self, data: bytes, timeout: float = 60.0) -> bool:
        """Write raw bytes; False when the pipe is gone or the server has not read them within ``timeout``."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        try:
            with self._write_lock:
                while view:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    _, writable, _ = select.select([], [self._stdin_fd], [], min(left, 1.0))
                    if not writable:
                        continue
                    try:
                        view = view[os.write(self._stdin_fd, view):]
                    except BlockingIOError:
                        continue
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def send(self, message: Any) -> bool:
        """Frame and send one JSON value."""
        return self.send_bytes(frame(json.dumps(message).encode("utf-8", "surrogatepass")))

    def notify(self, method: str, params: Any = None) -> bool:
        """Send a notification."""
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, *, msg_id: Any = None, timeout: float = 30.0) -> dict[str, Any] | None:
        """Send a request and wait for its response (None on timeout)."""
        if msg_id is None:
            msg_id = self.new_id()
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return self.wait_response(msg_id, timeout)

    def new_id(self) -> int:
        """A fresh request id."""
        with self._cond:
            self._next_id += 1
            return self._next_id

    def wait_response(self, msg_id: Any, timeout: float = 30.0) -> dict[str, Any] | None:
        """The response to ``msg_id`` once it arrives, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    return self.responses.get(msg_id)
                self._cond.wait(min(left, 0.2))
            return self.responses[msg_id]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> Any:
        """Poll ``predicate(self)`` until truthy; its value, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                value = predicate(self)
            if value:
                return value
            time.sleep(0.02)
        return None

    def _read_guarded(self) -> None:
        try:
            self._read()
        except BaseException as exc:  # noqa: BLE001 - kept for the report; the server is then unreadable
            self.reader_error = exc
            import traceback

            traceback.print_exc()
        finally:
            with self._cond:
                self._cond.notify_all()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii", "replace").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = out.read(length)
            if len(body) < length:
                return
            try:
                msg = json.loads(body)
            except (ValueError, RecursionError):
                self.unreadable_frames += 1
                continue
            if not isinstance(msg, dict):
                self.unreadable_frames += 1
                continue
            self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "method" in msg and "id" in msg:  # a request from the server
            with self._cond:
                self.server_requests.append(msg)
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": self._answer(msg)})
            return
        with self._cond:
            if "method" in msg:
                msg["_at"] = time.monotonic()  # arrival, for latencies
                self.notifications.append(msg)
            elif msg.get("id") is None:  # errors about frames without a usable id
                self.null_id_errors.append(msg)
            elif isinstance(msg["id"], bool) or not isinstance(msg["id"], (int, str)):
                self.bad_id_responses.append(msg)
            else:
                self.responses[msg["id"]] = msg
            self._cond.notify_all()

    def _answer(self, msg: dict[str, Any]) -> Any:
        method = msg["method"]
        if method == "workspace/configuration":
            return [None for _ in (msg.get("params") or {}).get("items", [None])]
        if method == "workspace/applyEdit":
            return {"applied": self.apply_edit}
        return None

    # -- session ----------------------------------------------------------------------------------

    def initialize(self, init_options: dict[str, Any] | None = None, root_uri: str | None = None, timeout: float = 60.0) -> dict[str, Any] | None:
        """initialize + initialized, with workspace edits and progress advertised."""
        caps = {
            "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}, "configuration": True},
            "window": {"workDoneProgress": True},
        }
        result = self.request(
            "initialize", {"processId": os.getpid(), "rootUri": root_uri, "capabilities": caps, "initializationOptions": init_options or {}},
            timeout=timeout,
        )
        self.notify("initialized", {})
        return result

    def published(self, uri: str) -> list[dict[str, Any]]:
        """Every publishDiagnostics params for ``uri``, in order."""
        with self._cond:
            return [n["params"] for n in self.notifications if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri]

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc.poll() is None

    def close(self, timeout: float = 10.0) -> int | None:
        """shutdown + exit; kill if it lingers. The exit code (None if it had to be killed)."""
        if self.alive() and self._reader.is_alive():
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream and stream.close()
            except OSError:
                pass
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
        return code

    def rss_kb(self) -> int:
        """The server process's resident memory (VmRSS) in kB."""
        return proc_rss_kb(self.pid)


def proc_rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def listening_sockets(pid: int) -> list[str]:
    """TCP/UDP sockets of ``pid`` that listen (or are bound unconnected), from /proc/<pid>/fd and net/*."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found: list[str] = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            # TCP state 0A is LISTEN; a UDP socket (07 = unconnected) that is bound accepts datagrams.
            if inode in inodes and (state == "0A" or table.startswith("udp")):
                found.append(f"{table} {local} state {state}")
    return found
