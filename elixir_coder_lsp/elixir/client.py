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
import itertools
import logging
import os
import shutil
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from elixir_coder_lsp.elixir.cache import HELPER_SCRIPT, compile_helper, helper_cache_dir, rules_cache_dir
from elixir_coder_lsp.elixir.errors import (
    HelperCrashed,
    HelperError,
    HelperRequestError,
    HelperTimeout,
    HelperUnavailable,
    ParseResult,
)
from elixir_coder_lsp.elixir.process import HelperProcess, Retired, encode_request

log = logging.getLogger(__name__)

ELIXIR_ENV = "ELIXIR_CODER_ELIXIR"  # path of the elixir executable, when not on PATH

# Idle BEAM schedulers busy-wait by default; on a shared laptop that burns CPU for nothing.
_BASE_ERL_FLAGS = ("+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none")
_MAIN_EXPR = 'ElixirCoder.Helper.Server.main(System.fetch_env!("ELIXIR_CODER_HELPER_DIR"))'
_NOT_FOUND = (
    "Elixir was not found on PATH; install it (Debian: apt-get install elixir) "
    f"or set {ELIXIR_ENV} to the full path of the elixir executable"
)


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
        self._proc: HelperProcess | None = None
        self._retiring: set[HelperProcess] = set()
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
                fut = proc.submit(rid, encode_request(message))
            except Retired:
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

    def _process(self) -> HelperProcess:
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

    def _spawn(self) -> HelperProcess:
        recent = len(self._crashes)
        if recent >= 2:
            # Back off a little when it keeps dying, without stalling the first restart.
            time.sleep(min(0.1 * 2 ** (recent - 2), 1.0))
        elixir = self._find_elixir()
        env = dict(os.environ)
        env.update(self._env_overrides)
        env["ELIXIR_CODER_HELPER_DIR"] = str(HELPER_SCRIPT.parent)
        erl = " ".join((*_BASE_ERL_FLAGS, *self._erl_flags))
        cache = helper_cache_dir(elixir)
        if cache is not None:
            env["ELIXIR_CODER_HELPER_RULES_CACHE"] = str(rules_cache_dir(cache))
        if cache is not None and not (cache / "complete").exists():
            # Compiling once (~1 s) makes every later start ~3x faster, across processes too.
            compile_helper(elixir, cache, env)
        if cache is not None and (cache / "complete").exists():
            argv = [elixir, "--erl", erl, "-pa", str(cache), "-e", _MAIN_EXPR]
        else:
            argv = [elixir, "--erl", erl, str(HELPER_SCRIPT)]
        try:
            proc = HelperProcess(argv, env, self._on_exit)
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

    def _on_exit(self, proc: HelperProcess, code: int, pending: list[Future[dict[str, Any]]]) -> None:
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

    def _watch_atoms(self, proc: HelperProcess) -> None:
        count, limit = proc.atoms
        if not limit or proc.retiring or count < self._recycle_at * limit:
            return
        if proc.baseline_atoms >= self._recycle_at * limit:
            # The boot alone is over the mark: a replacement would be no better, so do not churn;
            # the helper still refuses work (kind "recycle") near the hard limit.
            return
        self._recycle(proc)

    def _recycle(self, proc: HelperProcess) -> None:
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

    def _health_check(self, proc: HelperProcess) -> None:
        """After a timeout, pings in the background; a silent BEAM is killed (and restarted)."""
        with proc.lock:
            if proc.checking or proc.dead:
                return
            proc.checking = True

        def check() -> None:
            rid = next(self._ids)
            try:
                fut = proc.submit(rid, encode_request({"id": rid, "op": "ping", "args": {}}))
                fut.result(self.health_timeout)
            except FutureTimeout:
                proc.forget(rid)
                log.warning("elixir helper pid %s is unresponsive; killing it", proc.pid)
                proc.unresponsive = True
                proc.kill()
            except (Retired, HelperError):
                pass
            finally:
                proc.checking = False

        threading.Thread(target=check, name="elixir-helper-health", daemon=True).start()


def _text(code: str | bytes) -> str:
    if isinstance(code, bytes):
        return code.decode("utf-8", "surrogateescape")
    return code


_default: ElixirHelper | None = None
_default_lock = threading.Lock()


def default_helper() -> ElixirHelper:
    """The process-wide shared helper (created on first use, closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ElixirHelper()
        return _default
