"""Real Credo: parse its JSON output and run it on a buffer (persistent runner or one-shot CLI)."""

from __future__ import annotations

import base64
import collections
import json
import logging
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from elixir_coder_lsp.findings import Finding
from elixir_coder_lsp.severity import severity_for_credo_priority
from elixir_coder_lsp.tools import ToolError, find_json_object, kill_group, run_tool, tail
from elixir_coder_lsp.tools.project import ToolSpec

log = logging.getLogger(__name__)

NO_TRIGGER = "__no_trigger__"
RUNNER_SCRIPT = Path(__file__).with_name("credo_runner.exs")
READY_PREFIX = "ELIXIR_CODER_CREDO_READY"
RESULT_PREFIX = "ELIXIR_CODER_CREDO_RESULT "


# --- parsing ------------------------------------------------------------------------------------


def _trigger(raw: Any) -> str | None:
    # Credo marks "no trigger" as the list ["__no_trigger__"] (an atom in a list, JSON-encoded).
    if raw is None:
        return None
    if isinstance(raw, list):
        if raw in ([NO_TRIGGER], []):
            return None
        return " ".join(str(x) for x in raw)
    text = str(raw)
    return None if text == NO_TRIGGER else text


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def finding_from_credo_issue(issue: Any, *, settings: Any = None, source_file: str | None = None) -> Finding:
    """One Credo JSON issue -> Finding; ToolError when a required field is missing or mistyped."""
    if not isinstance(issue, dict):
        raise ToolError(f"Credo issue is not an object: {tail(repr(issue), 120)}")
    check, message, line = issue.get("check"), issue.get("message"), _int_or_none(issue.get("line_no"))
    if not isinstance(check, str) or not check or not isinstance(message, str) or line is None:
        raise ToolError(f"Credo issue lacks check, message or line_no: {tail(json.dumps(issue), 200)}")
    priority = _int_or_none(issue.get("priority"))
    if priority is None and isinstance(issue.get("priority"), float):
        priority = int(issue["priority"])
    column = _int_or_none(issue.get("column"))
    trigger = _trigger(issue.get("trigger"))
    end_column = _int_or_none(issue.get("column_end"))
    if end_column is None and column is not None and trigger:
        end_column = column + len(trigger)
    if end_column is not None and column is not None and end_column <= column:
        end_column = None
    extra = {"scope": issue["scope"]} if issue.get("scope") else {}
    return Finding(
        rule=check.removeprefix("Elixir."),
        source="credo",
        severity=severity_for_credo_priority(priority if priority is not None else 0, settings),
        message=message,
        line=max(line, 1),
        column=max(column, 1) if column is not None else 1,
        end_line=max(line, 1) if end_column is not None else None,
        end_column=end_column,
        file=source_file if source_file is not None else (issue.get("filename") or None),
        category=str(issue.get("category") or ""),
        priority=priority,
        trigger=trigger,
        extra=extra,
    )


def findings_from_credo_issues(issues: Any, *, settings: Any = None, source_file: str | None = None) -> list[Finding]:
    """A decoded `issues` list -> Findings, sorted by position."""
    if not isinstance(issues, list):
        raise ToolError(f'Credo JSON: "issues" is not a list but {type(issues).__name__}')
    found = [finding_from_credo_issue(i, settings=settings, source_file=source_file) for i in issues]
    return sorted(found, key=lambda f: (f.file or "", f.line, f.column, f.rule))


def parse_credo_json(text: str, *, settings: Any = None, source_file: str | None = None) -> list[Finding]:
    """Credo's `--format json` output -> Findings (severity from priority via settings' thresholds)."""
    data = find_json_object(text, "issues", "Credo")
    return findings_from_credo_issues(data["issues"], settings=settings, source_file=source_file)


# --- running ------------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _cli_args(filename: str) -> list[str]:
    return ["--read-from-stdin", "--format", "json", "--strict", filename]


