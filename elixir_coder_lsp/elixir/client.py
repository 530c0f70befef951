"""Python client for the long-lived Elixir helper (helper.exs): JSON lines over stdin/stdout.

One BEAM process serves many concurrent requests (each runs in its own BEAM process there);
this client multiplexes them by id, supervises the process (restart with backoff after a crash,
replacement before the atom table fills up) and turns every failure into a ``HelperError``.

Positions in results are 1-based; columns count Unicode code points (the Elixir tokenizer's
unit), not bytes or UTF-16 units.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import itertools
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HELPER_SCRIPT = Path(__file__).with_name("helper.exs")
ELIXIR_ENV = "ELIXIR_CODER_ELIXIR"  # path of the elixir executable, when not on PATH
NO_CACHE_ENV = "ELIXIR_CODER_HELPER_NO_CACHE"

# Idle BEAM schedulers busy-wait by default; on a shared laptop that burns CPU for nothing.
_BASE_ERL_FLAGS = ("+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none")
_MAIN_EXPR = 'ElixirCoder.Helper.Server.main(System.fetch_env!("ELIXIR_CODER_HELPER_DIR"))'
_NOT_FOUND = (
    "Elixir was not found on PATH; install it (Debian: apt-get install elixir) "
    f"or set {ELIXIR_ENV} to the full path of the elixir executable"
)


class HelperError(Exception):
    """Base of every helper failure; ``kind`` is a short machine-readable tag."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class HelperUnavailable(HelperError):
    """The helper cannot run: Elixir missing, closed, or cooling off after repeated crashes."""


class HelperTimeout(HelperError):
    """A request took longer than its timeout (the helper itself keeps running)."""


class HelperCrashed(HelperError):
    """The helper process died while the request was in flight."""


class HelperRequestError(HelperError):
    """The op itself failed: too_large, too_nested, invalid_input, unknown_op, syntax_error, ..."""


@dataclass(frozen=True)
class ParseResult:
    """Outcome of ``parse``: ok, or the first syntax error's position (1-based, code points)."""

    ok: bool
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    message: str = ""
    token: str = ""

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> ParseResult:
        """Builds a ParseResult from the helper's ``parse`` result object."""
        if result.get("ok"):
            return cls(ok=True)
        return cls(
            ok=False,
            line=result.get("line"),
            column=result.get("column"),
            end_line=result.get("end_line"),
            end_column=result.get("end_column"),
            message=result.get("message", ""),
            token=result.get("token", ""),
        )


class _Retired(Exception):
    """The process stopped taking requests between lookup and submit; use a fresh one."""


class _Process:
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
        """Registers a request and writes it; raises _Retired when this process takes no more."""
        fut: Future[dict[str, Any]] = Future()
        with self.lock:
            if self.dead or self.stdin_closed or self.retiring:
                raise _Retired
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


_live: weakref.WeakSet[ElixirHelper] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for helper in list(_live):
        helper.close()