class _PersistentCredo:
    """A long-lived `mix run` node inside the project that runs Credo per request (credo_runner.exs)."""

    def __init__(self, root: Path, startup_timeout: float) -> None:
        self.root = root
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._next_id = 0
        command = ["mix", "run", "--no-start", "--no-compile", str(RUNNER_SCRIPT)]
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=str(root),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"cannot start the Credo runner: {exc}") from None
        threading.Thread(target=self._pump_stdout, daemon=True, name="credo-runner-out").start()
        threading.Thread(target=self._pump_stderr, daemon=True, name="credo-runner-err").start()
        deadline = time.monotonic() + startup_timeout
        while True:
            line = self._next_line(deadline, "start")
            if line.startswith(READY_PREFIX):
                self.version = line[len(READY_PREFIX) :].strip()
                return

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def _next_line(self, deadline: float, doing: str) -> str:
        remaining = deadline - time.monotonic()
        try:
            line = self._lines.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            self.close(graceful=False)
            raise ToolError(f"the Credo runner did not {doing} in time and was stopped") from None
        if line is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.close(graceful=False)
            raise ToolError(
                f"the Credo runner exited (status {self.proc.returncode}) before it could {doing}: "
                + tail("\n".join(self._stderr), 400)
            )
        return line

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self, code: str, filename: str, timeout: float) -> list[dict]:
        self._next_id += 1
        rid = self._next_id
        request = f"CHECK {rid} {_b64(filename)} {_b64(code)}\n".encode("ascii")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ToolError(f"the Credo runner is gone: {exc}") from None
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_line(deadline, "answer")
            # Anything else on stdout is Credo's own printing; only our marked lines are replies.
            if not line.startswith(RESULT_PREFIX):
                continue
            try:
                reply = json.loads(line[len(RESULT_PREFIX) :])
            except json.JSONDecodeError as exc:
                raise ToolError(f"the Credo runner sent an unreadable reply ({exc})") from None
            if not isinstance(reply, dict) or reply.get("id") != rid:
                continue
            if reply.get("error"):
                raise ToolError(f"Credo failed: {reply['error']}")
            return reply.get("issues", [])

    def close(self, graceful: bool = True) -> None:
        if graceful and self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # EOF asks the runner to stop by itself
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            kill_group(self.proc)
            self.proc.wait(timeout=5)


class CredoRunner:
    """Run real Credo on one buffer at a time for the project at ``root``.

    For `mix` projects a persistent runner node answers requests; if it cannot start, each check
    runs `mix credo --read-from-stdin` instead. Escripts always run once per check.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        spec: ToolSpec,
        *,
        settings: Any = None,
        persistent: bool = True,
        startup_timeout: float = 120.0,
    ) -> None:
        self.root = Path(root)
        self.spec = spec
        self.settings = settings
        self.startup_timeout = startup_timeout
        self._persistent_ok = persistent and spec.kind == "mix"
        self._runner: _PersistentCredo | None = None
        self._lock = threading.Lock()
        self.persistent_error: str | None = None  # why the persistent runner is not used, if it failed

    def _relative(self, filename: str) -> str:
        # Credo matches `.credo.exs` include/exclude globs against project-relative paths.
        path = Path(filename)
        if path.is_absolute():
            try:
                return str(path.resolve().relative_to(self.root.resolve()))
            except ValueError:
                return path.name
        return filename

    def check(self, code: str, filename: str, timeout: float = 30.0) -> list[Finding]:
        """Credo's findings for ``code`` as if it were ``filename``; ToolError when Credo cannot run."""
        relative = self._relative(filename)
        with self._lock:
            if self._persistent_ok and (self._runner is None or not self._runner.alive()):
                try:
                    self._runner = _PersistentCredo(self.root, self.startup_timeout)
                except ToolError as exc:
                    # A runner that cannot start will not start next time either: use the CLI.
                    self.persistent_error = str(exc)
                    self._persistent_ok = False
                    self._runner = None
                    log.warning("persistent Credo runner unavailable, using `mix credo` per check: %s", exc)
            if self._persistent_ok and self._runner is not None:
                # A timeout or crash stops the runner; the next check starts a fresh one.
                issues = self._runner.check(code, relative, timeout)
                return findings_from_credo_issues(issues, settings=self.settings, source_file=filename)
            return self._check_cli(code, filename, relative, timeout)

    def _check_cli(self, code: str, filename: str, relative: str, timeout: float) -> list[Finding]:
        out = run_tool([*self.spec.command, *_cli_args(relative)], cwd=self.root, input_text=code, timeout=timeout)
        # Credo's exit status is a bitmask of the categories it found issues in; not an error.
        try:
            return parse_credo_json(out.stdout, settings=self.settings, source_file=filename)
        except ToolError as exc:
            detail = tail(out.stderr or out.stdout, 400)
            raise ToolError(f"{exc} (exit status {out.returncode}){': ' + detail if detail else ''}") from None

    def close(self) -> None:
        """Stop the persistent runner, if one is running."""
        with self._lock:
            if self._runner is not None:
                self._runner.close()
                self._runner = None

    def __enter__(self) -> CredoRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