class ElixirHelper:
    """A supervised Elixir helper process; ``request`` is thread-safe and multiplexed.

    ``elixir``: the executable (default: $ELIXIR_CODER_ELIXIR, else ``elixir`` on PATH).
    ``timeout``: default seconds per request, counted from the end of the boot.
    ``erl_flags``: extra VM flags, e.g. ``["+t", "2000000"]`` for a bigger atom table.
    ``recycle_at``: share of the atom table after which the process is replaced.
    ``env``: variables added to (overriding) this process's environment for the helper.
    The process starts on the first request (~0.5 s with the compile cache, a few seconds the first
    time on a machine) and is reused; ``close()`` (or exiting Python) stops it.
    """

    crash_limit = 5  # crashes within crash_window seconds ...
    crash_window = 60.0
    cooldown = 30.0  # ... make the helper unavailable for this long
    health_timeout = 5.0  # a ping slower than this after a timeout means the BEAM is stuck
    startup_timeout = 60.0  # boot (BEAM + compiling rules) on a busy machine

    def __init__(
        self,
        *,
        elixir: str | None = None,
        timeout: float = 10.0,
        erl_flags: Sequence[str] = (),
        recycle_at: float = 0.75,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._elixir = elixir or os.environ.get(ELIXIR_ENV) or "elixir"
        self.timeout = timeout
        self._erl_flags = tuple(erl_flags)
        self._recycle_at = recycle_at
        self._env_overrides = dict(env or {})
        self._lock = threading.RLock()
        self._proc: _Process | None = None
        self._retiring: set[_Process] = set()
        self._ids = itertools.count(1)
        self._crashes: collections.deque[float] = collections.deque()
        self._cooldown_until = 0.0
        self._unavailable_reason = ""
        self._last_exit_code: int | None = None
        self._starts = 0
        self._restarts = 0
        self._recycles = 0
        self._closed = False
        _live.add(self)

    # -- public API ---------------------------------------------------------------------------

    def request(self, op: str, args: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Runs one op and returns its result; raises a HelperError subclass on failure."""
        timeout = self.timeout if timeout is None else timeout
        # Budget for the helper's own limit: it stops the work shortly after we stop waiting.
        message = {"id": 0, "op": op, "args": dict(args or {}), "timeout_ms": int(timeout * 1000) + 1000}
        recycled = False
        for _attempt in range(4):
            proc = self._process()
            rid = next(self._ids)
            message["id"] = rid
            try:
                fut = proc.submit(rid, _encode(message))
            except _Retired:
                continue
            if not proc.ready.wait(self.startup_timeout):
                # A boot this slow is stuck; the request's own timeout starts only after the boot.
                tail = " | ".join(list(proc.stderr_tail)[-3:])
                proc.kill()
                raise HelperUnavailable(
                    "unavailable",
                    f"the Elixir helper did not start within {self.startup_timeout:g} s"
                    + (f"; stderr: {tail}" if tail else ""),
                )
            try:
                response = fut.result(timeout)
            except FutureTimeout:
                proc.forget(rid)
                self._health_check(proc)
                raise HelperTimeout(
                    "timeout", f"the Elixir helper did not answer {op!r} within {timeout:g} s"
                ) from None
            self._watch_atoms(proc)
            if response.get("ok"):
                return response.get("result")
            error = response.get("error") or {}
            kind = str(error.get("kind", "internal"))
            text = str(error.get("message", "unknown error"))
            if kind == "recycle" and not recycled:
                # Near the atom limit the helper refuses work; a fresh process takes it.
                self._recycle(proc)
                recycled = True
                continue
            if kind == "timeout":
                raise HelperTimeout(kind, text)
            raise HelperRequestError(kind, text)
        raise HelperUnavailable("unavailable", "the Elixir helper kept refusing the request; giving up")

    def parse(self, code: str | bytes, timeout: float | None = None) -> ParseResult:
        """Parses Elixir code; syntax errors are a value (ok=False), not an exception."""
        return ParseResult.from_result(self.request("parse", {"code": _text(code)}, timeout))

    def summary(self, code: str | bytes, timeout: float | None = None) -> dict[str, Any]:
        """Structural facts: modules, defs, aliases, imports, requires, uses, attributes, remote calls."""
        return self.request("summary", {"code": _text(code)}, timeout)

    def format(self, code: str | bytes, line_length: int = 98, timeout: float | None = None) -> str:
        """Formats code with Code.format_string!/2; the result ends with a newline."""
        return self.request("format", {"code": _text(code), "line_length": line_length}, timeout)

    def stats(self) -> dict[str, Any]:
        """The helper's own figures (atoms, memory) plus this client's restarts, recycles and pid."""
        remote = dict(self.request("stats"))
        with self._lock:
            proc = self._proc
            remote.update(
                starts=self._starts,
                restarts=self._restarts,
                recycles=self._recycles,
                pid=proc.pid if proc else None,
            )
        return remote

    @property
    def pid(self) -> int | None:
        """OS pid of the current helper process (None before the first request)."""
        with self._lock:
            return self._proc.pid if self._proc else None

    def close(self) -> None:
        """Stops the helper; later requests raise HelperUnavailable."""
        with self._lock:
            self._closed = True
            procs = [p for p in [self._proc, *self._retiring] if p is not None]
            self._proc = None
            self._retiring.clear()
        for proc in procs:
            proc.shutdown()

    def __enter__(self) -> ElixirHelper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- supervision --------------------------------------------------------------------------

    def _process(self) -> _Process:
        with self._lock:
            if self._closed:
                raise HelperUnavailable("closed", "this Elixir helper has been closed")
            proc = self._proc
            if proc is not None and not proc.dead and not proc.retiring:
                return proc
            now = time.monotonic()
            if now < self._cooldown_until:
                left = self._cooldown_until - now
                raise HelperUnavailable("unavailable", f"{self._unavailable_reason}; retrying in {left:.0f} s")
            self._proc = self._spawn()
            return self._proc

    def _spawn(self) -> _Process:
        recent = len(self._crashes)
        if recent >= 2:
            # Back off a little when it keeps dying, without stalling the first restart.
            time.sleep(min(0.1 * 2 ** (recent - 2), 1.0))
        elixir = self._find_elixir()
        env = dict(os.environ)
        env.update(self._env_overrides)
        env["ELIXIR_CODER_HELPER_DIR"] = str(HELPER_SCRIPT.parent)
        erl = " ".join((*_BASE_ERL_FLAGS, *self._erl_flags))
        cache = _cache_dir(elixir)
        if cache is not None:
            env["ELIXIR_CODER_HELPER_RULES_CACHE"] = str(_rules_cache_dir(cache))
        if cache is not None and not (cache / "complete").exists():
            # Compiling once (~1 s) makes every later start ~3x faster, across processes too.
            _compile_cache(elixir, cache, env)
        if cache is not None and (cache / "complete").exists():
            argv = [elixir, "--erl", erl, "-pa", str(cache), "-e", _MAIN_EXPR]
        else:
            argv = [elixir, "--erl", erl, str(HELPER_SCRIPT)]
        try:
            proc = _Process(argv, env, self._on_exit)
        except OSError as e:
            raise HelperUnavailable("unavailable", f"could not start the Elixir helper ({elixir}): {e}") from None
        self._starts += 1
        log.debug("started elixir helper pid %s: %s", proc.pid, argv)
        return proc

    def _find_elixir(self) -> str:
        found = shutil.which(self._elixir)
        if found is None:
            if os.sep in self._elixir:
                raise HelperUnavailable(
                    "unavailable",
                    f"the Elixir executable {self._elixir!r} does not exist or is not executable; "
                    "install Elixir (Debian: apt-get install elixir) or fix the path",
                )
            raise HelperUnavailable("unavailable", _NOT_FOUND)
        return found

    def _on_exit(self, proc: _Process, code: int, pending: list[Future[dict[str, Any]]]) -> None:
        with self._lock:
            self._retiring.discard(proc)
            if self._proc is proc:
                self._proc = None
            self._last_exit_code = code
            crashed = not proc.intentional
            restarted = cooling = False
            if crashed:
                now = time.monotonic()
                self._crashes.append(now)
                while self._crashes and now - self._crashes[0] > self.crash_window:
                    self._crashes.popleft()
                if len(self._crashes) >= self.crash_limit:
                    tail = " | ".join(list(proc.stderr_tail)[-3:])
                    self._unavailable_reason = (
                        f"the Elixir helper crashed {len(self._crashes)} times within "
                        f"{self.crash_window:g} s (last exit code {code})" + (f"; stderr: {tail}" if tail else "")
                    )
                    self._cooldown_until = now + self.cooldown
                    self._crashes.clear()
                    cooling = True
                else:
                    restarted = not self._closed and self._proc is None
        if crashed:
            log.warning("elixir helper pid %s exited with code %s", proc.pid, code)
            why = " after it stopped responding" if proc.unresponsive else ""
            if restarted:
                then = "it has been restarted"
            elif cooling:
                then = f"not restarting it for {self.cooldown:g} s: {self._unavailable_reason}"
            else:
                then = "it will be restarted on the next request"
            error: HelperError = HelperCrashed(
                "crashed", f"Elixir helper exited (code {code}){why} while handling the request; {then}"
            )
        else:
            error = HelperUnavailable("closed", "the Elixir helper was closed while handling the request")
        for fut in pending:
            if not fut.done():
                fut.set_exception(error)
        if restarted:
            # Restart at once (after failing the callers) so the next request finds it booted.
            with self._lock:
                if self._closed or self._proc is not None:
                    return
                try:
                    self._proc = self._spawn()
                    self._restarts += 1
                except HelperUnavailable as e:
                    log.warning("could not restart the elixir helper: %s", e)

    def _watch_atoms(self, proc: _Process) -> None:
        count, limit = proc.atoms
        if not limit or proc.retiring or count < self._recycle_at * limit:
            return
        if proc.baseline_atoms >= self._recycle_at * limit:
            # The boot alone is over the mark: a replacement would be no better, so do not churn;
            # the helper still refuses work (kind "recycle") near the hard limit.
            return
        self._recycle(proc)

    def _recycle(self, proc: _Process) -> None:
        """Replaces a process whose atom table is filling up; its in-flight requests finish first."""
        with self._lock:
            if proc.retiring:
                return
            proc.retire()
            self._retiring.add(proc)
            self._recycles += 1
            if self._proc is proc:
                self._proc = None
                try:
                    # Start the replacement now so the next request does not wait for the boot.
                    self._proc = self._spawn()
                except HelperUnavailable:
                    pass
        log.info("recycling elixir helper pid %s (atoms %s/%s)", proc.pid, *proc.atoms)

    def _health_check(self, proc: _Process) -> None:
        """After a timeout, pings in the background; a silent BEAM is killed (and restarted)."""
        with proc.lock:
            if proc.checking or proc.dead:
                return
            proc.checking = True

        def check() -> None:
            rid = next(self._ids)
            try:
                fut = proc.submit(rid, _encode({"id": rid, "op": "ping", "args": {}}))
                fut.result(self.health_timeout)
            except FutureTimeout:
                proc.forget(rid)
                log.warning("elixir helper pid %s is unresponsive; killing it", proc.pid)
                proc.unresponsive = True
                proc.kill()
            except (_Retired, HelperError):
                pass
            finally:
                proc.checking = False

        threading.Thread(target=check, name="elixir-helper-health", daemon=True).start()


def _encode(message: Mapping[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        # Bytes that were not UTF-8 (see _text) go out as the same raw bytes; the helper rejects them.
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _text(code: str | bytes) -> str:
    if isinstance(code, bytes):
        return code.decode("utf-8", "surrogateescape")
    return code


def _cache_dir(elixir: str) -> Path | None:
    """Where the precompiled helper lives, keyed by helper.exs and the Elixir/OTP installation."""
    if os.environ.get(NO_CACHE_ENV) == "1":
        return None
    digest = hashlib.sha256(HELPER_SCRIPT.read_bytes())
    for exe in (elixir, shutil.which("erl") or ""):
        if exe:
            real = os.path.realpath(exe)
            try:
                digest.update(f"{real}:{os.stat(real).st_mtime_ns}".encode())
            except OSError:
                pass
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "elixir-coder" / f"helper-{digest.hexdigest()[:20]}"


def _rules_cache_dir(helper_cache: Path) -> Path:
    """Where the helper caches compiled rules/*.exs, keyed by their names and contents."""
    digest = hashlib.sha256(helper_cache.name.encode())
    for path in sorted((HELPER_SCRIPT.parent / "rules").glob("*.exs")):
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass
        digest.update(b"\0")
    return helper_cache.parent / f"rules-{digest.hexdigest()[:20]}"


def _compile_cache(elixir: str, cache: Path, env: dict[str, str]) -> None:
    elixirc = Path(elixir).with_name("elixirc")
    compiler = str(elixirc) if elixirc.exists() else shutil.which("elixirc")
    if compiler is None:
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache.parent))
        done = subprocess.run(
            [compiler, "-o", str(tmp), str(HELPER_SCRIPT)],
            env={**env, "ELIXIR_CODER_HELPER_COMPILE_ONLY": "1"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            log.debug("precompiling helper.exs failed: %s", done.stderr.decode("utf-8", "replace")[-500:])
            shutil.rmtree(tmp, ignore_errors=True)
            return
        (tmp / "complete").write_text("")
        try:
            os.replace(tmp, cache)
        except OSError:  # another process got there first
            shutil.rmtree(tmp, ignore_errors=True)
        _prune_caches(cache.parent)
    except (OSError, subprocess.SubprocessError) as e:
        log.debug("could not precompile the elixir helper: %s", e)


def _prune_caches(root: Path, max_age_s: float = 7 * 86400) -> None:
    """Removes helper/rules caches unused for a week (each change of the code leaves one)."""
    now = time.time()
    for path in [*root.glob("helper-*"), *root.glob("rules-*")]:
        try:
            if now - path.stat().st_mtime > max_age_s:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


_default: ElixirHelper | None = None
_default_lock = threading.Lock()


def default_helper() -> ElixirHelper:
    """The process-wide shared helper (created on first use, closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ElixirHelper()
        return _default
